//! `/api/v1/certificates/`: issue (server-made key or CSR), list, read, key export, revoke,
//! renew.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{any, get, post};
use axum::{Json, Router};
use certus_authority::CertStatus;
use certus_authority::{CertificateType, FastPkiCert, FastPkiCertView, NewFastPkiCert, SignFastPkiCsr};
use certus_x509::{PemLabel, to_pem};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

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

/// A certificate as the reference shows it.
#[derive(Serialize, ToSchema)]
#[schema(as = CertificateResponse)]
struct CertificateResponse {
    id: i64,
    common_name: Option<String>,
    subject_dn: String,
    /// `server`, `client`, `dual_purpose` or `ca`.
    certificate_type: String,
    key_size: i64,
    /// The validity asked for, or the days given when the CA's life cut it short.
    valid_days: i64,
    /// `valid`, `revoked` or `expired`.
    status: &'static str,
    /// PEM.
    certificate: String,
    /// Lower-case hex.
    serial_number: String,
    not_before: String,
    not_after: String,
    revoked_at: Option<String>,
    created_at: String,
    updated_at: String,
    issuer_id: i64,
    organization_id: Option<i64>,
    created_by_user_id: Option<i64>,
    created_by_service_account_id: Option<i64>,
    renewed_from_id: Option<i64>,
    /// The certificates renewed from this one (on a read by id only).
    #[serde(skip_serializing_if = "Option::is_none")]
    renewed_to_ids: Option<Vec<i64>>,
}

impl From<&FastPkiCert> for CertificateResponse {
    fn from(c: &FastPkiCert) -> Self {
        CertificateResponse {
            id: c.fastpki.id,
            common_name: c.cert.common_name.clone(),
            subject_dn: c.fastpki.subject_dn.clone(),
            certificate_type: c.fastpki.certificate_type.clone(),
            key_size: c.fastpki.key_size,
            valid_days: super::given_days(c.fastpki.valid_days, c.cert.not_before, c.cert.not_after),
            status: status(c),
            certificate: to_pem(PemLabel::Certificate, &c.cert.cert_der),
            serial_number: serial_hex(&c.cert.serial),
            not_before: rfc3339(c.cert.not_before),
            not_after: rfc3339(c.cert.not_after),
            revoked_at: rfc3339_opt(c.cert.revoked_at),
            created_at: rfc3339(c.cert.created_at),
            updated_at: rfc3339(c.fastpki.updated_at.max(c.cert.revoked_at.unwrap_or(0))),
            issuer_id: c.fastpki.ca_num,
            organization_id: c.org_num,
            created_by_user_id: c.fastpki.created_by_user_id,
            created_by_service_account_id: c.fastpki.created_by_service_account_id,
            renewed_from_id: c.fastpki.renewed_from_id,
            renewed_to_ids: None,
        }
    }
}

/// A certificate with its private key: PEM, or null when Certus holds none (a CSR's, or
/// `include_private_key: false`).
#[derive(Serialize, ToSchema)]
#[schema(as = CertificateDetailResponse)]
struct CertificateDetailResponse {
    #[serde(flatten)]
    certificate: CertificateResponse,
    private_key: Option<String>,
}

impl From<&FastPkiCertView> for CertificateDetailResponse {
    fn from(v: &FastPkiCertView) -> Self {
        CertificateDetailResponse { certificate: (&v.cert).into(), private_key: v.private_key.clone() }
    }
}

fn certificate_type(name: &str) -> FastPkiResult<CertificateType> {
    CertificateType::from_name(name).ok_or_else(|| {
        FastPkiError::invalid(format!(
            "certificate_type: Input should be 'ca', 'server', 'client' or 'dual_purpose', not {name:?}"
        ))
    })
}

/// The CA, read as text so that a bad number is FastAPI's 422.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct CaQuery {
    #[param(value_type = Option<i64>)]
    ca_id: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[schema(as = CertificateCreate)]
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

#[utoipa::path(post, path = "/api/v1/certificates/", tag = "api-v1", security(("bearer" = [])), params(CaQuery), request_body = CertBody, responses((status = 201, body = CertificateDetailResponse), super::Errors))]
async fn create(
    State(s): State<AppState>,
    FastPkiPrincipal(user): FastPkiPrincipal,
    Query(q): Query<CaQuery>,
    FastPkiJson(b): FastPkiJson<CertBody>,
) -> FastPkiResult<(StatusCode, Json<CertificateDetailResponse>)> {
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
    Ok((StatusCode::CREATED, Json(CertificateDetailResponse::from(&issued))))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = CSRSignRequest)]
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

