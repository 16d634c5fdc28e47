//! `PUT|PATCH /api/ca/v1/cas/{id}/metadata` and `…/certificates/{sn}/metadata`: RFC 6902 JSON
//! Patch on a CA's or certificate's metadata (`{"patches": [...]}`), and the `metadata` every
//! CA and certificate shows.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use certus_authority::MetadataTarget;
use serde_json::Value;

use super::{CaAuth, CaError, CaJson, CaResult, ca_json, cert_view_json};
use crate::AppState;

/// Puts a resource's metadata (or `{}`) into its JSON: a CA by its `id`, a certificate by its
/// serial.
pub(super) fn attach(v: &mut Value, meta: &HashMap<String, Value>) {
    let key = match (v.get("certificate").and_then(Value::as_object), v.get("id"), v.get("serial_number")) {
        (Some(_), Some(Value::String(id)), _) => id.clone(),
        (_, _, Some(Value::String(serial))) => format!("serial:{serial}"),
        _ => return,
    };
    v["metadata"] = meta.get(&key).cloned().unwrap_or_else(|| Value::Object(Default::default()));
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
pub(super) struct PatchBody {
    patches: Option<Value>,
}

fn patches(b: PatchBody) -> CaResult<Value> {
    b.patches.ok_or_else(|| CaError(axum::http::StatusCode::BAD_REQUEST, "patches is required".into()))
}

async fn patch_ca(
    state: AppState,
    caller: certus_authority::Caller,
    id: String,
    b: PatchBody,
) -> CaResult<Json<Value>> {
    let doc = state.authority.patch_metadata(&caller, MetadataTarget::Ca(&id), patches(b)?).await?;
    let mut ca = ca_json(&state.authority.get_ca(&caller, &id).await?);
    ca["metadata"] = doc;
    Ok(Json(ca))
}

async fn patch_certificate(
    state: AppState,
    caller: certus_authority::Caller,
    sn: String,
    b: PatchBody,
) -> CaResult<Json<Value>> {
    let doc = state.authority.patch_metadata(&caller, MetadataTarget::Certificate(&sn), patches(b)?).await?;
    let mut cert = cert_view_json(&state.authority.certificate_by_serial(&caller, &sn).await?);
    cert["metadata"] = doc;
    Ok(Json(cert))
}

/// Applies RFC 6902 operations to the CA's metadata.
#[utoipa::path(put, path = "/api/ca/v1/cas/{id}/metadata", tag = "ca-v1", security(("bearer" = [])),
    request_body = PatchBody, responses((status = 200, body = super::models::CertificateAuthority), super::models::Errors))]
pub(super) async fn put_ca_metadata(
    State(state): State<AppState>,
    CaAuth(caller): CaAuth,
    Path(id): Path<String>,
    CaJson(b): CaJson<PatchBody>,
) -> CaResult<Json<Value>> {
    patch_ca(state, caller, id, b).await
}

/// The same as PUT.
#[utoipa::path(patch, path = "/api/ca/v1/cas/{id}/metadata", tag = "ca-v1", security(("bearer" = [])),
    request_body = PatchBody, responses((status = 200, body = super::models::CertificateAuthority), super::models::Errors))]
pub(super) async fn patch_ca_metadata(
    State(state): State<AppState>,
    CaAuth(caller): CaAuth,
    Path(id): Path<String>,
    CaJson(b): CaJson<PatchBody>,
) -> CaResult<Json<Value>> {
    patch_ca(state, caller, id, b).await
}

/// Applies RFC 6902 operations to the certificate's metadata.
#[utoipa::path(put, path = "/api/ca/v1/certificates/{sn}/metadata", tag = "ca-v1", security(("bearer" = [])),
    request_body = PatchBody, responses((status = 200, body = super::models::Certificate), super::models::Errors))]
pub(super) async fn put_certificate_metadata(
    State(state): State<AppState>,
    CaAuth(caller): CaAuth,
    Path(sn): Path<String>,
    CaJson(b): CaJson<PatchBody>,
) -> CaResult<Json<Value>> {
    patch_certificate(state, caller, sn, b).await
}

/// The same as PUT.
#[utoipa::path(patch, path = "/api/ca/v1/certificates/{sn}/metadata", tag = "ca-v1", security(("bearer" = [])),
    request_body = PatchBody, responses((status = 200, body = super::models::Certificate), super::models::Errors))]
pub(super) async fn patch_certificate_metadata(
    State(state): State<AppState>,
    CaAuth(caller): CaAuth,
    Path(sn): Path<String>,
    CaJson(b): CaJson<PatchBody>,
) -> CaResult<Json<Value>> {
    patch_certificate(state, caller, sn, b).await
}
