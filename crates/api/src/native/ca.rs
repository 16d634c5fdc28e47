//! `/v1/pki/ca`: create, list and get CAs; CA certificate and CRL downloads.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use certus_authority::{CaView, CrlView, NewCa, serial_display};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::cert_pem;
use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiJson, ApiResult, ErrorBody, OptionalJson};
use crate::time_fmt::rfc3339;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_ca, list_cas))
        .routes(routes!(get_ca))
        .routes(routes!(revoke_ca))
        .routes(routes!(ca_certificate))
        .routes(routes!(ca_certificate_der))
        .routes(routes!(get_crl, regenerate_crl))
        .routes(routes!(get_delta_crl))
}

#[derive(Deserialize, ToSchema)]
pub(super) struct CreateCa {
    /// Tenant-unique name.
    name: String,
    /// Subject CN.
    common_name: String,
    /// `root` or `intermediate`.
    ca_type: String,
    /// Required for intermediates.
    parent_ca_id: Option<String>,
    /// `rsa` (default), `ec` or `ed25519`.
    key_type: Option<String>,
    /// 2048/3072/4096 for RSA (default 2048); 256/384/521 for EC (default 256).
    key_size: Option<u32>,
    /// Default 3650 for roots, 1825 for intermediates.
    validity_days: Option<i64>,
    /// pathLenConstraint of an intermediate (default 0: it signs only end-entity certificates).
    path_length: Option<u8>,
    /// `software` (default; sealed under the key-encryption key) or `pkcs11` (generated on the
    /// server's PKCS#11 token, never exportable; RSA and EC only).
    key_store: Option<String>,
    organization: Option<String>,
    /// Two-letter country code for the subject.
    country: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(super) struct Ca {
    id: String,
    name: String,
    common_name: String,
    ca_type: String,
    parent_ca_id: Option<String>,
    key_type: String,
    key_size: i64,
    /// `software` or `pkcs11`.
    key_store: String,
    serial_number: String,
    path_length: Option<u32>,
    valid_from: String,
    valid_until: String,
    is_active: bool,
    /// Its certificate is revoked: it signs nothing more.
    is_revoked: bool,
    certificates_issued: i64,
    created_at: String,
}

impl From<CaView> for Ca {
    fn from(v: CaView) -> Self {
        let r = v.row;
        Ca {
            id: r.id,
            name: r.name,
            common_name: r.common_name,
            ca_type: r.ca_type,
            parent_ca_id: r.parent_ca_id,
            key_type: r.key_type,
            key_size: r.key_size,
            key_store: r.key_store,
            serial_number: serial_display(&r.serial),
            path_length: v.path_length,
            valid_from: rfc3339(r.valid_from),
            valid_until: rfc3339(r.valid_until),
            is_active: r.is_active && !r.revoked,
            is_revoked: r.revoked,
            certificates_issued: v.certificates_issued,
            created_at: rfc3339(r.created_at),
        }
    }
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RevokeCaBody {
    /// A reason name, as for certificates (default `unspecified`).
    reason: Option<String>,
}

/// Revokes a CA: its certificate is listed in its parent's CRL and OCSP, every certificate it
/// issued is revoked with it (its own CRL stays served), and it signs nothing more.
#[utoipa::path(post, path = "/v1/pki/ca/{id}/revoke", tag = "ca", security(("bearer" = [])), request_body = RevokeCaBody,
    responses((status = 200, body = Ca), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn revoke_ca(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    OptionalJson(b): OptionalJson<RevokeCaBody>,
) -> ApiResult<Json<Ca>> {
    Ok(Json(state.authority.revoke_ca(&caller, &id, b.reason.as_deref()).await?.into()))
}

#[utoipa::path(post, path = "/v1/pki/ca", tag = "ca", security(("bearer" = [])), request_body = CreateCa,
    responses((status = 201, body = Ca), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create_ca(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<CreateCa>,
) -> ApiResult<(StatusCode, Json<Ca>)> {
    let req = NewCa {
        name: b.name,
        common_name: b.common_name,
        ca_type: b.ca_type,
        parent_ca_id: b.parent_ca_id,
        key_type: b.key_type,
        key_size: b.key_size,
        validity_days: b.validity_days,
        path_length: b.path_length,
        key_store: b.key_store,
        organization: b.organization,
        country: b.country,
        ..Default::default()
    };
    let ca = state.authority.create_ca(&caller, req).await?;
    Ok((StatusCode::CREATED, Json(ca.into())))
}

#[derive(Serialize, ToSchema)]
pub(super) struct CaList {
    data: Vec<Ca>,
}

#[utoipa::path(get, path = "/v1/pki/ca", tag = "ca", security(("bearer" = [])), responses((status = 200, body = CaList)))]
async fn list_cas(State(state): State<AppState>, Auth(caller): Auth) -> ApiResult<Json<CaList>> {
    let data = state.authority.list_cas(&caller).await?.into_iter().map(Ca::from).collect();
    Ok(Json(CaList { data }))
}

#[utoipa::path(get, path = "/v1/pki/ca/{id}", tag = "ca", security(("bearer" = [])),
    responses((status = 200, body = Ca), (status = 404, body = ErrorBody)))]
async fn get_ca(State(state): State<AppState>, Auth(caller): Auth, Path(id): Path<String>) -> ApiResult<Json<Ca>> {
    Ok(Json(state.authority.get_ca(&caller, &id).await?.into()))
}

#[derive(Serialize, ToSchema)]
pub(super) struct CaCertificate {
    certificate_pem: String,
}

/// The CA certificate as PEM in JSON. Public: relying parties need no token.
#[utoipa::path(get, path = "/v1/pki/ca/{id}/certificate", tag = "ca",
    responses((status = 200, body = CaCertificate), (status = 404, body = ErrorBody)))]
