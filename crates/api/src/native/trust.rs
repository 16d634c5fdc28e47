//! `/v1/pki/trust-anchors`: external CA certificates that validation trusts.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use certus_authority::TrustAnchorView;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::cert_pem;
use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiJson, ApiResult, ErrorBody};
use crate::time_fmt::rfc3339;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create, list)).routes(routes!(delete))
}

#[derive(Deserialize, ToSchema)]
pub(super) struct CreateBody {
    name: String,
    certificate_pem: String,
}

#[derive(Serialize, ToSchema)]
pub(super) struct TrustAnchor {
    id: String,
    name: String,
    subject: String,
    not_after: String,
    certificate_pem: String,
    created_at: String,
}

impl From<TrustAnchorView> for TrustAnchor {
    fn from(t: TrustAnchorView) -> Self {
        TrustAnchor {
            certificate_pem: cert_pem(&t.cert_der),
            id: t.id,
            name: t.name,
            subject: t.subject,
            not_after: rfc3339(t.not_after),
            created_at: rfc3339(t.created_at),
        }
    }
}

#[utoipa::path(post, path = "/v1/pki/trust-anchors", tag = "trust-anchors", security(("bearer" = [])), request_body = CreateBody,
    responses((status = 201, body = TrustAnchor), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<CreateBody>,
) -> ApiResult<(StatusCode, Json<TrustAnchor>)> {
    let ta = state.authority.create_trust_anchor(&caller, &b.name, &b.certificate_pem).await?;
    Ok((StatusCode::CREATED, Json(ta.into())))
}

#[derive(Serialize, ToSchema)]
pub(super) struct TrustAnchorList {
    data: Vec<TrustAnchor>,
}

#[utoipa::path(get, path = "/v1/pki/trust-anchors", tag = "trust-anchors", security(("bearer" = [])),
    responses((status = 200, body = TrustAnchorList)))]
async fn list(State(state): State<AppState>, Auth(caller): Auth) -> ApiResult<Json<TrustAnchorList>> {
    let data = state.authority.list_trust_anchors(&caller).await?.into_iter().map(TrustAnchor::from).collect();
    Ok(Json(TrustAnchorList { data }))
}

#[utoipa::path(delete, path = "/v1/pki/trust-anchors/{id}", tag = "trust-anchors", security(("bearer" = [])),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete(State(state): State<AppState>, Auth(caller): Auth, Path(id): Path<String>) -> ApiResult<StatusCode> {
    state.authority.delete_trust_anchor(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
