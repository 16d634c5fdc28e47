//! `/v1/pki/certificates` and `/v1/pki/revoke`: inventory, import, key export, validation and
//! revocation.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use certus_authority::{CertView, ImportRequest, ListRequest, ValidateRequest, serial_display};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::cert_pem;
use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiJson, ApiQuery, ApiResult, ErrorBody};
use crate::time_fmt::{rfc3339, rfc3339_opt};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(get_certificate))
        .routes(routes!(get_pem))
        .routes(routes!(import))
        .routes(routes!(private_key))
        .routes(routes!(validate))
        .routes(routes!(revoke))
}

#[derive(Serialize, ToSchema)]
pub(super) struct CertificateSummary {
    id: String,
    common_name: Option<String>,
    issuer_ca_id: Option<String>,
    serial_number: String,
    valid_from: String,
    valid_until: String,
    is_revoked: bool,
    revoked_at: Option<String>,
    revocation_reason: Option<String>,
    sans: Vec<String>,
    role: Option<String>,
    /// `issued`, `imported` or `ca` (an intermediate CA's certificate).
    source: String,
}

impl From<&CertView> for CertificateSummary {
    fn from(c: &CertView) -> Self {
        CertificateSummary {
            id: c.id.clone(),
            common_name: c.common_name.clone(),
            issuer_ca_id: c.issuer_ca_id.clone(),
            serial_number: serial_display(&c.serial),
            valid_from: rfc3339(c.not_before),
            valid_until: rfc3339(c.not_after),
            is_revoked: c.revoked_at.is_some(),
            revoked_at: rfc3339_opt(c.revoked_at),
            revocation_reason: c.revocation_reason.clone(),
            sans: c.sans.clone(),
            role: c.role_name.clone(),
            source: c.source.clone(),
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ListQuery {
    /// Only certificates issued by this CA.
    ca_id: Option<String>,
    /// Only certificates expiring within this window, e.g. `30d`.
    expiring_within: Option<String>,
    /// Include revoked certificates (default false).
    #[serde(default)]
    include_revoked: bool,
    /// Page size, 1 to 1000 (default 50).
    limit: Option<i64>,
    /// The `cursor` of the previous page.
    cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(super) struct CertificatePage {
    data: Vec<CertificateSummary>,
    cursor: Option<String>,
    has_more: bool,
}

/// Certificates of the tenant, newest first.
#[utoipa::path(get, path = "/v1/pki/certificates", tag = "certificates", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, body = CertificatePage), (status = 400, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<CertificatePage>> {
    let req = ListRequest {
        ca_id: q.ca_id,
        expiring_within: q.expiring_within,
        include_revoked: q.include_revoked,
        limit: q.limit,
        cursor: q.cursor,
        ..Default::default()
    };
    let page = state.authority.list_certificates(&caller, req).await?;
    Ok(Json(CertificatePage {
        data: page.data.iter().map(CertificateSummary::from).collect(),
        cursor: page.cursor,
        has_more: page.has_more,
    }))
}

#[derive(Serialize, ToSchema)]
#[schema(as = CertificateRecord)]
pub(super) struct Certificate {
    #[serde(flatten)]
    summary: CertificateSummary,
    certificate_pem: String,
    chain_pem: Option<String>,
    /// Whether a private key is stored (retrievable with pki:admin).
    has_private_key: bool,
}

impl From<CertView> for Certificate {
    fn from(c: CertView) -> Self {
        Certificate {
            summary: CertificateSummary::from(&c),
            certificate_pem: cert_pem(&c.cert_der),
            has_private_key: c.key_id.is_some(),
            chain_pem: c.chain_pem,
        }
    }
}

#[utoipa::path(get, path = "/v1/pki/certificates/{id}", tag = "certificates", security(("bearer" = [])),
    responses((status = 200, body = Certificate), (status = 404, body = ErrorBody)))]
async fn get_certificate(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Certificate>> {
    Ok(Json(state.authority.get_certificate(&caller, &id).await?.into()))
}

/// The certificate alone, as `application/x-pem-file`.
#[utoipa::path(get, path = "/v1/pki/certificates/{id}/pem", tag = "certificates", security(("bearer" = [])),
    responses((status = 200, content_type = "application/x-pem-file", body = String), (status = 404, body = ErrorBody)))]
