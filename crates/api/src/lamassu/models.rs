//! What this door answers, as Lamassu's Go models name and type it. The handlers build these
//! (lists and metadata then work on their JSON), and this door's OpenAPI document describes
//! them, so the document cannot drift from the answers.

use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::{IntoResponses, ToSchema};

/// Lamassu's error body.
#[derive(Serialize, ToSchema)]
#[schema(as = CaServiceError)]
pub(crate) struct ErrorBody {
    pub(super) err: String,
}

/// The errors an operation of this door may answer (for the OpenAPI document only).
#[derive(IntoResponses)]
#[allow(dead_code)] // never built: `CaError` answers, `ErrorBody` is its shape
pub(super) enum Errors {
    #[response(status = 400, description = "Invalid input or a refused transition")]
    BadRequest(ErrorBody),
    #[response(status = 401, description = "No valid token")]
    Unauthorized(ErrorBody),
    #[response(status = 403, description = "Not allowed")]
    Forbidden(ErrorBody),
    #[response(status = 404, description = "Not found")]
    NotFound(ErrorBody),
    #[response(status = 409, description = "Conflicts with what is stored")]
    Conflict(ErrorBody),
}

/// One page of a list: `next` is the bookmark of the following page, empty at the end.
#[derive(Serialize, ToSchema)]
pub(super) struct Page<T> {
    pub(super) list: Vec<T>,
    pub(super) next: String,
}

/// A distinguished name's attributes; absent ones are empty strings, as Go sends them.
#[derive(Serialize, ToSchema, Default)]
pub(super) struct Subject {
    pub(super) common_name: String,
    pub(super) organization: String,
    pub(super) organization_unit: String,
    pub(super) country: String,
    pub(super) state: String,
    pub(super) locality: String,
}

#[derive(Serialize, ToSchema, Default)]
pub(super) struct KeyMetadata {
    /// `RSA`, `ECDSA`, `Ed25519` or `UNKNOWN`.
    #[serde(rename = "type")]
    pub(super) kind: &'static str,
    pub(super) bits: u32,
}

#[derive(Serialize, ToSchema, Default)]
pub(super) struct SubjectAlternativeNames {
    pub(super) dns_names: Vec<String>,
    pub(super) ip_addresses: Vec<String>,
}

#[derive(Serialize, ToSchema, Default)]
pub(super) struct Extensions {
    /// Go's names, e.g. `DigitalSignature`.
    pub(super) key_usage: Vec<&'static str>,
    /// Names, e.g. `ServerAuth`, or dotted OIDs.
    pub(super) extended_key_usage: Vec<String>,
    pub(super) subject_alternative_names: SubjectAlternativeNames,
}

#[derive(Serialize, ToSchema, Default)]
pub(super) struct IssuerMetadata {
    /// The issuing CA's id (`-` when none).
    pub(super) id: String,
}

/// A certificate: base64 of its PEM, lower-case hex serial, parsed names, key and extensions.
/// Never `null` where Lamassu sends a string: an unrevoked certificate carries Go's zero time
/// and reason `Unspecified`.
#[derive(Serialize, ToSchema, Default)]
pub(super) struct Certificate {
    pub(super) serial_number: String,
    /// base64 of the PEM.
    pub(super) certificate: String,
    /// `ACTIVE`, `EXPIRED` or `REVOKED`.
    pub(super) status: &'static str,
    pub(super) subject: Subject,
    pub(super) issuer: Subject,
    pub(super) valid_from: String,
    pub(super) valid_to: String,
    pub(super) key_metadata: KeyMetadata,
    pub(super) extensions: Extensions,
    pub(super) issuer_metadata: IssuerMetadata,
    pub(super) revocation_timestamp: String,
    pub(super) revocation_reason: String,
    /// `MANAGED`.
    #[serde(rename = "type")]
    pub(super) kind: &'static str,
    pub(super) engine_id: &'static str,
    pub(super) is_ca: bool,
    /// Where the certificate is read or listed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub(super) metadata: Option<Map<String, Value>>,
}

/// A CA: its certificate, default profile and place in the hierarchy.
#[derive(Serialize, ToSchema)]
#[schema(as = CACertificate)]
pub(super) struct CertificateAuthority {
    pub(super) id: String,
    pub(super) serial_number: String,
    pub(super) certificate: Certificate,
    pub(super) profile_id: String,
    /// `MANAGED`, or `IMPORTED_WITHOUT_KEY` for a CA imported without its key.
    #[serde(rename = "type")]
    pub(super) kind: &'static str,
    pub(super) engine_id: &'static str,
    pub(super) creation_ts: String,
    /// 0 for a root, 1 below it.
    pub(super) level: u8,
    #[schema(value_type = Object)]
    pub(super) metadata: Map<String, Value>,
}

/// Certificates by status.
#[derive(Serialize, ToSchema)]
#[schema(as = StatusDistribution)]
pub(super) struct StatusCounts {
    #[serde(rename = "ACTIVE")]
    pub(super) active: usize,
    #[serde(rename = "EXPIRED")]
    pub(super) expired: usize,
    #[serde(rename = "REVOKED")]
    pub(super) revoked: usize,
}

#[derive(Serialize, ToSchema)]
pub(super) struct CaCounts {
    pub(super) total: usize,
    #[schema(value_type = Object)]
    pub(super) engine_distribution: Map<String, Value>,
    pub(super) status_distribution: StatusCounts,
}

#[derive(Serialize, ToSchema)]
pub(super) struct CertificateCounts {
    pub(super) total: usize,
    #[schema(value_type = Object)]
    pub(super) ca_distribution: Map<String, Value>,
    pub(super) status_distribution: StatusCounts,
}

/// `CAStats`.
#[derive(Serialize, ToSchema)]
#[schema(as = CAStats)]
pub(super) struct Stats {
    pub(super) cas: CaCounts,
    pub(super) certificates: CertificateCounts,
}

#[derive(Serialize, ToSchema)]
pub(super) struct SignedData {
    /// base64.
    pub(super) signed_data: String,
}

#[derive(Serialize, ToSchema)]
pub(super) struct Verification {
    pub(super) valid: bool,
}
