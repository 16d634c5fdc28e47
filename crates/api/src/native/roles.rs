//! `/v1/pki/roles`: issuance roles.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use certus_authority::policy::format_duration;
use certus_authority::{RolePatch, RoleView};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiJson, ApiResult, ErrorBody};
use crate::time_fmt::rfc3339;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_role, list_roles)).routes(routes!(get_role, update_role, delete_role))
}

/// Role fields. On create, `name` and `ca_id` are required; on PATCH, only given fields change.
#[derive(Deserialize, ToSchema, Default)]
pub(super) struct RoleBody {
    name: Option<String>,
    /// Which CA signs certificates for this role.
    ca_id: Option<String>,
    /// Domain patterns; `*` matches within one label. An empty list allows no names.
    allowed_domains: Option<Vec<String>>,
    /// Allow names below an allowed domain (default false).
    allow_subdomains: Option<bool>,
    /// Allow IP SANs (default false).
    allow_ip_sans: Option<bool>,
    /// Cap on requested TTL, e.g. `720h`.
    max_ttl: Option<String>,
    /// Required key type: `rsa`, `ec`, `ed25519` or `any`. Issued keys use it (default rsa).
    key_type: Option<String>,
    key_bits: Option<u32>,
    /// Reject requests and CSRs without a CN (default true).
    require_cn: Option<bool>,
    /// Keep issued private keys (sealed) for later retrieval (default false).
    store_private_keys: Option<bool>,
    /// An issuance profile (`/api/ca/v1/profiles`) applied on top of the role; "" detaches it.
    profile_id: Option<String>,
}

impl RoleBody {
    fn patch(self) -> (Option<String>, RolePatch) {
        let patch = RolePatch {
            ca_id: self.ca_id,
            allowed_domains: self.allowed_domains,
            allow_subdomains: self.allow_subdomains,
            allow_ip_sans: self.allow_ip_sans,
            max_ttl: self.max_ttl.map(Some),
            key_type: self.key_type.map(Some),
            key_bits: self.key_bits.map(Some),
            require_cn: self.require_cn,
            store_private_keys: self.store_private_keys,
            profile_id: self.profile_id.map(|p| Some(p).filter(|p| !p.is_empty())),
        };
        (self.name, patch)
    }
}

#[derive(Serialize, ToSchema)]
pub(super) struct Role {
    name: String,
    ca_id: String,
    allowed_domains: Vec<String>,
    allow_subdomains: bool,
    allow_ip_sans: bool,
    max_ttl: Option<String>,
    key_type: Option<String>,
    key_bits: Option<i64>,
    require_cn: bool,
    store_private_keys: bool,
    profile_id: Option<String>,
    created_at: String,
    updated_at: String,
}

impl From<RoleView> for Role {
    fn from(r: RoleView) -> Self {
        Role {
            name: r.name,
            ca_id: r.ca_id,
            allowed_domains: r.allowed_domains,
            allow_subdomains: r.allow_subdomains,
            allow_ip_sans: r.allow_ip_sans,
            max_ttl: r.max_ttl_secs.map(format_duration),
            key_type: r.key_type,
            key_bits: r.key_bits,
            require_cn: r.require_cn,
            store_private_keys: r.store_private_keys,
            profile_id: r.profile_id,
            created_at: rfc3339(r.created_at),
            updated_at: rfc3339(r.updated_at),
        }
    }
}

#[utoipa::path(post, path = "/v1/pki/roles", tag = "roles", security(("bearer" = [])), request_body = RoleBody,
    responses((status = 201, body = Role), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create_role(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiJson(body): ApiJson<RoleBody>,
) -> ApiResult<(StatusCode, Json<Role>)> {
    let (name, patch) = body.patch();
    let name = name.ok_or_else(|| crate::error::ApiError::bad_request("name is required"))?;
    let role = state.authority.create_role(&caller, &name, patch).await?;
    Ok((StatusCode::CREATED, Json(role.into())))
}

#[derive(Serialize, ToSchema)]
pub(super) struct RoleList {
    data: Vec<Role>,
}

#[utoipa::path(get, path = "/v1/pki/roles", tag = "roles", security(("bearer" = [])), responses((status = 200, body = RoleList)))]
async fn list_roles(State(state): State<AppState>, Auth(caller): Auth) -> ApiResult<Json<RoleList>> {
    let data = state.authority.list_roles(&caller).await?.into_iter().map(Role::from).collect();
    Ok(Json(RoleList { data }))
}

#[utoipa::path(get, path = "/v1/pki/roles/{name}", tag = "roles", security(("bearer" = [])),
    responses((status = 200, body = Role), (status = 404, body = ErrorBody)))]
async fn get_role(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(name): Path<String>,
) -> ApiResult<Json<Role>> {
    Ok(Json(state.authority.get_role(&caller, &name).await?.into()))
}

#[utoipa::path(patch, path = "/v1/pki/roles/{name}", tag = "roles", security(("bearer" = [])), request_body = RoleBody,
    responses((status = 200, body = Role), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn update_role(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<RoleBody>,
) -> ApiResult<Json<Role>> {
    let (_, patch) = body.patch();
    Ok(Json(state.authority.update_role(&caller, &name, patch).await?.into()))
}

#[utoipa::path(delete, path = "/v1/pki/roles/{name}", tag = "roles", security(("bearer" = [])),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_role(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    state.authority.delete_role(&caller, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}
