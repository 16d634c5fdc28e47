//! Health, whoami, and the superuser's tenant and token administration.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use certus_authority::{NewToken, TenantRow, TokenView};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiJson, ApiResult};
use crate::time_fmt::{rfc3339, rfc3339_opt};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(whoami))
        .routes(routes!(create_tenant, list_tenants))
        .routes(routes!(create_token, list_tokens))
        .routes(routes!(revoke_token))
}

#[derive(Serialize, ToSchema)]
pub(super) struct Health {
    status: &'static str,
}

/// Liveness and database reachability; no token needed.
#[utoipa::path(get, path = "/v1/health", tag = "meta", responses((status = 200, body = Health)))]
async fn health(State(state): State<AppState>) -> ApiResult<Json<Health>> {
    state.authority.health().await?;
    Ok(Json(Health { status: "ok" }))
}

#[derive(Serialize, ToSchema)]
pub(super) struct WhoAmI {
    identity_id: String,
    identity_type: &'static str,
    tenant_id: String,
    scopes: Vec<String>,
    superuser: bool,
}

#[utoipa::path(get, path = "/v1/auth/whoami", tag = "meta", security(("bearer" = [])), responses((status = 200, body = WhoAmI)))]
async fn whoami(Auth(caller): Auth) -> Json<WhoAmI> {
    Json(WhoAmI {
        identity_id: caller.token_id.clone(),
        identity_type: "api_token",
        tenant_id: caller.tenant_id.clone(),
        scopes: caller.scopes.iter().map(|s| s.name().to_owned()).collect(),
        superuser: caller.superuser,
    })
}

#[derive(Deserialize, ToSchema)]
pub(super) struct CreateTenant {
    name: String,
}

#[derive(Serialize, ToSchema)]
pub(super) struct Tenant {
    id: String,
    name: String,
    organization_id: String,
    created_at: String,
}

impl From<TenantRow> for Tenant {
    fn from(t: TenantRow) -> Self {
        Tenant { id: t.id, name: t.name, organization_id: t.org_id, created_at: rfc3339(t.created_at) }
    }
}

#[utoipa::path(post, path = "/v1/admin/tenants", tag = "admin", security(("bearer" = [])), request_body = CreateTenant,
    responses((status = 201, body = Tenant), (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
async fn create_tenant(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiJson(body): ApiJson<CreateTenant>,
) -> ApiResult<(StatusCode, Json<Tenant>)> {
    let tenant = state.authority.create_tenant(&caller, &body.name).await?;
    Ok((StatusCode::CREATED, Json(tenant.into())))
}

#[derive(Serialize, ToSchema)]
pub(super) struct TenantList {
    data: Vec<Tenant>,
}

#[utoipa::path(get, path = "/v1/admin/tenants", tag = "admin", security(("bearer" = [])), responses((status = 200, body = TenantList)))]
async fn list_tenants(State(state): State<AppState>, Auth(caller): Auth) -> ApiResult<Json<TenantList>> {
    let data = state.authority.list_tenants(&caller).await?.into_iter().map(Tenant::from).collect();
    Ok(Json(TenantList { data }))
}

#[derive(Deserialize, ToSchema)]
pub(super) struct CreateToken {
    tenant_id: String,
    name: String,
    /// `pki:issue` and/or `pki:admin`.
    scopes: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub(super) struct Token {
    id: String,
    tenant_id: String,
    name: String,
    scopes: Vec<String>,
    superuser: bool,
    created_at: String,
    revoked_at: Option<String>,
    /// The token itself: returned only when it is created.
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<String>,
}

impl From<TokenView> for Token {
    fn from(t: TokenView) -> Self {
        Token {
            id: t.id,
            tenant_id: t.tenant_id,
            name: t.name,
            scopes: t.scopes,
            superuser: t.superuser,
            created_at: rfc3339(t.created_at),
            revoked_at: rfc3339_opt(t.revoked_at),
            token: t.token,
        }
    }
}

#[utoipa::path(post, path = "/v1/admin/tokens", tag = "admin", security(("bearer" = [])), request_body = CreateToken,
    responses((status = 201, body = Token), (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
async fn create_token(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiJson(body): ApiJson<CreateToken>,
) -> ApiResult<(StatusCode, Json<Token>)> {
    let req = NewToken { tenant_id: body.tenant_id, name: body.name, scopes: body.scopes };
    let token = state.authority.create_token(&caller, req).await?;
    Ok((StatusCode::CREATED, Json(token.into())))
}

#[derive(Serialize, ToSchema)]
pub(super) struct TokenList {
    data: Vec<Token>,
}

#[utoipa::path(get, path = "/v1/admin/tokens", tag = "admin", security(("bearer" = [])), responses((status = 200, body = TokenList)))]
async fn list_tokens(State(state): State<AppState>, Auth(caller): Auth) -> ApiResult<Json<TokenList>> {
    let data = state.authority.list_tokens(&caller).await?.into_iter().map(Token::from).collect();
    Ok(Json(TokenList { data }))
}

/// Revokes a token; it stops working at once.
#[utoipa::path(delete, path = "/v1/admin/tokens/{id}", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = Token), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
async fn revoke_token(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Token>> {
    Ok(Json(state.authority.revoke_token(&caller, &id).await?.into()))
}
