//! `/api/v1/certificates/`: issue (server-made key or CSR), list, read, key export, revoke,
//! renew.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{any, get, post};
use axum::{Json, Router};
use certus_authority::CertStatus;
use certus_authority::{CertificateType, FastPkiCert, FastPkiCertView, NewFastPkiCert, SignFastPkiCsr};
use certus_x509::{PemLabel, to_pem};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{FastPkiError, FastPkiJson, FastPkiPrincipal, FastPkiResult, Ids, int, to_collection};
use crate::AppState;
use crate::time_fmt::{rfc3339, rfc3339_opt};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/certificates/", post(create).get(list))
        .route("/api/v1/certificates", any(to_collection))
        .route("/api/v1/certificates/sign-csr", post(sign_csr))
        .route("/api/v1/certificates/{id}", get(read))
        .route("/api/v1/certificates/{id}/private-key", get(private_key))
        .route("/api/v1/certificates/{id}/revoke", post(revoke))
        .route("/api/v1/certificates/{id}/renew", post(renew))
}

/// The serial as the reference prints it: lower-case hex, no leading zeros, no colons.
pub(super) fn serial_hex(stored: &str) -> String {
    let s = stored.to_ascii_lowercase().trim_start_matches('0').to_owned();
    if s.is_empty() { "0".into() } else { s }
}

/// The reference's name of a certificate's status.
fn status(c: &FastPkiCert) -> &'static str {
    match CertStatus::of(c.cert.revoked_at.is_some(), c.cert.not_after, crate::time_fmt::now_secs()) {
        CertStatus::Revoked => "revoked",
        CertStatus::Expired => "expired",
        CertStatus::Active => "valid",
    }
}

pub(super) fn cert_json(c: &FastPkiCert) -> Value {
    json!({
        "id": c.fastpki.id,
        "common_name": c.cert.common_name,
        "subject_dn": c.fastpki.subject_dn,
        "certificate_type": c.fastpki.certificate_type,
        "key_size": c.fastpki.key_size,
        "valid_days": super::given_days(c.fastpki.valid_days, c.cert.not_before, c.cert.not_after),
        "status": status(c),
        "certificate": to_pem(PemLabel::Certificate, &c.cert.cert_der),
        "serial_number": serial_hex(&c.cert.serial),
        "not_before": rfc3339(c.cert.not_before),
        "not_after": rfc3339(c.cert.not_after),
        "revoked_at": rfc3339_opt(c.cert.revoked_at),
        "created_at": rfc3339(c.cert.created_at),
        "updated_at": rfc3339(c.fastpki.updated_at.max(c.cert.revoked_at.unwrap_or(0))),
        "issuer_id": c.fastpki.ca_num,
        "organization_id": c.org_num,
        "created_by_user_id": c.fastpki.created_by_user_id,
        "created_by_service_account_id": c.fastpki.created_by_service_account_id,
        "renewed_from_id": c.fastpki.renewed_from_id,
    })
}

fn view_json(v: &FastPkiCertView, with_key: bool) -> Value {
    let mut out = cert_json(&v.cert);
    if with_key {
        out["private_key"] = json!(v.private_key);
    }
    out
}

fn certificate_type(name: &str) -> FastPkiResult<CertificateType> {
    CertificateType::from_name(name).ok_or_else(|| {
        FastPkiError::invalid(format!(
            "certificate_type: Input should be 'ca', 'server', 'client' or 'dual_purpose', not {name:?}"
        ))
    })
}

#[derive(Deserialize)]
struct CaQuery {
    ca_id: Option<String>,
}

#[derive(Deserialize)]
struct CertBody {
    common_name: String,
    subject_dn: String,
    certificate_type: String,
    key_size: Option<i64>,
    valid_days: Option<i64>,
    include_private_key: Option<bool>,
    san_dns_names: Option<Vec<String>>,
    san_ip_addresses: Option<Vec<String>>,
    san_email_addresses: Option<Vec<String>>,
}

#[utoipa::path(post, path = "/api/v1/certificates/", tag = "api-v1", security(("bearer" = [])), request_body = Object, responses((status = 201, body = Object), (status = 401, body = Object), (status = 404, body = Object), (status = 422, body = Object)))]
async fn create(
    State(s): State<AppState>,
    FastPkiPrincipal(user): FastPkiPrincipal,
    Query(q): Query<CaQuery>,
    FastPkiJson(b): FastPkiJson<CertBody>,
) -> FastPkiResult<(StatusCode, Json<Value>)> {
    let ca_id = q.ca_id.ok_or_else(|| FastPkiError::invalid("ca_id: Field required (query)"))?;
    let ca_id = int("ca_id", Some(&ca_id), 0)?;
    let req = NewFastPkiCert {
        common_name: b.common_name,
        subject_dn: b.subject_dn,
        certificate_type: certificate_type(&b.certificate_type)?,
        key_size: b.key_size,
        valid_days: b.valid_days,
        include_private_key: b.include_private_key,
        san_dns_names: b.san_dns_names,
        san_ip_addresses: b.san_ip_addresses,
        san_email_addresses: b.san_email_addresses,
    };
    let issued = s.authority.create_fastpki_certificate(&user, ca_id, req).await?;
    Ok((StatusCode::CREATED, Json(view_json(&issued, true))))
}

