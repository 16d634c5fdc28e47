//! Lamassu's list-query language for its JSON lists: `filter=field[op]value` (also
//! `field[op]=value`), `sort_by` + `sort_mode`, `page_size`, and an opaque `bookmark` that is
//! MAC'd under the KEK, so a tampered one is refused rather than trusted. Items are filtered in
//! memory as JSON; fields are dotted paths (`validity.type`, `crypto_enforcement.enabled`).

use base64::Engine;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use certus_authority::{Authority, Error, Result};

const DEFAULT_PAGE_SIZE: usize = 25;
const MAX_PAGE_SIZE: usize = 100;

#[derive(Debug, Clone, Default)]
pub(crate) struct ListQuery {
    pub page_size: Option<String>,
    pub bookmark: Option<String>,
    pub sort_by: Option<String>,
    pub sort_mode: Option<String>,
    pub filters: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Contains,
    Gt,
    Ge,
    Lt,
    Le,
    Before,
    After,
}

impl Op {
    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "eq" => Op::Eq,
            "ne" => Op::Ne,
            "contains" | "ct" => Op::Contains,
            "gt" => Op::Gt,
            "ge" | "gte" => Op::Ge,
            "lt" => Op::Lt,
            "le" | "lte" => Op::Le,
            "before" | "bf" => Op::Before,
            "after" | "af" => Op::After,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone)]
struct Filter {
    field: String,
    op: Op,
    value: String,
}

/// The normalised query a bookmark carries, so the next page is exactly the same list.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
struct State {
    offset: usize,
    page_size: usize,
    sort_by: Option<String>,
    descending: bool,
    filters: Vec<String>,
}

/// `field[op]value` or `field[op]=value`.
fn parse_filter(text: &str, fields: &[&str]) -> Result<Filter> {
    let bad = || Error::malformed(format!("filter {text:?}: expected field[op]value"));
    let (field, rest) = text.split_once('[').ok_or_else(bad)?;
    let (op, value) = rest.split_once(']').ok_or_else(bad)?;
    if !fields.contains(&field) {
        return Err(Error::malformed(format!(
            "filter: field {field:?} is not filterable; use one of {}",
            fields.join(", ")
        )));
    }
    let op = Op::parse(op)
        .ok_or_else(|| Error::malformed(format!("filter: unknown operator {op:?} for field {field:?}")))?;
    let value = value.strip_prefix('=').unwrap_or(value).to_owned();
    Ok(Filter { field: field.to_owned(), op, value })
}

fn lookup<'v>(item: &'v Value, path: &str) -> &'v Value {
    path.split('.').fold(item, |v, key| v.get(key).unwrap_or(&Value::Null))
}

fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn matches(item: &Value, f: &Filter) -> Result<bool> {
    let v = lookup(item, &f.field);
    let text = as_text(v);
    let number = |s: &str| s.parse::<f64>().ok();
    let time = |s: &str| OffsetDateTime::parse(s, &Rfc3339).ok();
    Ok(match f.op {
        Op::Eq => text.eq_ignore_ascii_case(&f.value) || contains_value(v, &f.value),
        Op::Ne => !(text.eq_ignore_ascii_case(&f.value) || contains_value(v, &f.value)),
        Op::Contains => text.to_lowercase().contains(&f.value.to_lowercase()),
        Op::Gt | Op::Ge | Op::Lt | Op::Le => {
            let want = number(&f.value)
                .ok_or_else(|| Error::malformed(format!("filter on {:?}: {:?} is not a number", f.field, f.value)))?;
            match number(&text) {
                Some(have) => match f.op {
                    Op::Gt => have > want,
                    Op::Ge => have >= want,
                    Op::Lt => have < want,
                    _ => have <= want,
                },
                None => false,
            }
        }
        Op::Before | Op::After => {
            let want = time(&f.value).ok_or_else(|| {
                Error::malformed(format!("filter on {:?}: {:?} is not an RFC 3339 time", f.field, f.value))
            })?;
            match time(&text) {
                Some(have) if f.op == Op::Before => have < want,
                Some(have) => have > want,
                None => false,
            }
        }
    })
}

