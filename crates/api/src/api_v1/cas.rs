//! `/api/v1/cas/`: root and intermediate CAs.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{any, get, post};
use axum::{Json, Router};
use certus_authority::{NewV1Ca, V1CaView};
use certus_x509::{PemLabel, to_pem};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Ids, V1Json, V1Principal, V1Result, to_collection};
use crate::AppState;
use crate::time_fmt::rfc3339;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/cas/", post(create).get(list))
        .route("/api/v1/cas", any(to_collection))
        .route("/api/v1/cas/{id}", get(read).delete(remove))
        .route("/api/v1/cas/{id}/private-key", get(private_key))
        .route("/api/v1/cas/{id}/chain", get(chain))
        .route("/api/v1/cas/{id}/children", get(children))
}

pub(super) fn ca_json(ca: &V1CaView) -> Value {
    json!({
        "id": ca.v1.id,
        "name": ca.v1.name,
        "description": ca.v1.description,
        "subject_dn": ca.v1.subject_dn,
        "key_size": ca.ca.key_size,
        "valid_days": ca.v1.valid_days,
        "created_at": rfc3339(ca.ca.created_at),
        "updated_at": rfc3339(ca.v1.updated_at),
        "certificate": to_pem(PemLabel::Certificate, &ca.ca.cert_der),
        "organization_id": ca.org_num,
        "created_by_user_id": ca.v1.created_by_user_id,
        "created_by_service_account_id": ca.v1.created_by_service_account_id,
        "parent_ca_id": ca.parent_num,
        "path_length": ca.v1.path_length,
        "allow_leaf_certs": ca.v1.allow_leaf_certs,
        "crl_base_url": ca.v1.crl_base_url,
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

/// 201 with the reference's detail shape; its `private_key` is null: a CA key leaves Certus
/// only through the audited export routes.
async fn create(
    State(s): State<AppState>,
    V1Principal(user): V1Principal,
    V1Json(b): V1Json<CaBody>,
) -> V1Result<(StatusCode, Json<Value>)> {
    let req = NewV1Ca {
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
    let ca = s.authority.create_v1_ca(&user, req).await?;
    Ok((StatusCode::CREATED, Json(with_key(ca_json(&ca), None))))
}

async fn list(State(s): State<AppState>, V1Principal(user): V1Principal) -> V1Result<Json<Vec<Value>>> {
    Ok(Json(s.authority.list_v1_cas(&user).await?.iter().map(ca_json).collect()))
}

async fn read(State(s): State<AppState>, V1Principal(user): V1Principal, Ids(id): Ids<i64>) -> V1Result<Json<Value>> {
    Ok(Json(ca_json(&s.authority.read_v1_ca(&user, id).await?)))
}

async fn private_key(
    State(s): State<AppState>,
    V1Principal(user): V1Principal,
    Ids(id): Ids<i64>,
) -> V1Result<Json<Value>> {
    let (ca, pem) = s.authority.export_v1_ca_key(&user, id).await?;
    Ok(Json(with_key(ca_json(&ca), Some(pem))))
}

async fn chain(
    State(s): State<AppState>,
    V1Principal(user): V1Principal,
    Ids(id): Ids<i64>,
) -> V1Result<Json<Vec<Value>>> {
    Ok(Json(s.authority.v1_ca_chain(&user, id).await?.iter().map(ca_json).collect()))
}

async fn children(
    State(s): State<AppState>,
    V1Principal(user): V1Principal,
    Ids(id): Ids<i64>,
) -> V1Result<Json<Vec<Value>>> {
    Ok(Json(s.authority.v1_ca_children(&user, id).await?.iter().map(ca_json).collect()))
}

async fn remove(State(s): State<AppState>, V1Principal(user): V1Principal, Ids(id): Ids<i64>) -> V1Result<StatusCode> {
    s.authority.delete_v1_ca(&user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
