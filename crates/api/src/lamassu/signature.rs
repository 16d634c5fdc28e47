//! `POST /api/ca/v1/cas/{id}/signature/sign` and `…/verify`: raw messages signed with the CA's
//! key in its own algorithm (see the engine's `lamassu/signature.rs`).

use super::models::{SignedData, Verification};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use base64::Engine;

use super::{CaAuth, CaError, CaJson, CaResult, given};
use crate::AppState;

#[derive(serde::Deserialize, utoipa::ToSchema)]
pub(super) struct SignatureBody {
    message: Option<String>,
    message_type: Option<String>,
    signature_algorithm: Option<String>,
    signature: Option<String>,
}

fn decoded(field: &str, value: Option<String>) -> CaResult<Vec<u8>> {
    let text = given(value).ok_or_else(|| CaError(StatusCode::BAD_REQUEST, format!("{field} is required")))?;
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|_| CaError(StatusCode::BAD_REQUEST, format!("{field} must be base64")))
}

fn required(field: &str, value: Option<String>) -> CaResult<String> {
    given(value).ok_or_else(|| CaError(StatusCode::BAD_REQUEST, format!("{field} is required")))
}

/// Signs a raw message (base64) with the CA's key: `{"signed_data": base64}`.
#[utoipa::path(post, path = "/api/ca/v1/cas/{id}/signature/sign", tag = "ca-v1", security(("bearer" = [])),
    request_body = SignatureBody, responses((status = 200, body = super::models::SignedData), super::models::Errors))]
pub(super) async fn sign_data(
    State(state): State<AppState>,
    CaAuth(caller): CaAuth,
    Path(id): Path<String>,
    CaJson(b): CaJson<SignatureBody>,
) -> CaResult<Json<SignedData>> {
    let message = decoded("message", b.message)?;
    let (kind, alg) =
        (required("message_type", b.message_type)?, required("signature_algorithm", b.signature_algorithm)?);
    let signature = state.authority.ca_sign_data(&caller, &id, message, &kind, &alg).await?;
    Ok(Json(SignedData { signed_data: base64::engine::general_purpose::STANDARD.encode(signature) }))
}

/// Checks a signature (base64) over a raw message with the CA's certificate: `{"valid": bool}`.
#[utoipa::path(post, path = "/api/ca/v1/cas/{id}/signature/verify", tag = "ca-v1", security(("bearer" = [])),
    request_body = SignatureBody, responses((status = 200, body = super::models::Verification), super::models::Errors))]
pub(super) async fn verify_data(
    State(state): State<AppState>,
    CaAuth(caller): CaAuth,
    Path(id): Path<String>,
    CaJson(b): CaJson<SignatureBody>,
) -> CaResult<Json<Verification>> {
    let message = decoded("message", b.message)?;
    let signature = decoded("signature", b.signature)?;
    let (kind, alg) =
        (required("message_type", b.message_type)?, required("signature_algorithm", b.signature_algorithm)?);
    let valid = state.authority.ca_verify_data(&caller, &id, &message, &kind, &alg, &signature).await?;
    Ok(Json(Verification { valid }))
}
