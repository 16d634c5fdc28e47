//! The console's state-changing screens: revoke, issue (role or profile; server key or CSR) and
//! the CSR approval queue. Each checks the CSRF token, then makes the same engine call as the
//! API doors.

use askama::Template;
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use certus_authority::{ConsoleViewer, IssueRequest, Issued, ProfileChoice, SignRequest};
use serde::Deserialize;

use super::views::{Nav, when};
use super::{ConsoleError, ConsoleResult, Viewer, check_csrf, html};
use crate::AppState;

fn read_form<T>(form: Result<Form<T>, FormRejection>) -> ConsoleResult<T> {
    form.map(|Form(f)| f).map_err(|e| ConsoleError::bad_request(format!("the form could not be read: {e}")))
}

#[derive(Deserialize)]
pub(super) struct RevokeForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    reason: Option<String>,
}

pub(super) async fn revoke(
    State(s): State<AppState>,
    Viewer(v): Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<RevokeForm>, FormRejection>,
) -> ConsoleResult<Response> {
    let f = read_form(form)?;
    check_csrf(&v, &headers, f.csrf.as_deref())?;
    let reason = f.reason.filter(|r| !r.is_empty()).unwrap_or_else(|| "unspecified".into());
    s.authority.console_revoke(&v, &id, &reason).await?;
    Ok(Redirect::to(&format!("/ui/certificates/{id}?done=revoked")).into_response())
}

#[derive(Template)]
#[template(path = "console/issue.html")]
struct IssuePage {
    nav: Nav,
    error: Option<String>,
    roles: Vec<String>,
    /// (id, name)
    profiles: Vec<(String, String)>,
    /// (id, name) of CAs that can sign.
    cas: Vec<(String, String)>,
}

async fn issue_form(s: &AppState, v: &ConsoleViewer, error: Option<String>) -> ConsoleResult<Response> {
    let caller = s.authority.console_may_issue(v)?;
    let roles = s.authority.list_roles(&caller).await?.into_iter().map(|r| r.name).collect();
    let profiles =
        s.authority.list_profiles(&caller).await?.into_iter().map(|p| (p.profile.id, p.profile.name)).collect();
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let page = IssuePage { nav: Nav::new(v, "issue"), error, roles, profiles, cas: signing_cas(s, v).await? };
    Ok((status, html(&page)).into_response())
}

/// The tenant's CAs that may sign (active, not revoked).
async fn signing_cas(s: &AppState, v: &ConsoleViewer) -> ConsoleResult<Vec<(String, String)>> {
    let cas = s.authority.console_cas(v).await?;
    Ok(cas.into_iter().filter(|c| c.is_active && !c.revoked).map(|c| (c.id, c.name)).collect())
}

pub(super) async fn issue_page(State(s): State<AppState>, Viewer(v): Viewer) -> ConsoleResult<Response> {
    issue_form(&s, &v, None).await
}

#[derive(Deserialize)]
pub(super) struct IssueForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    template: String,
    #[serde(default)]
    ca_id: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    csr: String,
    #[serde(default)]
    common_name: String,
    #[serde(default)]
    alt_names: String,
    #[serde(default)]
    ttl: String,
}

#[derive(Template)]
#[template(path = "console/issued.html")]
struct IssuedPage {
    nav: Nav,
    id: String,
    serial: String,
    certificate: String,
    private_key: Option<String>,
    key_uri: String,
}

fn optional(text: &str) -> Option<String> {
    Some(text.trim().to_owned()).filter(|t| !t.is_empty())
}

async fn issue_with(s: &AppState, v: &ConsoleViewer, f: &IssueForm) -> Result<Issued, certus_authority::Error> {
    let caller = s.authority.console_may_issue(v)?;
    let alt_names: Vec<String> =
        f.alt_names.split(',').map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned).collect();
    let with_csr = f.key == "csr";
    match f.template.split_once(':') {
        Some(("role", role)) if with_csr => {
            let req = SignRequest {
                csr_pem: f.csr.clone(),
                ttl: optional(&f.ttl),
                common_name: optional(&f.common_name),
                alt_names: (!alt_names.is_empty()).then_some(alt_names),
                ip_sans: None,
            };
            s.authority.sign_csr(&caller, role, req).await
        }
        Some(("role", role)) => {
            let req = IssueRequest {
                common_name: optional(&f.common_name),
                alt_names,
                ip_sans: Vec::new(),
                ttl: optional(&f.ttl),
            };
            s.authority.issue(&caller, role, req).await
        }
        Some(("profile", id)) if with_csr => {
            s.authority.sign_with_profile(&caller, &f.ca_id, &f.csr, ProfileChoice::Id(id.to_owned())).await
        }
        Some(("profile", id)) => {
            let subject = certus_x509::Subject { common_name: optional(&f.common_name), ..Default::default() };
            let spec = certus_kms::KeySpec::EcP256;
            s.authority.create_with_profile(&caller, &f.ca_id, subject, spec, ProfileChoice::Id(id.to_owned())).await
        }
        _ => Err(certus_authority::Error::malformed("choose a role or an issuance profile")),
    }
}

