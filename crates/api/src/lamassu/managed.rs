//! `/api/ca/v1/certificates` writes: server-side key generation (`POST /certificates`),
//! `POST /certificates/import` and `DELETE /certificates/{sn}` (orphans only).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use certus_authority::{ImportRequest, ProfileChoice};
use serde_json::Value;

use super::{CaAuth, CaError, CaJson, CaResult, CaSubject, cert_view_json, given};
use crate::AppState;

/// Lamassu's `CreateCertificateBody`.
#[derive(serde::Deserialize, utoipa::ToSchema)]
pub(super) struct CreateCertificate {
    ca_id: Option<String>,
    #[serde(default)]
    subject: CaSubject,
    #[serde(default)]
    key_spec: KeySpec,
    issuance_profile_id: Option<String>,
    issuance_profile: Option<Value>,
    #[serde(default)]
    metadata: serde_json::Map<String, Value>,
}

#[derive(serde::Deserialize, Default, utoipa::ToSchema)]
struct KeySpec {
    #[serde(rename = "type")]
    kind: Option<String>,
    bits: Option<u32>,
    key_identifier: Option<String>,
    #[serde(rename = "engine_id")]
    _engine_id: Option<String>,
}

fn bad(m: &str) -> CaError {
    CaError(StatusCode::BAD_REQUEST, m.to_owned())
}

/// Issues a certificate for a key Certus generates (kept sealed, as the product's `MANAGED`
/// certificates keep theirs), under an inline `issuance_profile`, else `issuance_profile_id`,
/// else the CA's default profile.
#[utoipa::path(post, path = "/api/ca/v1/certificates", tag = "ca-v1", security(("bearer" = [])), request_body = CreateCertificate,
    responses((status = 201, body = super::models::Certificate), super::models::Errors))]
pub(super) async fn create_certificate(
    State(state): State<AppState>,
    CaAuth(caller): CaAuth,
    CaJson(b): CaJson<CreateCertificate>,
) -> CaResult<(StatusCode, Json<Value>)> {
    let ca_id = given(b.ca_id).ok_or_else(|| bad("ca_id is required"))?;
    let spec = match (given(b.key_spec.kind), b.key_spec.bits, given(b.key_spec.key_identifier)) {
        (Some(kind), Some(bits), None) => {
            let key_type = match kind.as_str() {
                "RSA" => "rsa",
                "ECDSA" => "ec",
                other => return Err(bad(&format!("key_spec.type must be RSA or ECDSA, not {other:?}"))),
            };
            certus_kms::KeySpec::from_type_and_size(key_type, Some(bits)).map_err(|e| bad(&format!("key_spec: {e}")))?
        }
        (None, None, Some(_)) => {
            return Err(bad("key_spec.key_identifier: Certus does not reuse keys here; give type and bits"));
        }
        _ => return Err(bad("invalid key spec: exactly one of (Type+Bits) or KeyIdentifier must be provided")),
    };
    let s = b.subject;
    let subject = certus_x509::Subject {
        common_name: given(s.common_name),
        organization: given(s.organization),
        organization_unit: given(s.organization_unit),
        country: given(s.country),
        state: given(s.state),
        locality: given(s.locality),
        ..Default::default()
    };
    if subject.common_name.is_none() {
        return Err(bad("subject.common_name is required"));
    }
    let choice = match (b.issuance_profile, given(b.issuance_profile_id)) {
        (Some(inline), _) => ProfileChoice::Inline(inline),
        (None, Some(id)) => ProfileChoice::Id(id),
        (None, None) => ProfileChoice::CaDefault,
    };
    let issued = state.authority.create_with_profile(&caller, &ca_id, subject, spec, choice).await?;
    let cert = state.authority.get_certificate(&caller, &issued.certificate_id).await?;
    Ok((StatusCode::CREATED, Json(with_metadata(&state, &caller, &cert, b.metadata).await?)))
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
pub(super) struct ImportCertificate {
    certificate: Option<String>,
    #[serde(default)]
    metadata: serde_json::Map<String, Value>,
}

/// Tracks a certificate issued elsewhere (base64 of its PEM). Its issuer is found among the
/// tenant's CAs by signature; otherwise `issuer_metadata.id` is `-`.
#[utoipa::path(post, path = "/api/ca/v1/certificates/import", tag = "ca-v1", security(("bearer" = [])),
    request_body = ImportCertificate, responses((status = 201, body = super::models::Certificate), super::models::Errors))]
pub(super) async fn import_certificate(
    State(state): State<AppState>,
    CaAuth(caller): CaAuth,
    CaJson(b): CaJson<ImportCertificate>,
) -> CaResult<(StatusCode, Json<Value>)> {
    let pem = super::pem_field(b.certificate, "certificate", "certificate")?;
    let req = ImportRequest { certificate_pem: pem, private_key_pem: None, chain_pem: None };
    let cert = state.authority.import_certificate(&caller, req).await?;
    Ok((StatusCode::CREATED, Json(with_metadata(&state, &caller, &cert, b.metadata).await?)))
}

/// The certificate's JSON with the metadata the request gave it stored (a second write: the
/// certificate stands if it fails, without the metadata).
async fn with_metadata(
    state: &AppState,
    caller: &certus_authority::Caller,
    cert: &certus_authority::CertView,
    metadata: serde_json::Map<String, Value>,
) -> CaResult<Value> {
    let mut v = cert_view_json(cert);
    v["metadata"] = Value::Object(metadata.clone());
    if !metadata.is_empty() {
        let set_all = serde_json::json!([{"op": "add", "path": "", "value": metadata}]);
        let target = certus_authority::MetadataTarget::Certificate(&cert.serial);
        v["metadata"] = state.authority.patch_metadata(caller, target, set_all).await?;
    }
    Ok(v)
}

/// Deletes an orphan certificate: one whose issuer is not a CA here (400 otherwise).
#[utoipa::path(delete, path = "/api/ca/v1/certificates/{sn}", tag = "ca-v1", security(("bearer" = [])),
    responses((status = 204), super::models::Errors))]
pub(super) async fn delete_certificate(
    State(state): State<AppState>,
    CaAuth(caller): CaAuth,
    Path(sn): Path<String>,
) -> CaResult<StatusCode> {
    state.authority.delete_orphan_certificate(&caller, &sn).await?;
    Ok(StatusCode::NO_CONTENT)
}
