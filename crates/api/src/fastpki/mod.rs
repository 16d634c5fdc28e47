//! The `/api/v1` front door (spec: certificates-orgs-capabilities.txt; research: fastpki.md):
//! password login with JWT access tokens and rotating refresh tokens, users, organisations, CAs,
//! certificates, PEM exports, the audit log, and the public `/crl/{slug}` and `/ca/{slug}`
//! downloads. Errors are `{"detail": ...}` (422 with a list for unreadable input); every
//! response carries the reference's security headers.

mod audit;
mod cas;
mod certs;
mod export;
mod orgs;
mod service_accounts;

use std::net::SocketAddr;

use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Form, Json, Router};
use certus_authority::{Authority, DetailValue, ErrorKind, NewUser, Session, TokenPair, UserPatch, UserRow};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, IntoResponses, ToSchema};

use crate::{AppState, BearerAuth};

/// This door's own OpenAPI document (served at `/api/v1/openapi.json`), from the handlers'
/// annotations; errors are `{"detail": ...}` (422 with a list for unreadable input).
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "Certus: the /api/v1 front door (FastPKI's API)",
         description = "Users, organisations, capabilities, CAs, certificates, exports, service accounts and the audit log."),
    modifiers(&BearerAuth),
    components(schemas(ErrorBody)),
    paths(audit::list, cas::create, cas::list, cas::read, cas::remove, cas::move_to_org, cas::private_key, cas::chain, cas::children, certs::create, certs::list, certs::sign_csr, certs::read, certs::private_key, certs::revoke, certs::renew, export::ca_certificate, export::ca_private_key, export::certificate, export::certificate_private_key, export::certificate_chain, export::public_crl, export::public_ca, token, refresh, logout, invalidate, create_user, list_users, me, get_user, patch_user, delete_user, orgs::create, orgs::list, orgs::read, orgs::update, orgs::remove, orgs::members, orgs::add_member, orgs::remove_member, service_accounts::create, service_accounts::list, service_accounts::read, service_accounts::update, service_accounts::remove, service_accounts::create_token, service_accounts::list_tokens, service_accounts::revoke_token, service_accounts::read_policy, service_accounts::put_policy, service_accounts::remove_policy)
)]
pub(crate) struct FastPkiDoc;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .merge(orgs::routes())
        .merge(cas::routes())
        .merge(certs::routes())
        .merge(export::routes())
        .merge(audit::routes())
        .merge(service_accounts::routes())
        .route("/api/v1/auth/token", post(token))
        .route("/api/v1/auth/refresh", post(refresh))
        .route("/api/v1/auth/logout", post(logout))
        .route("/api/v1/auth/invalidate", post(invalidate))
        .route("/api/v1/users/", post(create_user).get(list_users))
        .route("/api/v1/users/me", get(me))
        .route("/api/v1/users/{id}", get(get_user).patch(patch_user).delete(delete_user))
        .route("/api/v1/users", any(to_collection))
        .route("/", get(welcome))
        .layer(axum::middleware::map_response(security_headers))
}

async fn security_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "strict-origin-when-cross-origin"),
        ("cache-control", "no-store"),
        ("strict-transport-security", "max-age=63072000; includeSubDomains"),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    res
}

/// The reference's liveness check is `GET /` (it has no health route).
async fn welcome() -> Json<Value> {
    Json(json!({ "message": "Welcome to Certus - PKI server (FastPKI-compatible API under /api/v1)." }))
}

/// FastAPI answers a collection path without its trailing slash with a 307 to the slash form.
async fn to_collection(uri: axum::http::Uri) -> Response {
    let target = match uri.query() {
        Some(q) => format!("{}/?{q}", uri.path()),
        None => format!("{}/", uri.path()),
    };
    (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, target)]).into_response()
}

/// An error in this front door's shape.
pub(crate) struct FastPkiError(StatusCode, Value);

