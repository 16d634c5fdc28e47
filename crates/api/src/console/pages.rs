//! The console's read screens: dashboard, CA tree, certificate search and page, audit log.

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use certus_authority::{CaRow, CertState, ConsoleViewer, ListRequest};
use certus_x509::{PemLabel, to_pem};

use super::views::{CertLine, Nav, Plot, status_of, when};
use super::{ConsoleError, ConsoleResult, Viewer, html, is_htmx};
use crate::AppState;
use crate::time_fmt::now_secs;

/// The first value of each query parameter (a repeated one is not an error in a browser URL).
fn query_param(raw: &Option<String>, name: &str) -> String {
    raw.as_deref()
        .and_then(|q| form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == name))
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default()
}

fn lines(rows: &[certus_authority::CertRow], cas: &[CaRow]) -> Vec<CertLine> {
    let now = now_secs();
    rows.iter().map(|c| CertLine::new(c, cas, now)).collect()
}

struct CaLine {
    id: String,
    name: String,
    kind: String,
    not_after: String,
    expiring_soon: bool,
    issued: i64,
    revoked: i64,
    expiring: [i64; 3],
}

#[derive(Template)]
#[template(path = "console/dashboard.html")]
struct DashboardPage {
    nav: Nav,
    cas: Vec<CaLine>,
    expiring_cas: Vec<String>,
    plot: Plot,
    recent_issued: Vec<CertLine>,
    recent_revoked: Vec<CertLine>,
}

const CA_EXPIRY_WARNING_SECS: i64 = 90 * 86_400;

pub(super) async fn dashboard(State(s): State<AppState>, Viewer(v): Viewer) -> ConsoleResult<Response> {
    let d = s.authority.console_dashboard(&v).await?;
    let now = now_secs();
    let ca_rows: Vec<CaRow> = d.cas.iter().map(|(ca, _)| ca.clone()).collect();
    let page = DashboardPage {
        nav: Nav::new(&v, "dashboard"),
        expiring_cas: d
            .cas
            .iter()
            .filter(|(ca, _)| ca.valid_until - now < CA_EXPIRY_WARNING_SECS)
            .map(|(ca, _)| format!("{} ({})", ca.name, when(ca.valid_until)))
            .collect(),
        cas: d
            .cas
            .iter()
            .map(|(ca, c)| CaLine {
                id: ca.id.clone(),
                name: ca.name.clone(),
                kind: ca.ca_type.clone(),
                not_after: when(ca.valid_until),
                expiring_soon: ca.valid_until - now < CA_EXPIRY_WARNING_SECS,
                issued: c.issued,
                revoked: c.revoked,
                expiring: c.expiring,
            })
            .collect(),
        plot: Plot::new(&d.expiries_by_day),
        recent_issued: lines(&d.recent_issued, &ca_rows),
        recent_revoked: lines(&d.recent_revoked, &ca_rows),
    };
    Ok(html(&page))
}

struct CaNode {
    id: String,
    parent: String,
    depth: usize,
    name: String,
    kind: String,
    key: String,
    not_after: String,
    revoked: bool,
}

#[derive(Template)]
#[template(path = "console/cas.html")]
struct CasPage {
    nav: Nav,
    tree: Vec<CaNode>,
}

/// Roots first, each followed by its subordinates (depth-first); a CA whose issuer is not in
/// the tenant counts as a root.
fn ca_tree(cas: &[CaRow]) -> Vec<CaNode> {
    fn visit(cas: &[CaRow], ca: &CaRow, depth: usize, out: &mut Vec<CaNode>) {
        if out.iter().any(|n| n.id == ca.id) {
            return;
        }
        out.push(CaNode {
            id: ca.id.clone(),
            parent: ca.parent_ca_id.clone().unwrap_or_default(),
            depth: depth.min(5),
            name: ca.name.clone(),
            kind: ca.ca_type.clone(),
            key: format!("{} {}", ca.key_type, ca.key_size),
            not_after: when(ca.valid_until),
            revoked: ca.revoked,
        });
        for child in cas.iter().filter(|c| c.parent_ca_id.as_deref() == Some(ca.id.as_str())) {
            visit(cas, child, depth + 1, out);
        }
    }
    let mut out = Vec::new();
    let is_root = |ca: &CaRow| ca.parent_ca_id.as_ref().is_none_or(|p| !cas.iter().any(|c| &c.id == p));
    for root in cas.iter().filter(|ca| is_root(ca)) {
        visit(cas, root, 0, &mut out);
    }
    out
}