/// For array fields, `eq` means "has an element equal to".
fn contains_value(v: &Value, want: &str) -> bool {
    v.as_array().is_some_and(|a| a.iter().any(|e| as_text(e).eq_ignore_ascii_case(want)))
}

fn compare(a: &Value, b: &Value) -> std::cmp::Ordering {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal),
        _ => as_text(a).cmp(&as_text(b)),
    }
}

/// Filters, sorts and pages `items` (JSON objects in their API shape); returns the page and the
/// bookmark of the next one (empty when there is none). Bookmarks are MAC'd by the engine's key.
pub(crate) fn list_json(
    authority: &Authority,
    items: Vec<Value>,
    q: &ListQuery,
    fields: &[&str],
) -> Result<(Vec<Value>, String)> {
    let state = match &q.bookmark {
        Some(b) if !b.is_empty() => open_bookmark(authority, b)?,
        _ => {
            let page_size = match &q.page_size {
                None => DEFAULT_PAGE_SIZE,
                Some(s) => s
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| Error::malformed("page_size must be a positive integer"))?
                    .min(MAX_PAGE_SIZE),
            };
            if let Some(field) = &q.sort_by
                && !fields.contains(&field.as_str())
            {
                return Err(Error::malformed(format!(
                    "sort_by: {field:?} is not sortable; use one of {}",
                    fields.join(", ")
                )));
            }
            let descending = match q.sort_mode.as_deref() {
                None | Some("asc") => false,
                Some("desc") => true,
                Some(other) => {
                    return Err(Error::malformed(format!("sort_mode must be asc or desc, not {other:?}")));
                }
            };
            State { offset: 0, page_size, sort_by: q.sort_by.clone(), descending, filters: q.filters.clone() }
        }
    };
    let filters = state.filters.iter().map(|f| parse_filter(f, fields)).collect::<Result<Vec<_>>>()?;
    let mut kept = Vec::new();
    for item in items {
        let mut keep = true;
        for f in &filters {
            keep &= matches(&item, f)?;
        }
        if keep {
            kept.push(item);
        }
    }
    if let Some(field) = &state.sort_by {
        kept.sort_by(|a, b| compare(lookup(a, field), lookup(b, field)));
        if state.descending {
            kept.reverse();
        }
    }
    let total = kept.len();
    let page: Vec<Value> = kept.into_iter().skip(state.offset).take(state.page_size).collect();
    let next_offset = state.offset + page.len();
    let next = if next_offset < total {
        seal_bookmark(authority, &State { offset: next_offset, ..state })
    } else {
        String::new()
    };
    Ok((page, next))
}

fn seal_bookmark(authority: &Authority, state: &State) -> String {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let payload = serde_json::to_vec(state).unwrap_or_default();
    let tag = authority.mac(&payload);
    format!("{}.{}", b64.encode(&payload), b64.encode(tag))
}

fn open_bookmark(authority: &Authority, text: &str) -> Result<State> {
    let bad = || Error::malformed("bookmark is not one this server issued (or it was altered)");
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let (payload, tag) = text.split_once('.').ok_or_else(bad)?;
    let payload = b64.decode(payload).map_err(|_| bad())?;
    let tag = b64.decode(tag).map_err(|_| bad())?;
    if !authority.verify_mac(&payload, &tag) {
        return Err(bad());
    }
    serde_json::from_slice(&payload).map_err(|_| bad())
}

/// Parses one filter and applies it to a few items of each JSON type; never panics.
#[cfg(fuzzing)]
pub(crate) fn fuzz_filter(text: &str) -> bool {
    let items = [
        serde_json::json!({"id": "a", "n": 1, "t": "2026-01-01T00:00:00Z", "tags": ["x", "y"], "m": {"k": null}}),
        serde_json::json!({"id": "", "n": -1.5, "t": "not a time", "tags": [], "m": true}),
    ];
    match parse_filter(text, &["id", "n", "t", "tags", "m.k", "m"]) {
        Ok(f) => items.iter().all(|item| matches(item, &f).is_ok()),
        Err(_) => false,
    }
}
