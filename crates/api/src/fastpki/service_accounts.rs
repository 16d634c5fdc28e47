//! `/api/v1/service-accounts/`: service accounts, their tokens and issuance policies.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{any, delete, get, post};
use axum::{Json, Router};
use certus_authority::{ServiceAccountPatch, ServiceAccountRow, ServiceToken};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{FastPkiAuth, FastPkiError, FastPkiJson, FastPkiResult, Ids, to_collection};
use crate::AppState;
use crate::time_fmt::{rfc3339, rfc3339_opt};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/service-accounts/", post(create).get(list))
        .route("/api/v1/service-accounts", any(to_collection))
        .route("/api/v1/service-accounts/{id}", get(read).patch(update).delete(remove))
        .route("/api/v1/service-accounts/{id}/tokens", post(create_token).get(list_tokens))
        .route("/api/v1/service-accounts/{id}/tokens/{token_id}", delete(revoke_token))
        .route("/api/v1/service-accounts/{id}/policy", get(read_policy).put(put_policy).delete(remove_policy))
}

fn account_json(a: &ServiceAccountRow) -> Value {
    json!({
        "id": a.id,
        "name": a.name,
        "description": a.description,
        "organization_id": a.org_num,
        "can_create_ca": a.can_create_ca,
        "can_create_cert": a.can_create_cert,
        "can_revoke_cert": a.can_revoke_cert,
        "can_export_private_key": a.can_export_private_key,
        "can_delete_ca": a.can_delete_ca,
        "created_by_user_id": a.created_by_user_id,
        "disabled": a.disabled_at.is_some(),
        "disabled_at": rfc3339_opt(a.disabled_at),
        "created_at": rfc3339(a.created_at),
        "updated_at": rfc3339(a.updated_at),
    })
}

fn token_json(t: &ServiceToken) -> Value {
    let mut v = json!({
        "id": t.row.id,
        "service_account_id": t.row.service_account_id,
        "name": t.row.name,
        "public_id": t.row.public_id,
        "created_at": rfc3339(t.row.created_at),
        "last_used_at": rfc3339_opt(t.row.last_used_at),
        "expires_at": rfc3339_opt(t.row.expires_at),
        "revoked": t.row.revoked,
    });
    if let Some(secret) = &t.token {
        v["token"] = json!(secret);
    }
    v
}

#[derive(Deserialize, Default)]
struct AccountBody {
    name: Option<String>,
    description: Option<String>,
    organization_id: Option<i64>,
    disabled: Option<bool>,
    can_create_ca: Option<bool>,
    can_create_cert: Option<bool>,
    can_revoke_cert: Option<bool>,
    can_export_private_key: Option<bool>,
    can_delete_ca: Option<bool>,
}

impl From<AccountBody> for ServiceAccountPatch {
    fn from(b: AccountBody) -> Self {
        ServiceAccountPatch {
            name: b.name,
            description: b.description,
            organization_id: b.organization_id,
            disabled: b.disabled,
            can_create_ca: b.can_create_ca,
            can_create_cert: b.can_create_cert,
            can_revoke_cert: b.can_revoke_cert,
            can_export_private_key: b.can_export_private_key,
            can_delete_ca: b.can_delete_ca,
        }
    }
}

#[utoipa::path(post, path = "/api/v1/service-accounts/", tag = "api-v1", security(("bearer" = [])), request_body = Object, responses((status = 201, body = Object), (status = 401, body = Object), (status = 404, body = Object), (status = 422, body = Object)))]
async fn create(
    State(s): State<AppState>,
    FastPkiAuth(session): FastPkiAuth,
    FastPkiJson(b): FastPkiJson<AccountBody>,
) -> FastPkiResult<(StatusCode, Json<Value>)> {
    if b.name.is_none() {
        return Err(FastPkiError::invalid("name: Field required"));
    }
    let sa = s.authority.create_service_account(&session.user, b.into()).await?;
    Ok((StatusCode::CREATED, Json(account_json(&sa))))
}

#[utoipa::path(get, path = "/api/v1/service-accounts/", tag = "api-v1", security(("bearer" = [])), responses((status = 200, body = Object), (status = 401, body = Object), (status = 404, body = Object), (status = 422, body = Object)))]
async fn list(State(s): State<AppState>, FastPkiAuth(session): FastPkiAuth) -> FastPkiResult<Json<Vec<Value>>> {
    Ok(Json(s.authority.list_service_accounts(&session.user).await?.iter().map(account_json).collect()))
}

#[utoipa::path(get, path = "/api/v1/service-accounts/{id}", tag = "api-v1", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 200, body = Object), (status = 401, body = Object), (status = 404, body = Object), (status = 422, body = Object)))]
async fn read(
    State(s): State<AppState>,
    FastPkiAuth(session): FastPkiAuth,
    Ids(id): Ids<i64>,
) -> FastPkiResult<Json<Value>> {
    Ok(Json(account_json(&s.authority.read_service_account(&session.user, id).await?)))
}

