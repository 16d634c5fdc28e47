//! `/v1/pki/est/labels`: the EST labels of a tenant and their Basic credentials.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use certus_authority::EstLabelRow;
use certus_authority::NewEstLabel;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiJson, ApiResult, ErrorBody, OptionalJson};
use crate::time_fmt::rfc3339;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_label, list_labels))
        .routes(routes!(get_label, delete_label))
        .routes(routes!(create_credential))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct LabelBody {
    /// The URL segment: `/.well-known/est/{label}/…`.
    label: String,
    /// The role whose policy applies (or give `ca_id` and `profile_id`).
    role: Option<String>,
    ca_id: Option<String>,
    profile_id: Option<String>,
    /// Enrollments wait in the CSR approval workflow (`/v1/pki/csr`); devices get 202.
    #[serde(default)]
    require_approval: bool,
    /// A re-enrollment revokes the certificate it replaces, as superseded.
    #[serde(default)]
    revoke_on_reenroll: bool,
    /// Also serve this label at `/.well-known/est/…` (one label at most).
    #[serde(default)]
    default: bool,
}

#[derive(Serialize, ToSchema)]
struct Label {
    label: String,
    role: Option<String>,
    ca_id: Option<String>,
    profile_id: Option<String>,
    require_approval: bool,
    revoke_on_reenroll: bool,
    default: bool,
    /// Where devices enroll.
    est_url: String,
    created_at: String,
}

fn label_json(state: &AppState, r: EstLabelRow) -> Label {
    Label {
        est_url: format!("{}/.well-known/est/{}", state.authority.public_url(), r.label),
        label: r.label,
        role: r.role_name,
        ca_id: r.ca_id,
        profile_id: r.profile_id,
        require_approval: r.require_approval,
        revoke_on_reenroll: r.revoke_on_reenroll,
        default: r.is_default,
        created_at: rfc3339(r.created_at),
    }
}

/// Maps an EST label to a role, or a CA plus issuance profile, of the caller's tenant.
#[utoipa::path(post, path = "/v1/pki/est/labels", tag = "est", security(("bearer" = [])), request_body = LabelBody,
    responses((status = 201, body = Label), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create_label(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<LabelBody>,
) -> ApiResult<(StatusCode, Json<Label>)> {
    let new = NewEstLabel {
        label: b.label,
        role: b.role,
        ca_id: b.ca_id,
        profile_id: b.profile_id,
        require_approval: b.require_approval,
        revoke_on_reenroll: b.revoke_on_reenroll,
        default: b.default,
    };
    let row = state.authority.create_est_label(&caller, new).await?;
    Ok((StatusCode::CREATED, Json(label_json(&state, row))))
}

/// The tenant's EST labels.
#[utoipa::path(get, path = "/v1/pki/est/labels", tag = "est", security(("bearer" = [])),
    responses((status = 200, body = Vec<Label>)))]
async fn list_labels(State(state): State<AppState>, Auth(caller): Auth) -> ApiResult<Json<Vec<Label>>> {
    let rows = state.authority.list_est_labels(&caller).await?;
    Ok(Json(rows.into_iter().map(|r| label_json(&state, r)).collect()))
}

#[utoipa::path(get, path = "/v1/pki/est/labels/{label}", tag = "est", security(("bearer" = [])),
    responses((status = 200, body = Label), (status = 404, body = ErrorBody)))]
async fn get_label(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(label): Path<String>,
) -> ApiResult<Json<Label>> {
    Ok(Json(label_json(&state, state.authority.get_est_label(&caller, &label).await?)))
}

/// Deletes a label with its credentials; its certificates stay.
#[utoipa::path(delete, path = "/v1/pki/est/labels/{label}", tag = "est", security(("bearer" = [])),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_label(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(label): Path<String>,
) -> ApiResult<StatusCode> {
    state.authority.delete_est_label(&caller, &label).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
struct CredentialBody {
    /// Default: a generated one.
    username: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct Credential {
    username: String,
    /// Shown this once; stored as argon2.
    password: String,
}

/// A Basic credential for devices enrolling under the label.
#[utoipa::path(post, path = "/v1/pki/est/labels/{label}/credentials", tag = "est", security(("bearer" = [])),
    request_body = CredentialBody, responses((status = 201, body = Credential), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create_credential(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(label): Path<String>,
    OptionalJson(b): OptionalJson<CredentialBody>,
) -> ApiResult<(StatusCode, Json<Credential>)> {
    let (username, password) = state.authority.create_est_credential(&caller, &label, b.username).await?;
    Ok((StatusCode::CREATED, Json(Credential { username, password })))
}