/// Issues; the private key of a server-made key is shown on the result page, once.
pub(super) async fn issue(
    State(s): State<AppState>,
    Viewer(v): Viewer,
    headers: HeaderMap,
    form: Result<Form<IssueForm>, FormRejection>,
) -> ConsoleResult<Response> {
    let f = read_form(form)?;
    check_csrf(&v, &headers, f.csrf.as_deref())?;
    let issued = match issue_with(&s, &v, &f).await {
        Ok(i) => i,
        Err(e)
            if matches!(
                e.kind,
                certus_authority::ErrorKind::Malformed
                    | certus_authority::ErrorKind::Policy
                    | certus_authority::ErrorKind::NotFound
            ) =>
        {
            return issue_form(&s, &v, Some(e.message)).await;
        }
        Err(e) => return Err(e.into()),
    };
    let key_uri = issued
        .private_key_pem
        .as_deref()
        .map(|k| form_urlencoded::byte_serialize(k.as_bytes()).collect::<String>().replace('+', "%20"))
        .unwrap_or_default();
    let page = IssuedPage {
        nav: Nav::new(&v, "issue"),
        id: issued.certificate_id,
        serial: issued.serial_number,
        certificate: issued.certificate_pem,
        private_key: issued.private_key_pem,
        key_uri,
    };
    let mut res = html(&page);
    res.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    Ok(res)
}

struct CsrLine {
    id: String,
    common_name: String,
    names: String,
    key: String,
    created: String,
    status: String,
}

#[derive(Template)]
#[template(path = "console/csrs.html")]
struct CsrQueuePage {
    nav: Nav,
    flash: Option<String>,
    csrs: Vec<CsrLine>,
    cas: Vec<(String, String)>,
}

async fn queue_page(s: &AppState, v: &ConsoleViewer, flash: Option<String>) -> ConsoleResult<Response> {
    let csrs = s
        .authority
        .console_csr_queue(v)
        .await?
        .into_iter()
        .map(|c| CsrLine {
            id: c.id,
            common_name: c.common_name.unwrap_or_default(),
            names: c.sans.join(", "),
            key: format!("{} {}", c.key_type, c.key_bits),
            created: when(c.created_at),
            status: c.status,
        })
        .collect();
    let page = CsrQueuePage { nav: Nav::new(v, "csrs"), flash, csrs, cas: signing_cas(s, v).await? };
    Ok(html(&page))
}

pub(super) async fn csr_queue(State(s): State<AppState>, Viewer(v): Viewer) -> ConsoleResult<Response> {
    queue_page(&s, &v, None).await
}

#[derive(Deserialize)]
pub(super) struct DecisionForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    ca_id: Option<String>,
    #[serde(default)]
    validity_days: Option<String>,
}

/// Approve, reject (with a reason) or sign an approved CSR.
pub(super) async fn decide_csr(
    State(s): State<AppState>,
    Viewer(v): Viewer,
    headers: HeaderMap,
    Path((id, decision)): Path<(String, String)>,
    form: Result<Form<DecisionForm>, FormRejection>,
) -> ConsoleResult<Response> {
    let f = read_form(form)?;
    check_csrf(&v, &headers, f.csrf.as_deref())?;
    let caller = s.authority.console_admin_caller(&v)?;
    let flash = match decision.as_str() {
        "approve" => {
            s.authority.approve_csr(&caller, &id).await?;
            "Approved; sign it with a CA below.".to_owned()
        }
        "reject" => {
            s.authority.reject_csr(&caller, &id, f.reason.filter(|r| !r.trim().is_empty())).await?;
            "Rejected.".to_owned()
        }
        "sign" => {
            let days = match f.validity_days.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
                None => None,
                Some(d) => Some(d.parse::<i64>().map_err(|_| ConsoleError::bad_request("validity: a number of days"))?),
            };
            let ca = f.ca_id.unwrap_or_default();
            let (_, issued) = s.authority.sign_approved_csr(&caller, &id, &ca, days).await?;
            format!("Signed: serial {}.", issued.serial_number)
        }
        other => return Err(ConsoleError::new(StatusCode::NOT_FOUND, format!("no decision {other:?}"))),
    };
    queue_page(&s, &v, Some(flash)).await
}

/// Queues a `webhook.test` delivery to an endpoint of the tenant.
pub(super) async fn test_webhook(
    State(s): State<AppState>,
    Viewer(v): Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<DecisionForm>, FormRejection>,
) -> ConsoleResult<Response> {
    let f = read_form(form)?;
    check_csrf(&v, &headers, f.csrf.as_deref())?;
    let caller = s.authority.console_admin_caller(&v)?;
    let delivery = s.authority.test_webhook(&caller, &id).await?;
    super::pages::webhooks_page(&s, &v, Some(format!("Test delivery {delivery} queued."))).await
}