#[utoipa::path(patch, path = "/api/v1/service-accounts/{id}", tag = "api-v1", security(("bearer" = [])), request_body = Object, params(("id" = i64, Path)), responses((status = 200, body = Object), (status = 401, body = Object), (status = 404, body = Object), (status = 422, body = Object)))]
async fn update(
    State(s): State<AppState>,
    FastPkiAuth(session): FastPkiAuth,
    Ids(id): Ids<i64>,
    FastPkiJson(b): FastPkiJson<AccountBody>,
) -> FastPkiResult<Json<Value>> {
    if b.organization_id.is_some() {
        return Err(FastPkiError::invalid("organization_id cannot be changed"));
    }
    Ok(Json(account_json(&s.authority.update_service_account(&session.user, id, b.into()).await?)))
}

#[utoipa::path(delete, path = "/api/v1/service-accounts/{id}", tag = "api-v1", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 204), (status = 401, body = Object), (status = 404, body = Object), (status = 422, body = Object)))]
async fn remove(
    State(s): State<AppState>,
    FastPkiAuth(session): FastPkiAuth,
    Ids(id): Ids<i64>,
) -> FastPkiResult<StatusCode> {
    s.authority.delete_service_account(&session.user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, Default)]
struct TokenBody {
    name: Option<String>,
    expires_at: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/service-accounts/{id}/tokens", tag = "api-v1", security(("bearer" = [])), request_body = Object, params(("id" = i64, Path)), responses((status = 201, body = Object), (status = 401, body = Object), (status = 404, body = Object), (status = 422, body = Object)))]
async fn create_token(
    State(s): State<AppState>,
    FastPkiAuth(session): FastPkiAuth,
    Ids(id): Ids<i64>,
    FastPkiJson(b): FastPkiJson<TokenBody>,
) -> FastPkiResult<(StatusCode, Json<Value>)> {
    let expires_at = super::instant("expires_at", b.expires_at.as_deref())?;
    let token = s.authority.create_service_token(&session.user, id, b.name, expires_at).await?;
    Ok((StatusCode::CREATED, Json(token_json(&token))))
}

#[utoipa::path(get, path = "/api/v1/service-accounts/{id}/tokens", tag = "api-v1", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 200, body = Object), (status = 401, body = Object), (status = 404, body = Object), (status = 422, body = Object)))]
async fn list_tokens(
    State(s): State<AppState>,
    FastPkiAuth(session): FastPkiAuth,
    Ids(id): Ids<i64>,
) -> FastPkiResult<Json<Vec<Value>>> {
    Ok(Json(s.authority.list_service_tokens(&session.user, id).await?.iter().map(token_json).collect()))
}

#[utoipa::path(delete, path = "/api/v1/service-accounts/{id}/tokens/{token_id}", tag = "api-v1", security(("bearer" = [])), params(("id" = i64, Path), ("token_id" = i64, Path)), responses((status = 204), (status = 401, body = Object), (status = 404, body = Object), (status = 422, body = Object)))]
async fn revoke_token(
    State(s): State<AppState>,
    FastPkiAuth(session): FastPkiAuth,
    Ids((id, token_id)): Ids<(i64, i64)>,
) -> FastPkiResult<StatusCode> {
    s.authority.revoke_service_token(&session.user, id, token_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/service-accounts/{id}/policy", tag = "api-v1", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 200, body = Object), (status = 401, body = Object), (status = 404, body = Object), (status = 422, body = Object)))]
async fn read_policy(
    State(s): State<AppState>,
    FastPkiAuth(session): FastPkiAuth,
    Ids(id): Ids<i64>,
) -> FastPkiResult<Json<Value>> {
    Ok(Json(policy_json(&s.authority.issuance_policy(&session.user, id).await?)))
}

/// The policy as the reference shows it: its fields, the account and the record's times.
fn policy_json(v: &certus_authority::IssuancePolicyView) -> Value {
    let mut json = serde_json::to_value(&v.policy).unwrap_or_default();
    json["service_account_id"] = v.service_account_id.into();
    json["created_at"] = crate::time_fmt::rfc3339(v.created_at).into();
    json["updated_at"] = crate::time_fmt::rfc3339(v.updated_at).into();
    json
}

#[utoipa::path(put, path = "/api/v1/service-accounts/{id}/policy", tag = "api-v1", security(("bearer" = [])), request_body = Object, params(("id" = i64, Path)), responses((status = 200, body = Object), (status = 401, body = Object), (status = 404, body = Object), (status = 422, body = Object)))]
async fn put_policy(
    State(s): State<AppState>,
    FastPkiAuth(session): FastPkiAuth,
    Ids(id): Ids<i64>,
    FastPkiJson(b): FastPkiJson<Value>,
) -> FastPkiResult<Json<Value>> {
    Ok(Json(policy_json(&s.authority.put_issuance_policy(&session.user, id, &b).await?)))
}

#[utoipa::path(delete, path = "/api/v1/service-accounts/{id}/policy", tag = "api-v1", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 204), (status = 401, body = Object), (status = 404, body = Object), (status = 422, body = Object)))]
async fn remove_policy(
    State(s): State<AppState>,
    FastPkiAuth(session): FastPkiAuth,
    Ids(id): Ids<i64>,
) -> FastPkiResult<StatusCode> {
    s.authority.delete_issuance_policy(&session.user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
