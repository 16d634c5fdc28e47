//! `/v1/pki/acme/directories`: a tenant's ACME directories and their external account binding
//! keys. Clients use the directory at its `directory_url`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use certus_authority::{AcmeDirectoryView, AcmeEabKeyRow, NewAcmeDirectory};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiJson, ApiResult, ErrorBody};
use crate::time_fmt::rfc3339;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_directory, list_directories))
        .routes(routes!(get_directory, delete_directory))
        .routes(routes!(create_eab_key, list_eab_keys))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct DirectoryBody {
    /// The URL segment: `/acme/{name}/directory`.
    name: String,
    /// The role whose policy applies to every order (or give `ca_id` and `profile_id`).
    role: Option<String>,
    ca_id: Option<String>,
    profile_id: Option<String>,
    /// Further issuance profiles a newOrder may name (listed in `meta.profiles`).
    #[serde(default)]
    profiles: Vec<String>,
    /// New accounts need an external account binding.
    #[serde(default)]
    require_eab: bool,
    /// Terms of service accounts must agree to.
    terms_of_service: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct Directory {
    name: String,
    role: Option<String>,
    ca_id: Option<String>,
    profile_id: Option<String>,
    profiles: Vec<String>,
    require_eab: bool,
    terms_of_service: Option<String>,
    /// Where ACME clients start (`--server` for certbot, `--server`/`-s` for lego).
    directory_url: String,
    created_at: String,
}

fn directory_json(v: AcmeDirectoryView) -> Directory {
    let r = v.row;
    Directory {
        name: r.name,
        role: r.role_name,
        ca_id: r.ca_id,
        profile_id: r.profile_id,
        profiles: v.profiles,
        require_eab: r.require_eab,
        terms_of_service: r.terms_of_service,
        directory_url: v.directory_url,
        created_at: rfc3339(r.created_at),
    }
}

/// Creates an ACME directory over a role, or a CA plus issuance profile, of the caller's tenant.
#[utoipa::path(post, path = "/v1/pki/acme/directories", tag = "acme", security(("bearer" = [])),
    request_body = DirectoryBody,
    responses((status = 201, body = Directory), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create_directory(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<DirectoryBody>,
) -> ApiResult<(StatusCode, Json<Directory>)> {
    let new = NewAcmeDirectory {
        name: b.name,
        role: b.role,
        ca_id: b.ca_id,
        profile_id: b.profile_id,
        profiles: b.profiles,
        require_eab: b.require_eab,
        terms_of_service: b.terms_of_service,
    };
    let view = state.authority.create_acme_directory(&caller, new).await?;
    Ok((StatusCode::CREATED, Json(directory_json(view))))
}

/// The tenant's ACME directories.
#[utoipa::path(get, path = "/v1/pki/acme/directories", tag = "acme", security(("bearer" = [])),
    responses((status = 200, body = Vec<Directory>)))]
async fn list_directories(State(state): State<AppState>, Auth(caller): Auth) -> ApiResult<Json<Vec<Directory>>> {
    let views = state.authority.list_acme_directories(&caller).await?;
    Ok(Json(views.into_iter().map(directory_json).collect()))
}

#[utoipa::path(get, path = "/v1/pki/acme/directories/{name}", tag = "acme", security(("bearer" = [])),
    responses((status = 200, body = Directory), (status = 404, body = ErrorBody)))]
async fn get_directory(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(name): Path<String>,
) -> ApiResult<Json<Directory>> {
    Ok(Json(directory_json(state.authority.get_acme_directory(&caller, &name).await?)))
}

/// Deletes a directory with its accounts, orders and EAB keys; its certificates stay.
#[utoipa::path(delete, path = "/v1/pki/acme/directories/{name}", tag = "acme", security(("bearer" = [])),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_directory(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    state.authority.delete_acme_directory(&caller, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
struct NewEabKey {
    kid: String,
    /// The HMAC key, base64url; shown this once.
    hmac_key: String,
}

/// Makes a single-use external account binding key for the directory.
#[utoipa::path(post, path = "/v1/pki/acme/directories/{name}/eab-keys", tag = "acme", security(("bearer" = [])),
    responses((status = 201, body = NewEabKey), (status = 404, body = ErrorBody)))]
async fn create_eab_key(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(name): Path<String>,
) -> ApiResult<(StatusCode, Json<NewEabKey>)> {
    let (kid, hmac_key) = state.authority.create_acme_eab_key(&caller, &name).await?;
    Ok((StatusCode::CREATED, Json(NewEabKey { kid, hmac_key })))
}

#[derive(Serialize, ToSchema)]
struct EabKey {
    kid: String,
    /// The account bound with it, once used.
    account_id: Option<String>,
    /// That account's URL (its kid in ACME).
    account_url: Option<String>,
    created_at: String,
    bound_at: Option<String>,
}

/// The directory's EAB keys and the accounts bound to them.
#[utoipa::path(get, path = "/v1/pki/acme/directories/{name}/eab-keys", tag = "acme", security(("bearer" = [])),
    responses((status = 200, body = Vec<EabKey>), (status = 404, body = ErrorBody)))]
async fn list_eab_keys(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(name): Path<String>,
) -> ApiResult<Json<Vec<EabKey>>> {
    let urls = state.authority.acme_urls(&name);
    let keys = state.authority.list_acme_eab_keys(&caller, &name).await?;
    Ok(Json(
        keys.into_iter()
            .map(|k: AcmeEabKeyRow| EabKey {
                account_url: k.account_id.as_deref().map(|id| urls.account(id)),
                kid: k.kid,
                account_id: k.account_id,
                created_at: rfc3339(k.created_at),
                bound_at: k.bound_at.map(rfc3339),
            })
            .collect(),
    ))
}