async fn ca_certificate(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<CaCertificate>> {
    let der = state.authority.public_ca_certificate(&id).await?;
    Ok(Json(CaCertificate { certificate_pem: cert_pem(&der) }))
}

/// The CA certificate as DER (`application/pkix-cert`): the AIA caIssuers target.
#[utoipa::path(get, path = "/v1/pki/ca/{id}/certificate.der", tag = "ca",
    responses((status = 200, content_type = "application/pkix-cert", body = crate::Der), (status = 404, body = ErrorBody)))]
async fn ca_certificate_der(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    let der = state.authority.public_ca_certificate(&id).await?;
    Ok(([(header::CONTENT_TYPE, "application/pkix-cert")], der).into_response())
}

fn wants_pem(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.contains("application/x-pem-file") || v.contains("application/pem-certificate-chain"))
        .unwrap_or(false)
}

fn crl_pem(crl: &CrlView) -> String {
    certus_x509::to_pem(certus_x509::PemLabel::X509Crl, &crl.der)
}

/// A CRL response with HTTP caching: ETag (CRL Number), Last-Modified (thisUpdate) and
/// Cache-Control no longer than nextUpdate or `max_age`; a matching If-None-Match gets 304.
fn crl_response(ca_id: &str, crl: CrlView, headers: &HeaderMap, max_age: i64) -> Response {
    let etag = format!("\"{ca_id}-{}\"", crl.crl_number);
    let age = (crl.next_update - crate::time_fmt::now_secs()).clamp(0, max_age);
    let cache = [
        (header::ETAG, etag.clone()),
        (header::LAST_MODIFIED, crate::time_fmt::http_date(crl.this_update)),
        (header::CACHE_CONTROL, format!("public, max-age={age}")),
    ];
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if matches {
        return (StatusCode::NOT_MODIFIED, cache).into_response();
    }
    if wants_pem(headers) {
        (cache, [(header::CONTENT_TYPE, "application/x-pem-file")], crl_pem(&crl)).into_response()
    } else {
        (cache, [(header::CONTENT_TYPE, "application/pkix-crl")], crl.der).into_response()
    }
}

/// The current complete CRL: DER (`application/pkix-crl`) by default, PEM with
/// `Accept: application/x-pem-file`. Public.
#[utoipa::path(get, path = "/v1/pki/ca/{id}/crl", tag = "ca",
    responses((status = 200, content_type = "application/pkix-crl", body = crate::Der), (status = 304), (status = 404, body = ErrorBody)))]
async fn get_crl(State(state): State<AppState>, Path(id): Path<String>, headers: HeaderMap) -> ApiResult<Response> {
    let crl = state.authority.public_crl(&id).await?;
    Ok(crl_response(&id, crl, &headers, certus_authority::CRL_REFRESH_SECS))
}

/// The current delta CRL (revocations since the complete CRL it names). Public.
#[utoipa::path(get, path = "/v1/pki/ca/{id}/crl/delta", tag = "ca",
    responses((status = 200, content_type = "application/pkix-crl", body = crate::Der), (status = 304), (status = 404, body = ErrorBody)))]
async fn get_delta_crl(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let crl = state.authority.public_delta_crl(&id).await?;
    Ok(crl_response(&id, crl, &headers, 60))
}

#[derive(Serialize, ToSchema)]
pub(super) struct CrlInfo {
    ca_id: String,
    crl_pem: String,
    crl_number: i64,
    this_update: String,
    next_update: String,
}

/// Forces immediate regeneration (otherwise hourly and on every revocation).
#[utoipa::path(post, path = "/v1/pki/ca/{id}/crl", tag = "ca", security(("bearer" = [])),
    responses((status = 200, body = CrlInfo), (status = 404, body = ErrorBody)))]
async fn regenerate_crl(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<CrlInfo>> {
    let crl = state.authority.regenerate_crl(&caller, &id).await?;
    Ok(Json(CrlInfo {
        ca_id: id,
        crl_pem: crl_pem(&crl),
        crl_number: crl.crl_number,
        this_update: rfc3339(crl.this_update),
        next_update: rfc3339(crl.next_update),
    }))
}