/// The reference's error body. `detail` is a message, FastAPI's list of `{type, loc, msg}` for
/// unreadable input, or `{code, message?, field?, value?}` for the coded renewal and policy errors.
#[derive(Serialize, ToSchema)]
#[schema(as = HTTPError)]
pub(crate) struct ErrorBody {
    detail: Value,
}

/// The errors an operation of this door may answer (for the OpenAPI document only).
#[derive(IntoResponses)]
#[allow(dead_code)] // never built: `FastPkiError` answers, `ErrorBody` is its shape
pub(crate) enum Errors {
    #[response(status = 400, description = "Refused by policy")]
    BadRequest(ErrorBody),
    #[response(status = 401, description = "Not authenticated")]
    Unauthorized(ErrorBody),
    #[response(status = 403, description = "Not allowed")]
    Forbidden(ErrorBody),
    #[response(status = 404, description = "Not found")]
    NotFound(ErrorBody),
    #[response(status = 409, description = "Conflicts with what is stored")]
    Conflict(ErrorBody),
    #[response(status = 422, description = "Invalid input")]
    Invalid(ErrorBody),
}

pub(crate) type FastPkiResult<T> = Result<T, FastPkiError>;

impl FastPkiError {
    pub(crate) fn detail(status: StatusCode, message: impl Into<String>) -> Self {
        FastPkiError(status, json!(message.into()))
    }

    /// 422, as FastAPI reports unreadable or invalid input.
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        FastPkiError(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!([{ "type": "value_error", "loc": ["body"], "msg": message.into() }]),
        )
    }
}

impl IntoResponse for FastPkiError {
    fn into_response(self) -> Response {
        let mut res = (self.0, Json(ErrorBody { detail: self.1 })).into_response();
        if self.0 == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        res
    }
}

impl From<certus_authority::Error> for FastPkiError {
    fn from(e: certus_authority::Error) -> Self {
        certus_authority::note_error(e.kind);
        let status = match e.kind {
            ErrorKind::Malformed => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::Policy => StatusCode::BAD_REQUEST,
            ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorKind::Forbidden => StatusCode::FORBIDDEN,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::Unavailable => return FastPkiError::detail(StatusCode::SERVICE_UNAVAILABLE, e.message),
            _ => {
                tracing::error!(error = %e.message, "internal error");
                return FastPkiError::detail(StatusCode::INTERNAL_SERVER_ERROR, "internal error");
            }
        };
        match (e.detail, e.kind) {
            // Errors the documents give a structured detail (codes of renewal and policies).
            (Some(d), _) => {
                let mut detail = serde_json::json!({ "code": d.code });
                if d.with_message {
                    detail["message"] = e.message.into();
                }
                if let Some(field) = d.field {
                    detail["field"] = field.into();
                }
                match d.value {
                    Some(DetailValue::Number(n)) => detail["value"] = n.into(),
                    Some(DetailValue::Text(t)) => detail["value"] = t.into(),
                    None => {}
                }
                FastPkiError(status, detail)
            }
            (None, ErrorKind::Malformed) => FastPkiError::invalid(e.message),
            (None, _) => FastPkiError::detail(status, e.message),
        }
    }
}

/// A JSON body whose read errors are this front door's 422.
pub(crate) struct FastPkiJson<T>(pub T);

impl<T: DeserializeOwned> axum::extract::FromRequest<AppState> for FastPkiJson<T> {
    type Rejection = FastPkiError;

    async fn from_request(req: axum::extract::Request, state: &AppState) -> Result<Self, FastPkiError> {
        let bytes = axum::body::Bytes::from_request(req, state).await.map_err(|e| match e.status() {
            StatusCode::PAYLOAD_TOO_LARGE => FastPkiError::detail(e.status(), e.body_text()),
            _ => FastPkiError::invalid(format!("unreadable body: {e}")),
        })?;
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(de).map(FastPkiJson).map_err(|e| {
            let field = e.path().to_string();
            let loc: Vec<Value> = std::iter::once("body")
                .chain(field.split('.').filter(|f| !f.is_empty() && *f != "?"))
                .map(Value::from)
                .collect();
            let msg = if field == "." { e.into_inner().to_string() } else { format!("{field}: {}", e.into_inner()) };
            FastPkiError(StatusCode::UNPROCESSABLE_ENTITY, json!([{ "type": "value_error", "loc": loc, "msg": msg }]))
        })
    }
}