pub(super) async fn cas(State(s): State<AppState>, Viewer(v): Viewer) -> ConsoleResult<Response> {
    let cas = s.authority.console_cas(&v).await?;
    Ok(html(&CasPage { nav: Nav::new(&v, "cas"), tree: ca_tree(&cas) }))
}

struct Filter {
    q: String,
    serial: String,
    ca: String,
    status: String,
    expiring: String,
}

#[derive(Template)]
#[template(path = "console/certificates.html")]
struct CertificatesPage {
    nav: Nav,
    filter: Filter,
    ca_options: Vec<(String, String)>,
    status_options: Vec<(&'static str, bool)>,
    results: Vec<CertLine>,
    next_page: Option<String>,
}

#[derive(Template)]
#[template(path = "console/certificate_results.html")]
struct ResultsFragment {
    results: Vec<CertLine>,
    next_page: Option<String>,
}

/// Search: by name prefix (CN or SAN), serial, CA, status and expiry window; keyset pages.
/// An htmx request gets only the results.
pub(super) async fn certificates(
    State(s): State<AppState>,
    Viewer(v): Viewer,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ConsoleResult<Response> {
    let filter = Filter {
        q: query_param(&raw, "q"),
        serial: query_param(&raw, "serial"),
        ca: query_param(&raw, "ca"),
        status: query_param(&raw, "status"),
        expiring: query_param(&raw, "expiring"),
    };
    let state = match filter.status.as_str() {
        "" | "any" => None,
        "valid" => Some(CertState::Valid),
        "revoked" => Some(CertState::Revoked),
        "expired" => Some(CertState::Expired),
        other => {
            return Err(ConsoleError::bad_request(format!("status {other:?} is not any, valid, revoked or expired")));
        }
    };
    let expiring_within = match filter.expiring.as_str() {
        "" => None,
        days => match days.parse::<u16>() {
            Ok(d) if (1..=3650).contains(&d) => Some(format!("{d}d")),
            _ => return Err(ConsoleError::bad_request("expiring within: a number of days from 1 to 3650")),
        },
    };
    let cursor = Some(query_param(&raw, "cursor")).filter(|c| !c.is_empty());
    let req = ListRequest {
        ca_id: Some(filter.ca.clone()).filter(|c| !c.is_empty()),
        expiring_within,
        include_revoked: true,
        limit: Some(50),
        cursor,
        name: Some(filter.q.clone()).filter(|q| !q.is_empty()),
        serial: Some(filter.serial.clone()).filter(|q| !q.is_empty()),
        state,
    };
    let page = s.authority.list_certificates(&v.caller(), req).await?;
    let cas = s.authority.console_cas(&v).await?;
    let next_page = page.cursor.map(|c| {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("q", &filter.q)
            .append_pair("serial", &filter.serial)
            .append_pair("ca", &filter.ca)
            .append_pair("status", &filter.status)
            .append_pair("expiring", &filter.expiring)
            .append_pair("cursor", &c)
            .finish()
    });
    let results = lines(&page.data, &cas);
    if is_htmx(&headers) {
        return Ok(html(&ResultsFragment { results, next_page }));
    }
    let status_options = ["any", "valid", "revoked", "expired"]
        .into_iter()
        .map(|o| (o, o == filter.status || (o == "any" && filter.status.is_empty())))
        .collect();
    Ok(html(&CertificatesPage {
        nav: Nav::new(&v, "certificates"),
        ca_options: cas.iter().map(|c| (c.id.clone(), c.name.clone())).collect(),
        status_options,
        filter,
        results,
        next_page,
    }))
}

#[derive(Template)]
#[template(path = "console/certificate.html")]
struct CertificatePage {
    nav: Nav,
    flash: Option<String>,
    cert: CertLine,
    revocation: Option<String>,
    subject: String,
    issuer: String,
    not_before: String,
    key: String,
    key_usage: String,
    eku: String,
    is_ca: String,
    source: String,
    chain: Vec<(String, String)>,
    may_revoke: bool,
    reasons: Vec<&'static str>,
}

/// Names of the extended key usages people meet; others stay dotted.
fn eku_name(oid: &str) -> String {
    match oid {
        "1.3.6.1.5.5.7.3.1" => "serverAuth".into(),
        "1.3.6.1.5.5.7.3.2" => "clientAuth".into(),
        "1.3.6.1.5.5.7.3.3" => "codeSigning".into(),
        "1.3.6.1.5.5.7.3.4" => "emailProtection".into(),
        "1.3.6.1.5.5.7.3.8" => "timeStamping".into(),
        "1.3.6.1.5.5.7.3.9" => "OCSPSigning".into(),
        "1.0.18013.5.1.2" => "mdlDS (ISO 18013-5)".into(),
        other => other.to_owned(),
    }
}

pub(super) async fn certificate(
    State(s): State<AppState>,
    Viewer(v): Viewer,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ConsoleResult<Response> {
    let d = s.authority.console_certificate(&v, &id).await?;
    let cas = s.authority.console_cas(&v).await?;
    let info = &d.info;
    let page = CertificatePage {
        nav: Nav::new(&v, "certificates"),
        flash: (query_param(&raw, "done") == "revoked").then(|| "The certificate is revoked.".to_owned()),
        cert: CertLine::new(&d.row, &cas, now_secs()),
        revocation: d.row.revoked_at.map(|at| {
            format!("{}, {}", d.row.revocation_reason.clone().unwrap_or_else(|| "unspecified".into()), when(at))
        }),
        subject: info.subject.clone(),
        issuer: info.issuer.clone(),
        not_before: when(info.not_before.unix_timestamp()),
        key: format!("{:?} {} bits", info.key.kind, info.key.bits),
        key_usage: info.key_usage.iter().map(|k| format!("{k:?}")).collect::<Vec<_>>().join(", "),
        eku: info.extended_key_usage.iter().map(|o| eku_name(o)).collect::<Vec<_>>().join(", "),
        is_ca: match (info.is_ca, info.path_len) {
            (true, Some(n)) => format!("yes, path length {n}"),
            (true, None) => "yes".into(),
            (false, _) => "no".into(),
        },
        source: d.row.source.clone(),
        chain: d.chain.iter().map(|ca| (ca.id.clone(), ca.name.clone())).collect(),
        may_revoke: v.may(certus_authority::ConsoleAction::Revoke) && status_of(&d.row, now_secs()) != "revoked",
        reasons: certus_x509::RevocationReason::ALL.iter().map(|r| r.name()).collect(),
    };
    Ok(html(&page))
}

/// The certificate, then the chain Certus stored with it, as a PEM file.
pub(super) async fn certificate_pem(
    State(s): State<AppState>,
    Viewer(v): Viewer,
    Path(id): Path<String>,
) -> ConsoleResult<Response> {
    let d = s.authority.console_certificate(&v, &id).await?;
    let mut body = to_pem(PemLabel::Certificate, &d.row.cert_der);
    for ca in &d.chain {
        body.push_str(&to_pem(PemLabel::Certificate, &ca.cert_der));
    }
    let disposition = format!("attachment; filename=\"{}.pem\"", d.row.serial);
    Ok((
        [(header::CONTENT_TYPE, "application/x-pem-file".to_owned()), (header::CONTENT_DISPOSITION, disposition)],
        body,
    )
        .into_response())
}

struct AuditLine {
    id: i64,
    at: String,
    actor: String,
    action: String,
    resource: String,
    tenant: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage {
    nav: Nav,
    action: String,
    entries: Vec<AuditLine>,
    next_page: Option<String>,
    may_verify: bool,
}

pub(super) async fn audit(
    State(s): State<AppState>,
    Viewer(v): Viewer,
    RawQuery(raw): RawQuery,
) -> ConsoleResult<Response> {
    let action = query_param(&raw, "action");
    let before = match query_param(&raw, "before").as_str() {
        "" => None,
        b => Some(b.parse::<i64>().map_err(|_| ConsoleError::bad_request("before: an entry number"))?),
    };
    let rows = s.authority.console_audit(&v, Some(&action), before).await?;
    let names: std::collections::HashMap<&str, &str> =
        v.tenants.iter().map(|t| (t.id.as_str(), t.name.as_str())).collect();
    let next_page = rows.last().filter(|_| rows.len() == 50).map(|last| {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("action", &action)
            .append_pair("before", &last.id.to_string())
            .finish()
    });
    let entries = rows
        .iter()
        .map(|r| AuditLine {
            id: r.id,
            at: when(r.entry.at),
            actor: r.entry.actor.clone(),
            action: r.entry.action.clone(),
            resource: r.entry.resource.clone(),
            tenant: r.entry.tenant_id.as_deref().map(|t| names.get(t).copied().unwrap_or(t)).unwrap_or("").to_owned(),
            detail: r.entry.detail.clone(),
        })
        .collect();
    Ok(html(&AuditPage { may_verify: v.is_superuser(), nav: Nav::new(&v, "audit"), action, entries, next_page }))
}

#[derive(Template)]
#[template(
    source = r#"<p id="chain-check" class="{% if ok %}status-valid{% else %}error{% endif %}">{{ text }}</p>"#,
    ext = "html"
)]
struct ChainCheck {
    ok: bool,
    text: String,
}

/// The audit chain's verification, as a fragment (htmx) or a line of its own.
pub(super) async fn verify_audit(State(s): State<AppState>, Viewer(v): Viewer) -> ConsoleResult<Response> {
    let (ok, text) = s.authority.console_verify_audit(&v).await?;
    Ok(html(&ChainCheck { ok, text }))
}

struct DeliveryLine {
    id: String,
    event: String,
    status: String,
    attempts: i64,
    created: String,
    when: String,
    last_error: String,
}

struct HookCard {
    id: String,
    url: String,
    events: String,
    created: String,
    deliveries: Vec<DeliveryLine>,
}

#[derive(Template)]
#[template(path = "console/webhooks.html")]
struct WebhooksPage {
    nav: Nav,
    flash: Option<String>,
    may_test: bool,
    hooks: Vec<HookCard>,
}

/// Endpoints and their latest deliveries; `flash` after a test delivery was queued.
pub(super) async fn webhooks_page(s: &AppState, v: &ConsoleViewer, flash: Option<String>) -> ConsoleResult<Response> {
    let hooks = s
        .authority
        .console_webhooks(v)
        .await?
        .into_iter()
        .map(|(h, deliveries)| HookCard {
            id: h.id,
            url: h.url,
            events: h.events.join(", "),
            created: when(h.created_at),
            deliveries: deliveries
                .into_iter()
                .map(|d| DeliveryLine {
                    when: match d.delivered_at {
                        Some(at) => when(at),
                        None => format!("next {}", when(d.next_attempt_at)),
                    },
                    id: d.id,
                    event: d.event,
                    status: d.status,
                    attempts: d.attempts,
                    created: when(d.created_at),
                    last_error: d.last_error.unwrap_or_default(),
                })
                .collect(),
        })
        .collect();
    let may_test = v.may(certus_authority::ConsoleAction::ApproveCsr);
    Ok(html(&WebhooksPage { nav: Nav::new(v, "webhooks"), flash, may_test, hooks }))
}

pub(super) async fn webhooks(State(s): State<AppState>, Viewer(v): Viewer) -> ConsoleResult<Response> {
    webhooks_page(&s, &v, None).await
}
