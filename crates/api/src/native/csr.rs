//! `/v1/pki/csr`: import, generate, review, approve, reject and sign CSRs.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use certus_authority::{CsrView, GenerateCsr};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::issue::IssuedCertificate;
use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiJson, ApiResult, ErrorBody, OptionalJson};
use crate::time_fmt::rfc3339;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(generate))
        .routes(routes!(import))
        .routes(routes!(get_csr))
        .routes(routes!(approve))
        .routes(routes!(reject))
        .routes(routes!(sign))
}

#[derive(Serialize, ToSchema)]
pub(super) struct Csr {
    id: String,
    /// `pending`, `approved`, `rejected` or `signed`.
    status: String,
    common_name: Option<String>,
    sans: Vec<String>,
    key_type: String,
    key_bits: i64,
    csr_pem: String,
    /// True when Certus generated the key; it stays in the KMS.
    key_in_kms: bool,
    reject_reason: Option<String>,
    certificate_id: Option<String>,
    created_at: String,
    updated_at: String,
}

impl From<CsrView> for Csr {
    fn from(v: CsrView) -> Self {
        let r = v.row;
        Csr {
            id: r.id,
            status: r.status,
            common_name: r.common_name,
            sans: r.sans,
            key_type: r.key_type,
            key_bits: r.key_bits,
            csr_pem: v.csr_pem,
            key_in_kms: r.key_id.is_some(),
            reject_reason: r.reject_reason,
            certificate_id: r.certificate_id,
            created_at: rfc3339(r.created_at),
            updated_at: rfc3339(r.updated_at),
        }
    }
}

#[derive(Deserialize, ToSchema, Default)]
pub(super) struct CsrSubject {
    common_name: Option<String>,
    organization: Option<String>,
    country: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub(super) struct GenerateBody {
    #[serde(default)]
    subject: CsrSubject,
    #[serde(default)]
    san_dns: Vec<String>,
    #[serde(default)]
    san_ip: Vec<String>,
    /// `rsa` (default), `ec` or `ed25519`.
    key_type: Option<String>,
    key_size: Option<u32>,
}

/// Generates a key in the KMS and a CSR for it; the key never leaves.
#[utoipa::path(post, path = "/v1/pki/csr", tag = "csr", security(("bearer" = [])), request_body = GenerateBody,
    responses((status = 201, body = Csr), (status = 400, body = ErrorBody)))]
async fn generate(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<GenerateBody>,
) -> ApiResult<(StatusCode, Json<Csr>)> {
    let req = GenerateCsr {
        common_name: b.subject.common_name,
        organization: b.subject.organization,
        country: b.subject.country,
        san_dns: b.san_dns,
        san_ip: b.san_ip,
        key_type: b.key_type,
        key_size: b.key_size,
    };
    Ok((StatusCode::CREATED, Json(state.authority.generate_csr(&caller, req).await?.into())))
}

#[derive(Deserialize, ToSchema)]
pub(super) struct ImportBody {
    csr_pem: String,
}

/// Imports a CSR for review; it starts `pending`.
#[utoipa::path(post, path = "/v1/pki/csr/import", tag = "csr", security(("bearer" = [])), request_body = ImportBody,
    responses((status = 201, body = Csr), (status = 400, body = ErrorBody)))]
async fn import(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<ImportBody>,
) -> ApiResult<(StatusCode, Json<Csr>)> {
    Ok((StatusCode::CREATED, Json(state.authority.import_csr(&caller, &b.csr_pem).await?.into())))
}

#[utoipa::path(get, path = "/v1/pki/csr/{id}", tag = "csr", security(("bearer" = [])),
    responses((status = 200, body = Csr), (status = 404, body = ErrorBody)))]
async fn get_csr(State(state): State<AppState>, Auth(caller): Auth, Path(id): Path<String>) -> ApiResult<Json<Csr>> {
    Ok(Json(state.authority.get_csr(&caller, &id).await?.into()))
}

#[utoipa::path(post, path = "/v1/pki/csr/{id}/approve", tag = "csr", security(("bearer" = [])),
    responses((status = 200, body = Csr), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn approve(State(state): State<AppState>, Auth(caller): Auth, Path(id): Path<String>) -> ApiResult<Json<Csr>> {
    Ok(Json(state.authority.approve_csr(&caller, &id).await?.into()))
}

#[derive(Deserialize, ToSchema, Default)]
pub(super) struct RejectBody {
    reason: Option<String>,
}

#[utoipa::path(post, path = "/v1/pki/csr/{id}/reject", tag = "csr", security(("bearer" = [])), request_body = RejectBody,
    responses((status = 200, body = Csr), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn reject(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    OptionalJson(b): OptionalJson<RejectBody>,
) -> ApiResult<Json<Csr>> {
    Ok(Json(state.authority.reject_csr(&caller, &id, b.reason).await?.into()))
}

#[derive(Deserialize, ToSchema)]
pub(super) struct SignBody {
    ca_id: String,
    /// Default 365.
    validity_days: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub(super) struct SignedCsr {
    csr: Csr,
    #[serde(flatten)]
    certificate: IssuedCertificate,
}

/// Signs an approved CSR against a CA.
#[utoipa::path(post, path = "/v1/pki/csr/{id}/sign", tag = "csr", security(("bearer" = [])), request_body = SignBody,
    responses((status = 201, body = SignedCsr), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn sign(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<SignBody>,
) -> ApiResult<(StatusCode, Json<SignedCsr>)> {
    let (csr, issued) = state.authority.sign_approved_csr(&caller, &id, &b.ca_id, b.validity_days).await?;
    Ok((StatusCode::CREATED, Json(SignedCsr { csr: csr.into(), certificate: issued.into() })))
}