#[derive(Deserialize)]
struct CsrBody {
    csr: String,
    certificate_type: String,
    ca_id: Option<i64>,
    ca_name: Option<String>,
    valid_days: Option<i64>,
    common_name: Option<String>,
    subject_dn: Option<String>,
    san_dns_names: Option<Vec<String>>,
    san_ip_addresses: Option<Vec<String>>,
    san_email_addresses: Option<Vec<String>>,
}

#[utoipa::path(post, path = "/api/v1/certificates/sign-csr", tag = "api-v1", security(("bearer" = [])), request_body = Object, responses((status = 201, body = Object), (status = 401, body = Object), (status = 404, body = Object), (status = 422, body = Object)))]
async fn sign_csr(
    State(s): State<AppState>,
    FastPkiPrincipal(user): FastPkiPrincipal,
    FastPkiJson(b): FastPkiJson<CsrBody>,
) -> FastPkiResult<(StatusCode, Json<Value>)> {
    let req = SignFastPkiCsr {
        csr: b.csr,
        certificate_type: certificate_type(&b.certificate_type)?,
        ca_id: b.ca_id,
        ca_name: b.ca_name,
        valid_days: b.valid_days,
        common_name: b.common_name,
        subject_dn: b.subject_dn,
        san_dns_names: b.san_dns_names,
        san_ip_addresses: b.san_ip_addresses,
        san_email_addresses: b.san_email_addresses,
    };
    let issued = s.authority.sign_fastpki_csr(&user, req).await?;
    Ok((StatusCode::CREATED, Json(view_json(&issued, false))))
}

#[utoipa::path(get, path = "/api/v1/certificates/", tag = "api-v1", security(("bearer" = [])), responses((status = 200, body = Object), (status = 401, body = Object), (status = 404, body = Object), (status = 422, body = Object)))]
async fn list(
    State(s): State<AppState>,
    FastPkiPrincipal(user): FastPkiPrincipal,
    Query(q): Query<CaQuery>,
) -> FastPkiResult<Json<Vec<Value>>> {
    let ca_id = q.ca_id.as_deref().map(|id| int("ca_id", Some(id), 0)).transpose()?;
    Ok(Json(s.authority.list_fastpki_certificates(&user, ca_id).await?.iter().map(cert_json).collect()))
}

#[utoipa::path(get, path = "/api/v1/certificates/{id}", tag = "api-v1", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 200, body = Object), (status = 401, body = Object), (status = 404, body = Object), (status = 422, body = Object)))]
async fn read(
    State(s): State<AppState>,
    FastPkiPrincipal(user): FastPkiPrincipal,
    Ids(id): Ids<i64>,
) -> FastPkiResult<Json<Value>> {
    let view = s.authority.read_fastpki_certificate(&user, id).await?;
    let mut out = cert_json(&view.cert);
    out["renewed_to_ids"] = json!(view.renewed_to_ids);
    Ok(Json(out))
}

#[utoipa::path(get, path = "/api/v1/certificates/{id}/private-key", tag = "api-v1", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 200, body = Object), (status = 401, body = Object), (status = 404, body = Object), (status = 422, body = Object)))]
async fn private_key(
    State(s): State<AppState>,
    FastPkiPrincipal(user): FastPkiPrincipal,
    Ids(id): Ids<i64>,
) -> FastPkiResult<Json<Value>> {
    Ok(Json(view_json(&s.authority.export_fastpki_certificate_key(&user, id).await?, true)))
}

#[derive(Deserialize)]
struct RevokeBody {
    reason: Option<String>,
}

/// A JSON body is required (`{}` will do), as the reference's schema makes it.
#[utoipa::path(post, path = "/api/v1/certificates/{id}/revoke", tag = "api-v1", security(("bearer" = [])), request_body = Object, params(("id" = i64, Path)), responses((status = 200, body = Object), (status = 401, body = Object), (status = 404, body = Object), (status = 422, body = Object)))]
async fn revoke(
    State(s): State<AppState>,
    FastPkiPrincipal(user): FastPkiPrincipal,
    Ids(id): Ids<i64>,
    FastPkiJson(b): FastPkiJson<RevokeBody>,
) -> FastPkiResult<Json<Value>> {
    Ok(Json(cert_json(&s.authority.revoke_fastpki_certificate(&user, id, b.reason.as_deref()).await?.cert)))
}

#[derive(Deserialize)]
struct RenewBody {
    csr: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/certificates/{id}/renew", tag = "api-v1", security(("bearer" = [])), request_body = Object, params(("id" = i64, Path)), responses((status = 201, body = Object), (status = 401, body = Object), (status = 404, body = Object), (status = 422, body = Object)))]
async fn renew(
    State(s): State<AppState>,
    FastPkiPrincipal(user): FastPkiPrincipal,
    Ids(id): Ids<i64>,
    FastPkiJson(b): FastPkiJson<RenewBody>,
) -> FastPkiResult<(StatusCode, Json<Value>)> {
    let renewed = s.authority.renew_fastpki_certificate(&user, id, b.csr.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(view_json(&renewed, true))))
}
