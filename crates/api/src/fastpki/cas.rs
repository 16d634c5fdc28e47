//! `/api/v1/cas/`: root and intermediate CAs.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{any, get, post};
use axum::{Json, Router};
use certus_authority::{ErrorKind, FastPkiCaView, NewFastPkiCa};
use certus_x509::{PemLabel, to_pem};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{FastPkiJson, FastPkiPrincipal, FastPkiResult, Ids, to_collection};
use crate::AppState;
use crate::time_fmt::rfc3339;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/cas/", post(create).get(list))
        .route("/api/v1/cas", any(to_collection))
        .route("/api/v1/cas/{id}", get(read).delete(remove).patch(move_to_org))
        .route("/api/v1/cas/{id}/private-key", get(private_key))
        .route("/api/v1/cas/{id}/chain", get(chain))
        .route("/api/v1/cas/{id}/children", get(children))
}

pub(super) fn ca_json(ca: &FastPkiCaView) -> Value {
    json!({
        "id": ca.fastpki.id,
        "name": ca.fastpki.name,
        "description": ca.fastpki.description,
        "subject_dn": ca.fastpki.subject_dn,
        "key_size": ca.ca.key_size,
        "valid_days": super::given_days(ca.fastpki.valid_days, ca.ca.valid_from, ca.ca.valid_until),
        "created_at": rfc3339(ca.ca.created_at),
        "updated_at": rfc3339(ca.fastpki.updated_at),
        "certificate": to_pem(PemLabel::Certificate, &ca.ca.cert_der),
        "organization_id": ca.org_num,
        "created_by_user_id": ca.fastpki.created_by_user_id,
        "created_by_service_account_id": ca.fastpki.created_by_service_account_id,
        "parent_ca_id": ca.parent_num,
        "path_length": ca.fastpki.path_length,
        "allow_leaf_certs": ca.fastpki.allow_leaf_certs,
        "crl_base_url": ca.fastpki.crl_base_url,
        "is_root": ca.ca.parent_ca_id.is_none(),
    })
}

fn with_key(mut v: Value, key: Option<String>) -> Value {
    v["private_key"] = json!(key);
    v
}

#[derive(Deserialize)]
struct CaBody {
    name: String,
    subject_dn: String,
    description: Option<String>,
    key_size: Option<i64>,
    valid_days: Option<i64>,
    parent_ca_id: Option<i64>,
    path_length: Option<i64>,
    allow_leaf_certs: Option<bool>,
    crl_base_url: Option<String>,
}

/// 201 with the reference's detail shape: `private_key` is the new CA's key when the caller may
/// export it (the same right, and the same audit entry, as `GET /cas/{id}/private-key`), else
/// null, and null for a key held on a PKCS#11 token.
#[utoipa::path(post, path = "/api/v1/cas/", tag = "api-v1", security(("bearer" = [])), request_body = Object, responses((status = 201, body = Object), (status = 401, body = Object), (status = 404, body = Object), (status = 422, body = Object)))]
async fn create(
    State(s): State<AppState>,
    FastPkiPrincipal(user): FastPkiPrincipal,
    FastPkiJson(b): FastPkiJson<CaBody>,
) -> FastPkiResult<(StatusCode, Json<Value>)> {
    let req = NewFastPkiCa {
        name: b.name,
        subject_dn: b.subject_dn,
        description: b.description,
        key_size: b.key_size,
        valid_days: b.valid_days,
        parent_ca_id: b.parent_ca_id,
        path_length: b.path_length,
        allow_leaf_certs: b.allow_leaf_certs,
        crl_base_url: b.crl_base_url,
    };
    let ca = s.authority.create_fastpki_ca(&user, req).await?;
    let key = match s.authority.export_fastpki_ca_key(&user, ca.fastpki.id).await {
        Ok((_, pem)) => Some(pem),
        Err(e) if matches!(e.kind, ErrorKind::Forbidden | ErrorKind::Conflict) => None,
        Err(e) => return Err(e.into()),
    };
    Ok((StatusCode::CREATED, Json(with_key(ca_json(&ca), key))))
}

