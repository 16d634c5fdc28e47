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

/// Lamassu's filter operators (`core/pkg/resources`), short and long forms, any case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq { ic: bool },
    Ne { ic: bool },
    Contains { ic: bool },
    NotContains { ic: bool },
    In { ic: bool },
    NotIn { ic: bool },
    Gt,
    Ge,
    Lt,
    Le,
    Before,
    After,
}

impl Op {
    fn parse(text: &str) -> Option<Self> {
        Some(match text.to_ascii_lowercase().as_str() {
            "eq" | "equal" => Op::Eq { ic: false },
            "eq_ic" | "equal_ignorecase" => Op::Eq { ic: true },
            "ne" | "notequal" => Op::Ne { ic: false },
            "ne_ic" | "notequal_ignorecase" => Op::Ne { ic: true },
            "ct" | "contains" => Op::Contains { ic: false },
            "ct_ic" | "contains_ignorecase" => Op::Contains { ic: true },
            "nc" | "notcontains" => Op::NotContains { ic: false },
            "nc_ic" | "notcontains_ignorecase" => Op::NotContains { ic: true },
            "in" => Op::In { ic: false },
            "in_ic" => Op::In { ic: true },
            "nin" => Op::NotIn { ic: false },
            "nin_ic" => Op::NotIn { ic: true },
            "gt" | "greaterthan" => Op::Gt,
            "ge" | "gte" | "greaterequal" | "greaterorequal" => Op::Ge,
            "lt" | "lessthan" => Op::Lt,
            "le" | "lte" | "lessequal" | "lessorequal" => Op::Le,
            "bf" | "before" => Op::Before,
            "af" | "after" => Op::After,
            _ => return None,
        })
    }
}

/// A filterable (and sortable) field: the name Lamassu's model gives it, and where it is in the
/// JSON this door returns.
pub(crate) type Field = (&'static str, &'static str);

/// What a list may filter and sort on: its own fields, and a certificate's (Lamassu's model)
/// at this JSON prefix when the items are or hold certificates.
pub(crate) struct Fields {
    pub own: &'static [Field],
    pub certificate_at: Option<&'static str>,
}

/// The certificate fields of Lamassu's model (`core/pkg/resources/fields.go`), as this door's
/// certificate JSON holds them.
const CERTIFICATE_MODEL: &[Field] = &[
    ("type", "type"),
    ("serial_number", "serial_number"),
    ("subject.common_name", "subject.common_name"),
    ("subject.organization", "subject.organization"),
    ("subject.country", "subject.country"),
    ("issuer_meta.id", "issuer_metadata.id"),
    ("status", "status"),
    ("engine_id", "engine_id"),
    ("valid_to", "valid_to"),
    ("valid_from", "valid_from"),
    ("revocation_timestamp", "revocation_timestamp"),
    ("revocation_reason", "revocation_reason"),
    ("extensions.key_usage", "extensions.key_usage"),
    ("extensions.extended_key_usage", "extensions.extended_key_usage"),
    ("is_ca", "is_ca"),
    ("key_metadata.type", "key_metadata.type"),
    ("key_metadata.bits", "key_metadata.bits"),
];

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

/// The JSON path of a field name, or a 400 naming the names there are.
fn path_of(name: &str, fields: &Fields, what: &str) -> Result<String> {
    if let Some((_, path)) = fields.own.iter().find(|(n, _)| *n == name) {
        return Ok((*path).to_owned());
    }
    if let Some(prefix) = fields.certificate_at
        && let Some((_, path)) = CERTIFICATE_MODEL.iter().find(|(n, _)| *n == name)
    {
        return Ok(format!("{prefix}{path}"));
    }
    let model = fields.certificate_at.map(|_| CERTIFICATE_MODEL).unwrap_or_default();
    let names: Vec<&str> = fields.own.iter().chain(model).map(|(n, _)| *n).collect();
    Err(Error::malformed(format!("{what}: field {name:?} is not {what}able; use one of {}", names.join(", "))))
}

/// `field[op]value` (the documented `field[op]=value` too).
fn parse_filter(text: &str, fields: &Fields) -> Result<Filter> {
    let bad = || Error::malformed(format!("filter {text:?}: expected field[op]value"));
    let (field, rest) = text.split_once('[').ok_or_else(bad)?;
    let (op, value) = rest.split_once(']').ok_or_else(bad)?;
    let path = path_of(field, fields, "filter")?;
    let op = Op::parse(op)
        .ok_or_else(|| Error::malformed(format!("filter: unknown operator {op:?} for field {field:?}")))?;
    let value = value.strip_prefix('=').unwrap_or(value).to_owned();
    Ok(Filter { field: path, op, value })
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
    let same = |have: &str, want: &str, ic: bool| if ic { have.eq_ignore_ascii_case(want) } else { have == want };
    // A string array matches an element; dates compare as instants.
    let equal = |want: &str, ic: bool| match (v.as_array(), time(&text), time(want)) {
        (Some(items), _, _) => items.iter().any(|e| same(&as_text(e), want, ic)),
        (None, Some(have), Some(want)) => have == want,
        _ => same(&text, want, ic),
    };
    let contains = |want: &str, ic: bool| match v.as_array() {
        Some(items) => items.iter().any(|e| same(&as_text(e), want, ic)),
        None if ic => text.to_lowercase().contains(&want.to_lowercase()),
        None => text.contains(want),
    };
    let list = || f.value.split(',').map(str::trim).filter(|s| !s.is_empty()).collect::<Vec<_>>();
    Ok(match f.op {
        Op::Eq { ic } => equal(&f.value, ic),
        Op::Ne { ic } => !equal(&f.value, ic),
        Op::Contains { ic } => contains(&f.value, ic),
        Op::NotContains { ic } => !contains(&f.value, ic),
        Op::In { ic } => list().iter().any(|w| equal(w, ic)),
        Op::NotIn { ic } => !list().iter().any(|w| equal(w, ic)),
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
    fields: &Fields,
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
            if let Some(field) = &q.sort_by {
                path_of(field, fields, "sort")?;
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
        let path = path_of(field, fields, "sort")?;
        kept.sort_by(|a, b| compare(lookup(a, &path), lookup(b, &path)));
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
    let own = &[("id", "id"), ("n", "n"), ("t", "t"), ("tags", "tags"), ("m.k", "m.k"), ("m", "m")];
    match parse_filter(text, &Fields { own, certificate_at: Some("") }) {
        Ok(f) => items.iter().all(|item| matches(item, &f).is_ok()),
        Err(_) => false,
    }
}
