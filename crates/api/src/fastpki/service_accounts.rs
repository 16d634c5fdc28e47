//! `/api/v1/service-accounts/`: service accounts, their tokens and issuance policies.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{any, delete, get, post};
use axum::{Json, Router};
use certus_authority::{IssuancePolicy, IssuancePolicyView, ServiceAccountPatch, ServiceAccountRow, ServiceToken};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

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

/// A service account as the reference shows it.
#[derive(Serialize, ToSchema)]
#[schema(as = ServiceAccountResponse)]
struct AccountResponse {
    id: i64,
    name: String,
    description: Option<String>,
    organization_id: Option<i64>,
    can_create_ca: bool,
    can_create_cert: bool,
    can_revoke_cert: bool,
    can_export_private_key: bool,
    can_delete_ca: bool,
    created_by_user_id: Option<i64>,
    disabled: bool,
    disabled_at: Option<String>,
    created_at: String,
    updated_at: String,
}

impl From<&ServiceAccountRow> for AccountResponse {
    fn from(a: &ServiceAccountRow) -> Self {
        AccountResponse {
            id: a.id,
            name: a.name.clone(),
            description: a.description.clone(),
            organization_id: a.org_num,
            can_create_ca: a.can_create_ca,
            can_create_cert: a.can_create_cert,
            can_revoke_cert: a.can_revoke_cert,
            can_export_private_key: a.can_export_private_key,
            can_delete_ca: a.can_delete_ca,
            created_by_user_id: a.created_by_user_id,
            disabled: a.disabled_at.is_some(),
            disabled_at: rfc3339_opt(a.disabled_at),
            created_at: rfc3339(a.created_at),
            updated_at: rfc3339(a.updated_at),
        }
    }
}

/// A service-account token; the secret `token` only in the answer that made it.
#[derive(Serialize, ToSchema)]
#[schema(as = ServiceAccountTokenResponse)]
struct TokenResponse {
    id: i64,
    service_account_id: i64,
    name: Option<String>,
    public_id: String,
    created_at: String,
    last_used_at: Option<String>,
    expires_at: Option<String>,
    revoked: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<String>,
}

impl From<&ServiceToken> for TokenResponse {
    fn from(t: &ServiceToken) -> Self {
        TokenResponse {
            id: t.row.id,
            service_account_id: t.row.service_account_id,
            name: t.row.name.clone(),
            public_id: t.row.public_id.clone(),
            created_at: rfc3339(t.row.created_at),
            last_used_at: rfc3339_opt(t.row.last_used_at),
            expires_at: rfc3339_opt(t.row.expires_at),
            revoked: t.row.revoked,
            token: t.token.clone(),
        }
    }
}

/// A policy as the reference shows it: its fields, the account and the record's times. (The
/// fields are spelt out: a flattened `IssuancePolicy`, which refuses unknown fields, would
/// describe this answer as having no others.)
#[derive(Serialize, ToSchema)]
#[schema(as = IssuancePolicyResponse)]
struct PolicyResponse {
    cn_patterns: Vec<String>,
    san_dns_patterns: Vec<String>,
    san_ip_cidrs: Vec<String>,
    san_email_domains: Vec<String>,
    allowed_ca_ids: Vec<i64>,
    allowed_certificate_types: Vec<String>,
    max_validity_days: i64,
    service_account_id: i64,
    created_at: String,
    updated_at: String,
}

impl From<IssuancePolicyView> for PolicyResponse {
    fn from(v: IssuancePolicyView) -> Self {
        let p = v.policy;
        PolicyResponse {
            cn_patterns: p.cn_patterns,
            san_dns_patterns: p.san_dns_patterns,
            san_ip_cidrs: p.san_ip_cidrs,
            san_email_domains: p.san_email_domains,
            allowed_ca_ids: p.allowed_ca_ids,
            allowed_certificate_types: p.allowed_certificate_types,
            max_validity_days: p.max_validity_days,
            service_account_id: v.service_account_id,
            created_at: rfc3339(v.created_at),
            updated_at: rfc3339(v.updated_at),
        }
    }
}

#[derive(Deserialize, Default, ToSchema)]
#[schema(as = ServiceAccountCreate)]
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

#[utoipa::path(post, path = "/api/v1/service-accounts/", tag = "api-v1", security(("bearer" = [])), request_body = AccountBody, responses((status = 201, body = AccountResponse), super::Errors))]
async fn create(
    State(s): State<AppState>,
    FastPkiAuth(session): FastPkiAuth,
    FastPkiJson(b): FastPkiJson<AccountBody>,
) -> FastPkiResult<(StatusCode, Json<AccountResponse>)> {
    if b.name.is_none() {
        return Err(FastPkiError::invalid("name: Field required"));
    }
    let sa = s.authority.create_service_account(&session.user, b.into()).await?;
    Ok((StatusCode::CREATED, Json(AccountResponse::from(&sa))))
}

#[utoipa::path(get, path = "/api/v1/service-accounts/", tag = "api-v1", security(("bearer" = [])), responses((status = 200, body = Vec<AccountResponse>), super::Errors))]
async fn list(
    State(s): State<AppState>,
    FastPkiAuth(session): FastPkiAuth,
) -> FastPkiResult<Json<Vec<AccountResponse>>> {
    Ok(Json(s.authority.list_service_accounts(&session.user).await?.iter().map(AccountResponse::from).collect()))
}

