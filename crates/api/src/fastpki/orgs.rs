//! `/api/v1/organizations/`: organisations and their members.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{any, get, post};
use axum::{Json, Router};
use certus_authority::FastPkiOrgRow;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{FastPkiAuth, FastPkiJson, FastPkiResult, Ids, UserResponse, to_collection};
use crate::AppState;
use crate::time_fmt::rfc3339;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/organizations/", post(create).get(list))
        .route("/api/v1/organizations", any(to_collection))
        .route("/api/v1/organizations/{id}", get(read).put(update).delete(remove))
        .route("/api/v1/organizations/{id}/users", get(members))
        .route("/api/v1/organizations/{id}/users/{user_id}", post(add_member).delete(remove_member))
}

/// An organisation as the reference shows it.
#[derive(Serialize, ToSchema)]
#[schema(as = OrganizationResponse)]
struct OrgResponse {
    id: i64,
    name: String,
    description: Option<String>,
    /// Beyond the reference: the Certus tenant holding its records, for native API tokens.
    tenant_id: String,
    created_at: String,
    updated_at: String,
}

impl From<&FastPkiOrgRow> for OrgResponse {
    fn from(o: &FastPkiOrgRow) -> Self {
        OrgResponse {
            id: o.id,
            name: o.name.clone(),
            description: o.description.clone(),
            tenant_id: o.tenant_id.clone(),
            created_at: rfc3339(o.created_at),
            updated_at: rfc3339(o.updated_at),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[schema(as = OrganizationCreate)]
struct OrgBody {
    name: String,
    description: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[schema(as = OrganizationUpdate)]
struct OrgPatch {
    name: Option<String>,
    description: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/organizations/", tag = "api-v1", security(("bearer" = [])), request_body = OrgBody, responses((status = 201, body = OrgResponse), super::Errors))]
async fn create(
    State(s): State<AppState>,
    FastPkiAuth(session): FastPkiAuth,
    FastPkiJson(b): FastPkiJson<OrgBody>,
) -> FastPkiResult<(StatusCode, Json<OrgResponse>)> {
    let org = s.authority.create_org(&session.user, &b.name, b.description).await?;
    Ok((StatusCode::CREATED, Json(OrgResponse::from(&org))))
}

#[utoipa::path(get, path = "/api/v1/organizations/", tag = "api-v1", security(("bearer" = [])), responses((status = 200, body = Vec<OrgResponse>), super::Errors))]
async fn list(State(s): State<AppState>, FastPkiAuth(session): FastPkiAuth) -> FastPkiResult<Json<Vec<OrgResponse>>> {
    Ok(Json(s.authority.list_orgs(&session.user).await?.iter().map(OrgResponse::from).collect()))
}

#[utoipa::path(get, path = "/api/v1/organizations/{id}", tag = "api-v1", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 200, body = OrgResponse), super::Errors))]
async fn read(
    State(s): State<AppState>,
    FastPkiAuth(session): FastPkiAuth,
    Ids(id): Ids<i64>,
) -> FastPkiResult<Json<OrgResponse>> {
    Ok(Json(OrgResponse::from(&s.authority.read_org(&session.user, id).await?)))
}

#[utoipa::path(put, path = "/api/v1/organizations/{id}", tag = "api-v1", security(("bearer" = [])), request_body = OrgPatch, params(("id" = i64, Path)), responses((status = 200, body = OrgResponse), super::Errors))]
async fn update(
    State(s): State<AppState>,
    FastPkiAuth(session): FastPkiAuth,
    Ids(id): Ids<i64>,
    FastPkiJson(b): FastPkiJson<OrgPatch>,
) -> FastPkiResult<Json<OrgResponse>> {
    Ok(Json(OrgResponse::from(&s.authority.update_org(&session.user, id, b.name.as_deref(), b.description).await?)))
}

#[utoipa::path(delete, path = "/api/v1/organizations/{id}", tag = "api-v1", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 204), super::Errors))]
async fn remove(
    State(s): State<AppState>,
    FastPkiAuth(session): FastPkiAuth,
    Ids(id): Ids<i64>,
) -> FastPkiResult<StatusCode> {
    s.authority.delete_org(&session.user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/organizations/{id}/users", tag = "api-v1", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 200, body = Vec<UserResponse>), super::Errors))]
async fn members(
    State(s): State<AppState>,
    FastPkiAuth(session): FastPkiAuth,
    Ids(id): Ids<i64>,
) -> FastPkiResult<Json<Vec<UserResponse>>> {
    Ok(Json(s.authority.list_org_users(&session.user, id).await?.iter().map(UserResponse::from).collect()))
}

#[utoipa::path(post, path = "/api/v1/organizations/{id}/users/{user_id}", tag = "api-v1", security(("bearer" = [])), params(("id" = i64, Path), ("user_id" = i64, Path)), responses((status = 200, body = UserResponse), super::Errors))]
async fn add_member(
    State(s): State<AppState>,
    FastPkiAuth(session): FastPkiAuth,
    Ids((id, user_id)): Ids<(i64, i64)>,
) -> FastPkiResult<Json<UserResponse>> {
    Ok(Json(UserResponse::from(&s.authority.add_org_user(&session.user, id, user_id).await?)))
}

#[utoipa::path(delete, path = "/api/v1/organizations/{id}/users/{user_id}", tag = "api-v1", security(("bearer" = [])), params(("id" = i64, Path), ("user_id" = i64, Path)), responses((status = 200, body = UserResponse), super::Errors))]
async fn remove_member(
    State(s): State<AppState>,
    FastPkiAuth(session): FastPkiAuth,
    Ids((id, user_id)): Ids<(i64, i64)>,
) -> FastPkiResult<Json<UserResponse>> {
    Ok(Json(UserResponse::from(&s.authority.remove_org_user(&session.user, id, user_id).await?)))
}
