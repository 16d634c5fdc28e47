//! The `/api/ca/v1` front door (spec: issuance-profiles.txt): issuance profiles, with that
//! product's list query (`page_size`, `bookmark`, `sort_by`, `sort_mode`, repeated `filter`) and
//! its error shape `{"err": "..."}`.

use axum::Json;
use axum::extract::{FromRequestParts, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use certus_authority::{Caller, Error, ErrorKind, ListQuery};
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(get_one, update, delete))
}

/// This front door's errors: `{"err": "..."}`.
pub struct CaError(StatusCode, String);

impl From<Error> for CaError {
    fn from(e: Error) -> Self {
        let status = match e.kind {
            ErrorKind::Malformed | ErrorKind::Policy => StatusCode::BAD_REQUEST,
            ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorKind::Forbidden => StatusCode::FORBIDDEN,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        CaError(status, e.message)
    }
}

impl IntoResponse for CaError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "err": self.1 }))).into_response()
    }
}

type CaResult<T> = Result<T, CaError>;

/// The bearer token, with this front door's error shape.
pub struct CaAuth(Caller);

impl FromRequestParts<AppState> for CaAuth {
    type Rejection = CaError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let bearer = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        Ok(CaAuth(state.authority.authenticate(bearer).await?))
    }
}

/// A JSON body whose rejection is `{"err": ...}` with 400.
pub struct CaJson(Value);

impl<S: Send + Sync> axum::extract::FromRequest<S> for CaJson {
    type Rejection = CaError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        axum::Json::<Value>::from_request(req, state)
            .await
            .map(|Json(v)| CaJson(v))
            .map_err(|e| CaError(StatusCode::BAD_REQUEST, e.body_text()))
    }
}

fn list_query(raw: Option<String>) -> ListQuery {
    let mut q = ListQuery::default();
    for (k, v) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        match &*k {
            "page_size" => q.page_size = Some(v.into_owned()),
            "bookmark" => q.bookmark = Some(v.into_owned()),
            "sort_by" => q.sort_by = Some(v.into_owned()),
            "sort_mode" => q.sort_mode = Some(v.into_owned()),
            "filter" => q.filters.push(v.into_owned()),
            _ => {}
        }
    }
    q
}

/// Issuance profiles, a page at a time: `{"list": [...], "next": "<bookmark or empty>"}`.
#[utoipa::path(get, path = "/api/ca/v1/profiles", tag = "profiles", security(("bearer" = [])),
    params(("page_size" = Option<u32>, Query, description = "default 25, at most 100"),
           ("bookmark" = Option<String>, Query, description = "`next` of the previous page"),
           ("sort_by" = Option<String>, Query), ("sort_mode" = Option<String>, Query, description = "asc or desc"),
           ("filter" = Option<String>, Query, description = "field[op]value, repeatable; ops eq ne contains gt ge lt le before after")),
    responses((status = 200, body = Object), (status = 400, body = Object)))]
async fn list(State(state): State<AppState>, CaAuth(caller): CaAuth, RawQuery(raw): RawQuery) -> CaResult<Json<Value>> {
    let (list, next) = state.authority.list_profiles(&caller, &list_query(raw)).await?;
    Ok(Json(json!({ "list": list, "next": next })))
}

#[utoipa::path(post, path = "/api/ca/v1/profiles", tag = "profiles", security(("bearer" = [])), request_body = Object,
    responses((status = 201, body = Object), (status = 400, body = Object), (status = 409, body = Object)))]
async fn create(
    State(state): State<AppState>,
    CaAuth(caller): CaAuth,
    CaJson(body): CaJson,
) -> CaResult<(StatusCode, Json<Value>)> {
    Ok((StatusCode::CREATED, Json(state.authority.create_profile(&caller, &body).await?)))
}

#[utoipa::path(get, path = "/api/ca/v1/profiles/{id}", tag = "profiles", security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 404, body = Object)))]
async fn get_one(
    State(state): State<AppState>,
    CaAuth(caller): CaAuth,
    Path(id): Path<String>,
) -> CaResult<Json<Value>> {
    Ok(Json(state.authority.get_profile(&caller, &id).await?))
}

#[utoipa::path(put, path = "/api/ca/v1/profiles/{id}", tag = "profiles", security(("bearer" = [])), request_body = Object,
    responses((status = 200, body = Object), (status = 400, body = Object), (status = 404, body = Object)))]
async fn update(
    State(state): State<AppState>,
    CaAuth(caller): CaAuth,
    Path(id): Path<String>,
    CaJson(body): CaJson,
) -> CaResult<Json<Value>> {
    Ok(Json(state.authority.update_profile(&caller, &id, &body).await?))
}

#[utoipa::path(delete, path = "/api/ca/v1/profiles/{id}", tag = "profiles", security(("bearer" = [])),
    responses((status = 204), (status = 404, body = Object), (status = 409, body = Object)))]
async fn delete(State(state): State<AppState>, CaAuth(caller): CaAuth, Path(id): Path<String>) -> CaResult<StatusCode> {
    state.authority.delete_profile(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