#[utoipa::path(post, path = "/api/v1/certificates/sign-csr", tag = "api-v1", security(("bearer" = [])), request_body = CsrBody, responses((status = 201, body = CertificateResponse), super::Errors))]
async fn sign_csr(
    State(s): State<AppState>,
    FastPkiPrincipal(user): FastPkiPrincipal,
    FastPkiJson(b): FastPkiJson<CsrBody>,
) -> FastPkiResult<(StatusCode, Json<CertificateResponse>)> {
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
    Ok((StatusCode::CREATED, Json(CertificateResponse::from(&issued.cert))))
}

#[utoipa::path(get, path = "/api/v1/certificates/", tag = "api-v1", security(("bearer" = [])), params(CaQuery), responses((status = 200, body = Vec<CertificateResponse>), super::Errors))]
async fn list(
    State(s): State<AppState>,
    FastPkiPrincipal(user): FastPkiPrincipal,
    Query(q): Query<CaQuery>,
) -> FastPkiResult<Json<Vec<CertificateResponse>>> {
    let ca_id = q.ca_id.as_deref().map(|id| int("ca_id", Some(id), 0)).transpose()?;
    Ok(Json(s.authority.list_fastpki_certificates(&user, ca_id).await?.iter().map(CertificateResponse::from).collect()))
}

#[utoipa::path(get, path = "/api/v1/certificates/{id}", tag = "api-v1", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 200, body = CertificateResponse), super::Errors))]
async fn read(
    State(s): State<AppState>,
    FastPkiPrincipal(user): FastPkiPrincipal,
    Ids(id): Ids<i64>,
) -> FastPkiResult<Json<CertificateResponse>> {
    let view = s.authority.read_fastpki_certificate(&user, id).await?;
    Ok(Json(CertificateResponse { renewed_to_ids: Some(view.renewed_to_ids), ..(&view.cert).into() }))
}

#[utoipa::path(get, path = "/api/v1/certificates/{id}/private-key", tag = "api-v1", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 200, body = CertificateDetailResponse), super::Errors))]
async fn private_key(
    State(s): State<AppState>,
    FastPkiPrincipal(user): FastPkiPrincipal,
    Ids(id): Ids<i64>,
) -> FastPkiResult<Json<CertificateDetailResponse>> {
    Ok(Json(CertificateDetailResponse::from(&s.authority.export_fastpki_certificate_key(&user, id).await?)))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = CertificateRevoke)]
struct RevokeBody {
    reason: Option<String>,
}

/// A JSON body is required (`{}` will do), as the reference's schema makes it.
#[utoipa::path(post, path = "/api/v1/certificates/{id}/revoke", tag = "api-v1", security(("bearer" = [])), request_body = RevokeBody, params(("id" = i64, Path)), responses((status = 200, body = CertificateResponse), super::Errors))]
async fn revoke(
    State(s): State<AppState>,
    FastPkiPrincipal(user): FastPkiPrincipal,
    Ids(id): Ids<i64>,
    FastPkiJson(b): FastPkiJson<RevokeBody>,
) -> FastPkiResult<Json<CertificateResponse>> {
    Ok(Json(CertificateResponse::from(
        &s.authority.revoke_fastpki_certificate(&user, id, b.reason.as_deref()).await?.cert,
    )))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = CertificateRenew)]
struct RenewBody {
    csr: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/certificates/{id}/renew", tag = "api-v1", security(("bearer" = [])), request_body = RenewBody, params(("id" = i64, Path)), responses((status = 201, body = CertificateDetailResponse), super::Errors))]
async fn renew(
    State(s): State<AppState>,
    FastPkiPrincipal(user): FastPkiPrincipal,
    Ids(id): Ids<i64>,
    FastPkiJson(b): FastPkiJson<RenewBody>,
) -> FastPkiResult<(StatusCode, Json<CertificateDetailResponse>)> {
    let renewed = s.authority.renew_fastpki_certificate(&user, id, b.csr.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(CertificateDetailResponse::from(&renewed))))
}