#[utoipa::path(get, path = "/api/v1/service-accounts/{id}", tag = "api-v1", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 200, body = AccountResponse), super::Errors))]
async fn read(
    State(s): State<AppState>,
    FastPkiAuth(session): FastPkiAuth,
    Ids(id): Ids<i64>,
) -> FastPkiResult<Json<AccountResponse>> {
    Ok(Json(AccountResponse::from(&s.authority.read_service_account(&session.user, id).await?)))
}

#[utoipa::path(patch, path = "/api/v1/service-accounts/{id}", tag = "api-v1", security(("bearer" = [])), request_body = AccountBody, params(("id" = i64, Path)), responses((status = 200, body = AccountResponse), super::Errors))]
async fn update(
    State(s): State<AppState>,
    FastPkiAuth(session): FastPkiAuth,
    Ids(id): Ids<i64>,
    FastPkiJson(b): FastPkiJson<AccountBody>,
) -> FastPkiResult<Json<AccountResponse>> {
    if b.organization_id.is_some() {
        return Err(FastPkiError::invalid("organization_id cannot be changed"));
    }
    Ok(Json(AccountResponse::from(&s.authority.update_service_account(&session.user, id, b.into()).await?)))
}

#[utoipa::path(delete, path = "/api/v1/service-accounts/{id}", tag = "api-v1", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 204), super::Errors))]
async fn remove(
    State(s): State<AppState>,
    FastPkiAuth(session): FastPkiAuth,
    Ids(id): Ids<i64>,
) -> FastPkiResult<StatusCode> {
    s.authority.delete_service_account(&session.user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, Default, ToSchema)]
#[schema(as = ServiceAccountTokenCreate)]
struct TokenBody {
    name: Option<String>,
    expires_at: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/service-accounts/{id}/tokens", tag = "api-v1", security(("bearer" = [])), request_body = TokenBody, params(("id" = i64, Path)), responses((status = 201, body = TokenResponse), super::Errors))]
async fn create_token(
    State(s): State<AppState>,
    FastPkiAuth(session): FastPkiAuth,
    Ids(id): Ids<i64>,
    FastPkiJson(b): FastPkiJson<TokenBody>,
) -> FastPkiResult<(StatusCode, Json<TokenResponse>)> {
    let expires_at = super::instant("expires_at", b.expires_at.as_deref())?;
    let token = s.authority.create_service_token(&session.user, id, b.name, expires_at).await?;
    Ok((StatusCode::CREATED, Json(TokenResponse::from(&token))))
}

#[utoipa::path(get, path = "/api/v1/service-accounts/{id}/tokens", tag = "api-v1", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 200, body = Vec<TokenResponse>), super::Errors))]
async fn list_tokens(
    State(s): State<AppState>,
    FastPkiAuth(session): FastPkiAuth,
    Ids(id): Ids<i64>,
) -> FastPkiResult<Json<Vec<TokenResponse>>> {
    Ok(Json(s.authority.list_service_tokens(&session.user, id).await?.iter().map(TokenResponse::from).collect()))
}

#[utoipa::path(delete, path = "/api/v1/service-accounts/{id}/tokens/{token_id}", tag = "api-v1", security(("bearer" = [])), params(("id" = i64, Path), ("token_id" = i64, Path)), responses((status = 204), super::Errors))]
async fn revoke_token(
    State(s): State<AppState>,
    FastPkiAuth(session): FastPkiAuth,
    Ids((id, token_id)): Ids<(i64, i64)>,
) -> FastPkiResult<StatusCode> {
    s.authority.revoke_service_token(&session.user, id, token_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/service-accounts/{id}/policy", tag = "api-v1", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 200, body = PolicyResponse), super::Errors))]
async fn read_policy(
    State(s): State<AppState>,
    FastPkiAuth(session): FastPkiAuth,
    Ids(id): Ids<i64>,
) -> FastPkiResult<Json<PolicyResponse>> {
    Ok(Json(s.authority.issuance_policy(&session.user, id).await?.into()))
}

#[utoipa::path(put, path = "/api/v1/service-accounts/{id}/policy", tag = "api-v1", security(("bearer" = [])), request_body = IssuancePolicy, params(("id" = i64, Path)), responses((status = 200, body = PolicyResponse), super::Errors))]
async fn put_policy(
    State(s): State<AppState>,
    FastPkiAuth(session): FastPkiAuth,
    Ids(id): Ids<i64>,
    FastPkiJson(b): FastPkiJson<Value>,
) -> FastPkiResult<Json<PolicyResponse>> {
    Ok(Json(s.authority.put_issuance_policy(&session.user, id, &b).await?.into()))
}

#[utoipa::path(delete, path = "/api/v1/service-accounts/{id}/policy", tag = "api-v1", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 204), super::Errors))]
async fn remove_policy(
    State(s): State<AppState>,
    FastPkiAuth(session): FastPkiAuth,
    Ids(id): Ids<i64>,
) -> FastPkiResult<StatusCode> {
    s.authority.delete_issuance_policy(&session.user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