/// The signed-in user behind `Authorization: Bearer <JWT>`.
pub(crate) struct FastPkiAuth(pub Session);

impl FromRequestParts<AppState> for FastPkiAuth {
    type Rejection = FastPkiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, FastPkiError> {
        let token = crate::auth::bearer_token(parts)
            .ok_or_else(|| FastPkiError::detail(StatusCode::UNAUTHORIZED, "Not authenticated"))?;
        Ok(FastPkiAuth(state.authority.session_of(token).await?))
    }
}

/// Who calls a CA, certificate or export route: a signed-in user, or a service account by its
/// `fpki_sa_…` token.
pub(crate) struct FastPkiPrincipal(pub UserRow);

impl FromRequestParts<AppState> for FastPkiPrincipal {
    type Rejection = FastPkiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, FastPkiError> {
        let token = crate::auth::bearer_token(parts)
            .ok_or_else(|| FastPkiError::detail(StatusCode::UNAUTHORIZED, "Not authenticated"))?;
        if Authority::is_service_token(token) {
            return Ok(FastPkiPrincipal(state.authority.service_principal(token).await?));
        }
        Ok(FastPkiPrincipal(state.authority.session_of(token).await?.user))
    }
}

/// Sign-in is optional: a missing or invalid token is an anonymous caller (as the reference
/// treats user registration).
struct MaybeFastPkiAuth(Option<Session>);

impl FromRequestParts<AppState> for MaybeFastPkiAuth {
    type Rejection = FastPkiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, FastPkiError> {
        Ok(match crate::auth::bearer_token(parts) {
            Some(token) => MaybeFastPkiAuth(state.authority.session_of(token).await.ok()),
            None => MaybeFastPkiAuth(None),
        })
    }
}

#[derive(Deserialize, ToSchema)]
struct LoginForm {
    username: String,
    password: String,
}

/// A signed-in session: a short-lived JWT and the refresh token that rotates it.
#[derive(Serialize, ToSchema)]
struct Token {
    access_token: String,
    refresh_token: String,
    /// Always `bearer`.
    token_type: &'static str,
}

fn pair_json(p: TokenPair) -> Json<Token> {
    Json(Token { access_token: p.access_token, refresh_token: p.refresh_token, token_type: "bearer" })
}