#[utoipa::path(get, path = "/api/v1/cas/", tag = "api-v1", security(("bearer" = [])), responses((status = 200, body = Object), (status = 401, body = Object), (status = 404, body = Object), (status = 422, body = Object)))]
async fn list(State(s): State<AppState>, FastPkiPrincipal(user): FastPkiPrincipal) -> FastPkiResult<Json<Vec<Value>>> {
    Ok(Json(s.authority.list_fastpki_cas(&user).await?.iter().map(ca_json).collect()))
}

#[utoipa::path(get, path = "/api/v1/cas/{id}", tag = "api-v1", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 200, body = Object), (status = 401, body = Object), (status = 404, body = Object), (status = 422, body = Object)))]
async fn read(
    State(s): State<AppState>,
    FastPkiPrincipal(user): FastPkiPrincipal,
    Ids(id): Ids<i64>,
) -> FastPkiResult<Json<Value>> {
    Ok(Json(ca_json(&s.authority.read_fastpki_ca(&user, id).await?)))
}

#[utoipa::path(get, path = "/api/v1/cas/{id}/private-key", tag = "api-v1", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 200, body = Object), (status = 401, body = Object), (status = 404, body = Object), (status = 422, body = Object)))]
async fn private_key(
    State(s): State<AppState>,
    FastPkiPrincipal(user): FastPkiPrincipal,
    Ids(id): Ids<i64>,
) -> FastPkiResult<Json<Value>> {
    let (ca, pem) = s.authority.export_fastpki_ca_key(&user, id).await?;
    Ok(Json(with_key(ca_json(&ca), Some(pem))))
}

#[utoipa::path(get, path = "/api/v1/cas/{id}/chain", tag = "api-v1", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 200, body = Object), (status = 401, body = Object), (status = 404, body = Object), (status = 422, body = Object)))]
async fn chain(
    State(s): State<AppState>,
    FastPkiPrincipal(user): FastPkiPrincipal,
    Ids(id): Ids<i64>,
) -> FastPkiResult<Json<Vec<Value>>> {
    Ok(Json(s.authority.fastpki_ca_chain(&user, id).await?.iter().map(ca_json).collect()))
}

#[utoipa::path(get, path = "/api/v1/cas/{id}/children", tag = "api-v1", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 200, body = Object), (status = 401, body = Object), (status = 404, body = Object), (status = 422, body = Object)))]
async fn children(
    State(s): State<AppState>,
    FastPkiPrincipal(user): FastPkiPrincipal,
    Ids(id): Ids<i64>,
) -> FastPkiResult<Json<Vec<Value>>> {
    Ok(Json(s.authority.fastpki_ca_children(&user, id).await?.iter().map(ca_json).collect()))
}

#[utoipa::path(delete, path = "/api/v1/cas/{id}", tag = "api-v1", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 204), (status = 401, body = Object), (status = 404, body = Object), (status = 422, body = Object)))]
async fn remove(
    State(s): State<AppState>,
    FastPkiPrincipal(user): FastPkiPrincipal,
    Ids(id): Ids<i64>,
) -> FastPkiResult<StatusCode> {
    s.authority.delete_fastpki_ca(&user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct MoveBody {
    organization_id: i64,
    #[serde(default)]
    cascade: bool,
}

/// Moves the CA (and what it issued; with `cascade`, its descendant CAs) to another
/// organisation: superusers only.
#[utoipa::path(patch, path = "/api/v1/cas/{id}", tag = "api-v1", security(("bearer" = [])), request_body = Object, params(("id" = i64, Path)), responses((status = 200, body = Object), (status = 401, body = Object), (status = 404, body = Object), (status = 422, body = Object)))]
async fn move_to_org(
    State(s): State<AppState>,
    FastPkiPrincipal(user): FastPkiPrincipal,
    Ids(id): Ids<i64>,
    FastPkiJson(b): FastPkiJson<MoveBody>,
) -> FastPkiResult<Json<Value>> {
    Ok(Json(ca_json(&s.authority.move_fastpki_ca(&user, id, b.organization_id, b.cascade).await?)))
}
