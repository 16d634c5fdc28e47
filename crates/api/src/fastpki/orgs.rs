//! `/api/v1/organizations/`: organisations and their members.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{any, get, post};
use axum::{Json, Router};
use certus_authority::FastPkiOrgRow;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{FastPkiAuth, FastPkiJson, FastPkiResult, Ids, to_collection, user_json};
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

fn org_json(o: &FastPkiOrgRow) -> Value {
    json!({
        "id": o.id,
        "name": o.name,
        "description": o.description,
        // Beyond the reference: the Certus tenant holding its records, for native API tokens.
        "tenant_id": o.tenant_id,
        "created_at": rfc3339(o.created_at),
        "updated_at": rfc3339(o.updated_at),
    })
}

#[derive(Deserialize)]
struct OrgBody {
    name: String,
    description: Option<String>,
}

#[derive(Deserialize)]
struct OrgPatch {
    name: Option<String>,
    description: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/organizations/", tag = "api-v1", security(("bearer" = [])), request_body = Object, responses((status = 201, body = Object), (status = 401, body = Object), (status = 404, body = Object), (status = 422, body = Object)))]
async fn create(
    State(s): State<AppState>,
    FastPkiAuth(session): FastPkiAuth,
    FastPkiJson(b): FastPkiJson<OrgBody>,
) -> FastPkiResult<(StatusCode, Json<Value>)> {
    let org = s.authority.create_org(&session.user, &b.name, b.description).await?;
    Ok((StatusCode::CREATED, Json(org_json(&org))))
}

#[utoipa::path(get, path = "/api/v1/organizations/", tag = "api-v1", security(("bearer" = [])), responses((status = 200, body = Object), (status = 401, body = Object), (status = 404, body = Object), (status = 422, body = Object)))]
async fn list(State(s): State<AppState>, FastPkiAuth(session): FastPkiAuth) -> FastPkiResult<Json<Vec<Value>>> {
    Ok(Json(s.authority.list_orgs(&session.user).await?.iter().map(org_json).collect()))
}

#[utoipa::path(get, path = "/api/v1/organizations/{id}", tag = "api-v1", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 200, body = Object), (status = 401, body = Object), (status = 404, body = Object), (status = 422, body = Object)))]
async fn read(
    State(s): State<AppState>,
    FastPkiAuth(session): FastPkiAuth,
    Ids(id): Ids<i64>,
) -> FastPkiResult<Json<Value>> {
    Ok(Json(org_json(&s.authority.read_org(&session.user, id).await?)))
}

#[utoipa::path(put, path = "/api/v1/organizations/{id}", tag = "api-v1", security(("bearer" = [])), request_body = Object, params(("id" = i64, Path)), responses((status = 200, body = Object), (status = 401, body = Object), (status = 404, body = Object), (status = 422, body = Object)))]
async fn update(
    State(s): State<AppState>,
    FastPkiAuth(session): FastPkiAuth,
    Ids(id): Ids<i64>,
    FastPkiJson(b): FastPkiJson<OrgPatch>,
) -> FastPkiResult<Json<Value>> {
    Ok(Json(org_json(&s.authority.update_org(&session.user, id, b.name.as_deref(), b.description).await?)))
}

#[utoipa::path(delete, path = "/api/v1/organizations/{id}", tag = "api-v1", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 204), (status = 401, body = Object), (status = 404, body = Object), (status = 422, body = Object)))]
async fn remove(
    State(s): State<AppState>,
    FastPkiAuth(session): FastPkiAuth,
    Ids(id): Ids<i64>,
) -> FastPkiResult<StatusCode> {
    s.authority.delete_org(&session.user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/organizations/{id}/users", tag = "api-v1", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 200, body = Object), (status = 401, body = Object), (status = 404, body = Object), (status = 422, body = Object)))]
async fn members(
    State(s): State<AppState>,
    FastPkiAuth(session): FastPkiAuth,
    Ids(id): Ids<i64>,
) -> FastPkiResult<Json<Vec<Value>>> {
    Ok(Json(s.authority.list_org_users(&session.user, id).await?.iter().map(user_json).collect()))
}

#[utoipa::path(post, path = "/api/v1/organizations/{id}/users/{user_id}", tag = "api-v1", security(("bearer" = [])), params(("id" = i64, Path), ("user_id" = i64, Path)), responses((status = 200, body = Object), (status = 401, body = Object), (status = 404, body = Object), (status = 422, body = Object)))]
async fn add_member(
    State(s): State<AppState>,
    FastPkiAuth(session): FastPkiAuth,
    Ids((id, user_id)): Ids<(i64, i64)>,
) -> FastPkiResult<Json<Value>> {
    Ok(Json(user_json(&s.authority.add_org_user(&session.user, id, user_id).await?)))
}

#[utoipa::path(delete, path = "/api/v1/organizations/{id}/users/{user_id}", tag = "api-v1", security(("bearer" = [])), params(("id" = i64, Path), ("user_id" = i64, Path)), responses((status = 200, body = Object), (status = 401, body = Object), (status = 404, body = Object), (status = 422, body = Object)))]
async fn remove_member(
    State(s): State<AppState>,
    FastPkiAuth(session): FastPkiAuth,
    Ids((id, user_id)): Ids<(i64, i64)>,
) -> FastPkiResult<Json<Value>> {
    Ok(Json(user_json(&s.authority.remove_org_user(&session.user, id, user_id).await?)))
}