/// The rate limit counts every attempt, before the form is read.
#[utoipa::path(post, path = "/api/v1/auth/token", tag = "api-v1", request_body(content = LoginForm, content_type = "application/x-www-form-urlencoded"), responses((status = 200, body = Token), Errors))]
async fn token(
    State(s): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Result<Response, FastPkiError> {
    if !s.authority.login_allowed(&peer.ip().to_string(), s.logins_per_minute).await? {
        let limit = s.logins_per_minute;
        let body = json!({ "error": format!("Rate limit exceeded: {limit} per 1 minute") });
        return Ok((StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response());
    }
    let Form(f) =
        form.map_err(|e| FastPkiError::invalid(format!("the body must be a form with username and password: {e}")))?;
    Ok(pair_json(s.authority.login(&f.username, &f.password).await?).into_response())
}

#[derive(Deserialize, ToSchema)]
struct RefreshBody {
    refresh_token: String,
}

#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "api-v1", request_body = RefreshBody, responses((status = 200, body = Token), Errors))]
async fn refresh(State(s): State<AppState>, FastPkiJson(b): FastPkiJson<RefreshBody>) -> FastPkiResult<Json<Token>> {
    Ok(pair_json(s.authority.refresh_session(&b.refresh_token).await?))
}

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "api-v1", security(("bearer" = [])), request_body = RefreshBody, responses((status = 204), Errors))]
async fn logout(
    State(s): State<AppState>,
    FastPkiAuth(session): FastPkiAuth,
    FastPkiJson(b): FastPkiJson<RefreshBody>,
) -> FastPkiResult<StatusCode> {
    s.authority.logout(&session, &b.refresh_token).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/auth/invalidate", tag = "api-v1", security(("bearer" = [])), responses((status = 204), Errors))]
async fn invalidate(State(s): State<AppState>, FastPkiAuth(session): FastPkiAuth) -> FastPkiResult<StatusCode> {
    s.authority.invalidate_sessions(&session).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[schema(as = UserCreate)]
struct UserBody {
    username: String,
    email: String,
    password: String,
    role: Option<String>,
    is_active: Option<bool>,
    organization_id: Option<i64>,
    #[serde(default)]
    can_create_ca: bool,
    #[serde(default)]
    can_create_cert: bool,
    #[serde(default)]
    can_revoke_cert: bool,
    #[serde(default)]
    can_export_private_key: bool,
    #[serde(default)]
    can_delete_ca: bool,
}

/// A user as the reference shows it.
#[derive(Serialize, ToSchema)]
#[schema(as = UserResponse)]
pub(crate) struct UserResponse {
    id: i64,
    username: String,
    email: String,
    /// `superuser`, `admin` or `user`.
    role: String,
    is_active: bool,
    organization_id: Option<i64>,
    can_create_ca: bool,
    can_create_cert: bool,
    can_revoke_cert: bool,
    can_export_private_key: bool,
    can_delete_ca: bool,
    created_at: String,
    updated_at: String,
}

impl From<&UserRow> for UserResponse {
    fn from(u: &UserRow) -> Self {
        UserResponse {
            id: u.id,
            username: u.username.clone(),
            email: u.email.clone(),
            role: u.role.clone(),
            is_active: u.is_active,
            organization_id: u.org_num,
            can_create_ca: u.can_create_ca,
            can_create_cert: u.can_create_cert,
            can_revoke_cert: u.can_revoke_cert,
            can_export_private_key: u.can_export_private_key,
            can_delete_ca: u.can_delete_ca,
            created_at: crate::time_fmt::rfc3339(u.created_at),
            updated_at: crate::time_fmt::rfc3339(u.updated_at),
        }
    }
}

#[utoipa::path(post, path = "/api/v1/users/", tag = "api-v1", request_body = UserBody, responses((status = 201, body = UserResponse), Errors))]
async fn create_user(
    State(s): State<AppState>,
    MaybeFastPkiAuth(session): MaybeFastPkiAuth,
    FastPkiJson(b): FastPkiJson<UserBody>,
) -> FastPkiResult<(StatusCode, Json<UserResponse>)> {
    let new = NewUser {
        username: b.username,
        email: b.email,
        password: b.password,
        role: b.role,
        is_active: b.is_active,
        can_create_ca: b.can_create_ca,
        can_create_cert: b.can_create_cert,
        can_revoke_cert: b.can_revoke_cert,
        can_export_private_key: b.can_export_private_key,
        can_delete_ca: b.can_delete_ca,
        organization_id: b.organization_id,
    };
    let user = s.authority.create_user(session.as_ref().map(|s| &s.user), new).await?;
    Ok((StatusCode::CREATED, Json(UserResponse::from(&user))))
}

#[utoipa::path(get, path = "/api/v1/users/me", tag = "api-v1", security(("bearer" = [])), responses((status = 200, body = UserResponse), Errors))]
async fn me(FastPkiAuth(session): FastPkiAuth) -> Json<UserResponse> {
    Json(UserResponse::from(&session.user))
}

/// Paging, read as text so that a bad number is FastAPI's 422.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct Page {
    #[param(value_type = Option<i64>)]
    skip: Option<String>,
    #[param(value_type = Option<i64>)]
    limit: Option<String>,
}

/// An ISO-8601 time; without an offset it is UTC (as the reference stores times).
pub(crate) fn instant(field: &str, text: Option<&str>) -> FastPkiResult<Option<i64>> {
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;
    let Some(text) = text else { return Ok(None) };
    OffsetDateTime::parse(text, &Rfc3339)
        .or_else(|_| OffsetDateTime::parse(&format!("{text}Z"), &Rfc3339))
        .map(|t| Some(t.unix_timestamp()))
        .map_err(|_| FastPkiError::invalid(format!("{field}: Input should be a valid datetime")))
}

/// Integer ids from the path (one id, or a tuple of them); one that is not an integer is FastAPI's
/// 422.
pub(crate) struct Ids<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for Ids<T> {
    type Rejection = FastPkiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, FastPkiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(ids)) => Ok(Ids(ids)),
            Err(e) => Err(FastPkiError::invalid(format!("path: {}", e.body_text()))),
        }
    }
}