async fn get_pem(State(state): State<AppState>, Auth(caller): Auth, Path(id): Path<String>) -> ApiResult<Response> {
    let c = state.authority.get_certificate(&caller, &id).await?;
    Ok(([(header::CONTENT_TYPE, "application/x-pem-file")], cert_pem(&c.cert_der)).into_response())
}

#[derive(Deserialize, ToSchema)]
pub(super) struct ImportBody {
    certificate_pem: String,
    private_key_pem: Option<String>,
    chain_pem: Option<String>,
}

/// Tracks a certificate issued elsewhere; an optional key must match it.
#[utoipa::path(post, path = "/v1/pki/certificates/import", tag = "certificates", security(("bearer" = [])), request_body = ImportBody,
    responses((status = 201, body = Certificate), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn import(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<ImportBody>,
) -> ApiResult<(StatusCode, Json<Certificate>)> {
    let req = ImportRequest {
        certificate_pem: b.certificate_pem,
        private_key_pem: b.private_key_pem,
        chain_pem: b.chain_pem,
    };
    Ok((StatusCode::CREATED, Json(state.authority.import_certificate(&caller, req).await?.into())))
}

#[derive(Serialize, ToSchema)]
pub(super) struct PrivateKey {
    certificate_id: String,
    private_key: String,
}

/// The stored private key, where the role keeps keys (`store_private_keys`). Audited.
#[utoipa::path(post, path = "/v1/pki/certificates/{id}/private-key", tag = "certificates", security(("bearer" = [])),
    responses((status = 200, body = PrivateKey), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn private_key(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<PrivateKey>> {
    let pem = state.authority.export_private_key(&caller, &id).await?;
    Ok(Json(PrivateKey { certificate_id: id, private_key: super::document_key_form(pem) }))
}

#[derive(Deserialize, ToSchema)]
pub(super) struct ValidateBody {
    certificate_pem: String,
    chain_pem: Option<String>,
    /// Default true.
    check_revocation: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub(super) struct ValidationResult {
    valid: bool,
    chain_valid: bool,
    not_expired: bool,
    not_revoked: bool,
    trusted_anchor: Option<String>,
    errors: Vec<String>,
}

/// Validates a certificate against the tenant's trust anchors and CAs.
#[utoipa::path(post, path = "/v1/pki/certificates/validate", tag = "certificates", security(("bearer" = [])), request_body = ValidateBody,
    responses((status = 200, body = ValidationResult), (status = 400, body = ErrorBody)))]
async fn validate(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<ValidateBody>,
) -> ApiResult<Json<ValidationResult>> {
    let req = ValidateRequest {
        certificate_pem: b.certificate_pem,
        chain_pem: b.chain_pem,
        check_revocation: b.check_revocation.unwrap_or(true),
    };
    let v = state.authority.validate(&caller, req).await?;
    Ok(Json(ValidationResult {
        valid: v.valid,
        chain_valid: v.chain_valid,
        not_expired: v.not_expired,
        not_revoked: v.not_revoked,
        trusted_anchor: v.trusted_anchor,
        errors: v.errors,
    }))
}

#[derive(Deserialize, ToSchema)]
pub(super) struct RevokeBody {
    serial_number: String,
    /// RFC 5280 reason: unspecified (default), key_compromise, ca_compromise,
    /// affiliation_changed, superseded, cessation_of_operation, certificate_hold,
    /// privilege_withdrawn, aa_compromise.
    reason: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(super) struct Revocation {
    certificate_id: String,
    serial_number: String,
    is_revoked: bool,
    reason: String,
    revoked_at: String,
}

/// Revokes by serial; the issuer's CRL is rebuilt at once.
#[utoipa::path(post, path = "/v1/pki/revoke", tag = "certificates", security(("bearer" = [])), request_body = RevokeBody,
    responses((status = 200, body = Revocation), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn revoke(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<RevokeBody>,
) -> ApiResult<Json<Revocation>> {
    let r = state.authority.revoke(&caller, &b.serial_number, b.reason.as_deref()).await?;
    Ok(Json(Revocation {
        certificate_id: r.certificate_id,
        serial_number: serial_display(&r.serial),
        is_revoked: true,
        reason: r.reason.name().to_owned(),
        revoked_at: rfc3339(r.revoked_at),
    }))
}
