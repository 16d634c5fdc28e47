//! What this door answers, as walt.id's services name it, and its error responses: the handlers
//! build these, and the door's OpenAPI document describes them.

use serde::Serialize;
use serde_json::Value;
use utoipa::{IntoResponses, ToSchema};

use crate::error::ErrorBody;

/// The errors an operation of this door may answer, in the native shape (for the OpenAPI
/// document only).
#[derive(IntoResponses)]
#[allow(dead_code)] // never built: `ApiError` answers, `ErrorBody` is its shape
pub(super) enum Errors {
    #[response(status = 400, description = "Invalid input or refused by the ISO 18013-5 profile")]
    BadRequest(ErrorBody),
    #[response(status = 401, description = "No valid token")]
    Unauthorized(ErrorBody),
    #[response(status = 403, description = "Not allowed")]
    Forbidden(ErrorBody),
    #[response(status = 404, description = "No such service, key or entry")]
    NotFound(ErrorBody),
    #[response(status = 409, description = "Conflicts with what is stored")]
    Conflict(ErrorBody),
}

/// A service made by `resource-api/services/create`.
#[derive(Serialize, ToSchema)]
pub(super) struct ServiceCreated {
    #[serde(rename = "_id")]
    pub(super) id: String,
    #[serde(rename = "type")]
    pub(super) service_type: String,
}

/// A published VICAL.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct VicalPublished {
    pub(super) version_id_path: String,
    #[serde(rename = "vicalIssueID")]
    pub(super) vical_issue_id: i64,
    pub(super) entry_count: usize,
}

/// A KMS key: its path and public JWK.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct KmsKey {
    pub(super) key_id_path: String,
    #[schema(value_type = Object)]
    pub(super) public_key_jwk: Value,
}

/// A signature, base64url without padding.
#[derive(Serialize, ToSchema)]
pub(super) struct Signature {
    pub(super) signature: String,
}

/// An issued IACA, Document Signer or generic certificate: its PEM, the request's
/// `certificateData` with the validity actually given, and the store entries written.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct Issued {
    #[serde(rename = "certificatePEM")]
    pub(super) certificate_pem: String,
    #[schema(value_type = Object)]
    pub(super) certificate_data: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) stored_certificate_ids: Option<Vec<String>>,
}

/// A store entry's content.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct EntryData {
    /// `base`, `iaca`, `vical-entry`, ….
    #[serde(rename = "type")]
    pub(super) kind: String,
    pub(super) pem: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub(super) complementary_metadata: Option<Value>,
}

/// A store entry.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct StoreEntry {
    #[serde(rename = "_id")]
    pub(super) id: String,
    pub(super) data: EntryData,
    pub(super) updated_at: String,
}

/// A store's entries, or the one entry an entry path names.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub(super) enum Entries {
    All(Vec<StoreEntry>),
    One(StoreEntry),
}

/// A CSR, PEM.
#[derive(Serialize, ToSchema)]
pub(super) struct CsrIssued {
    #[serde(rename = "csrPEM")]
    pub(super) csr_pem: String,
}

/// A COSE_Sign1 (the VICAL), as published.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)] // documentation only: the handler answers the bytes
pub(super) struct CoseSign1(Vec<u8>);