/// The `valid_days` a response shows: what was asked, or the days the certificate actually got
/// when its issuer's life cut it short.
pub(crate) fn given_days(asked: i64, not_before: i64, not_after: i64) -> i64 {
    asked.min((not_after - not_before) / 86_400)
}

/// An integer from the query; FastAPI reports a bad one as a 422.
pub(crate) fn int(field: &str, text: Option<&str>, default: i64) -> FastPkiResult<i64> {
    text.map_or(Ok(default), |t| t.parse().map_err(|_| FastPkiError::invalid(format!("{field} must be an integer"))))
}

#[utoipa::path(get, path = "/api/v1/users/", tag = "api-v1", security(("bearer" = [])), params(Page), responses((status = 200, body = Vec<UserResponse>), Errors))]
async fn list_users(
    State(s): State<AppState>,
    FastPkiAuth(session): FastPkiAuth,
    Query(p): Query<Page>,
) -> FastPkiResult<Json<Vec<UserResponse>>> {
    let (skip, limit) = (int("skip", p.skip.as_deref(), 0)?, int("limit", p.limit.as_deref(), 100)?);
    let users = s.authority.list_users(&session.user, skip, limit).await?;
    Ok(Json(users.iter().map(UserResponse::from).collect()))
}

#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "api-v1", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 200, body = UserResponse), Errors))]
async fn get_user(
    State(s): State<AppState>,
    FastPkiAuth(session): FastPkiAuth,
    Ids(id): Ids<i64>,
) -> FastPkiResult<Json<UserResponse>> {
    Ok(Json(UserResponse::from(&s.authority.read_user(&session.user, id).await?)))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = UserUpdate)]
struct PatchBody {
    email: Option<String>,
    password: Option<String>,
    role: Option<String>,
    is_active: Option<bool>,
    organization_id: Option<i64>,
    can_create_ca: Option<bool>,
    can_create_cert: Option<bool>,
    can_revoke_cert: Option<bool>,
    can_export_private_key: Option<bool>,
    can_delete_ca: Option<bool>,
}

#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "api-v1", security(("bearer" = [])), request_body = PatchBody, params(("id" = i64, Path)), responses((status = 200, body = UserResponse), Errors))]
async fn patch_user(
    State(s): State<AppState>,
    FastPkiAuth(session): FastPkiAuth,
    Ids(id): Ids<i64>,
    FastPkiJson(b): FastPkiJson<PatchBody>,
) -> FastPkiResult<Json<UserResponse>> {
    let patch = UserPatch {
        email: b.email,
        password: b.password,
        role: b.role,
        is_active: b.is_active,
        can_create_ca: b.can_create_ca,
        can_create_cert: b.can_create_cert,
        can_revoke_cert: b.can_revoke_cert,
        can_export_private_key: b.can_export_private_key,
        can_delete_ca: b.can_delete_ca,
        organization_id: b.organization_id,
    };
    Ok(Json(UserResponse::from(&s.authority.patch_user(&session.user, id, patch).await?)))
}

#[utoipa::path(delete, path = "/api/v1/users/{id}", tag = "api-v1", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 204), Errors))]
async fn delete_user(
    State(s): State<AppState>,
    FastPkiAuth(session): FastPkiAuth,
    Ids(id): Ids<i64>,
) -> FastPkiResult<StatusCode> {
    s.authority.delete_user(&session.user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
