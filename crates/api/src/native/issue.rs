//! `/v1/pki/issue/{role}`, `/v1/pki/sign/{role}` and `/v1/pki/certificates/{id}/renew`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use certus_authority::{IssueRequest, Issued, SignRequest};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiJson, ApiResult, ErrorBody, OptionalJson};
use crate::time_fmt::rfc3339;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(issue)).routes(routes!(sign)).routes(routes!(renew))
}

#[derive(Deserialize, ToSchema)]
pub(super) struct IssueBody {
    common_name: Option<String>,
    #[serde(default)]
    alt_names: Vec<String>,
    #[serde(default)]
    ip_sans: Vec<String>,
    /// Requested lifetime, e.g. `168h`; capped by the role's max_ttl.
    ttl: Option<String>,
}

/// An issued certificate. `private_key` appears only when Certus generated the key, once.
#[derive(Serialize, ToSchema)]
pub(super) struct IssuedCertificate {
    certificate_id: String,
    certificate: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    private_key: Option<String>,
    ca_chain: Vec<String>,
    serial_number: String,
    not_after: String,
}

impl From<Issued> for IssuedCertificate {
    fn from(i: Issued) -> Self {
        IssuedCertificate {
            certificate_id: i.certificate_id,
            certificate: i.certificate_pem,
            private_key: i.private_key_pem.map(super::document_key_form),
            ca_chain: i.ca_chain,
            serial_number: i.serial_number,
            not_after: rfc3339(i.not_after),
        }
    }
}

/// Issues a certificate with a key generated here. The private key is returned exactly once.
#[utoipa::path(post, path = "/v1/pki/issue/{role}", tag = "issue", security(("bearer" = [])), request_body = IssueBody,
    responses((status = 201, body = IssuedCertificate), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn issue(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(role): Path<String>,
    ApiJson(b): ApiJson<IssueBody>,
) -> ApiResult<(StatusCode, Json<IssuedCertificate>)> {
    let req = IssueRequest { common_name: b.common_name, alt_names: b.alt_names, ip_sans: b.ip_sans, ttl: b.ttl };
    let issued = state.authority.issue(&caller, &role, req).await?;
    Ok((StatusCode::CREATED, Json(issued.into())))
}

#[derive(Deserialize, ToSchema)]
pub(super) struct SignBody {
    csr_pem: String,
    ttl: Option<String>,
    /// Overrides the CSR's CN.
    common_name: Option<String>,
    /// Overrides the CSR's DNS SANs.
    alt_names: Option<Vec<String>>,
    /// Overrides the CSR's IP SANs.
    ip_sans: Option<Vec<String>>,
}

/// Signs a CSR under the role's policy (its self-signature is verified). No private key.
#[utoipa::path(post, path = "/v1/pki/sign/{role}", tag = "issue", security(("bearer" = [])), request_body = SignBody,
    responses((status = 201, body = IssuedCertificate), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn sign(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(role): Path<String>,
    ApiJson(b): ApiJson<SignBody>,
) -> ApiResult<(StatusCode, Json<IssuedCertificate>)> {
    let req = SignRequest {
        csr_pem: b.csr_pem,
        ttl: b.ttl,
        common_name: b.common_name,
        alt_names: b.alt_names,
        ip_sans: b.ip_sans,
    };
    let issued = state.authority.sign_csr(&caller, &role, req).await?;
    Ok((StatusCode::CREATED, Json(issued.into())))
}

#[derive(Deserialize, ToSchema, Default)]
pub(super) struct RenewBody {
    ttl: Option<String>,
}

/// New certificate, same subject and SANs, new key; the old one stays valid until not_after.
#[utoipa::path(post, path = "/v1/pki/certificates/{id}/renew", tag = "issue", security(("bearer" = [])), request_body = RenewBody,
    responses((status = 201, body = IssuedCertificate), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn renew(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    OptionalJson(b): OptionalJson<RenewBody>,
) -> ApiResult<(StatusCode, Json<IssuedCertificate>)> {
    let issued = state.authority.renew(&caller, &id, b.ttl.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(issued.into())))
}
