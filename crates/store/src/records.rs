//! Plain rows, as stored. Timestamps are Unix seconds.

use crate::fastpki::rows::{FastPkiCaRow, FastPkiCertRow};
use crate::mdl::rows::StoreEntryRow;

#[derive(Debug, Clone)]
pub struct TenantRow {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct TokenRow {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub secret_hash: Vec<u8>,
    /// Space-separated scopes.
    pub scopes: String,
    pub superuser: bool,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct KeyRow {
    pub id: String,
    pub tenant_id: String,
    pub spec: String,
    /// `software` or `pkcs11`.
    pub backend: String,
    /// AES-256-GCM sealed private key; never plaintext.
    pub sealed: Vec<u8>,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct CaRow {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub common_name: String,
    pub ca_type: String,
    pub parent_ca_id: Option<String>,
    pub key_id: String,
    pub key_type: String,
    pub key_size: i64,
    pub cert_der: Vec<u8>,
    pub serial: String,
    pub valid_from: i64,
    pub valid_until: i64,
    pub is_active: bool,
    pub created_at: i64,
    /// Filled on reads: the CA's own certificate has been revoked by its parent.
    pub revoked: bool,
    /// Filled on reads: where the CA's key lives (`software` or `pkcs11`).
    pub key_store: String,
    /// The CA's default issuance profile.
    pub profile_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct CrlRow {
    pub ca_id: String,
    pub crl_number: i64,
    pub der: Vec<u8>,
    pub this_update: i64,
    pub next_update: i64,
    /// The CA's revocation epoch when this CRL was built.
    pub epoch: i64,
    /// For a delta CRL: the number of the complete CRL it extends.
    pub base_number: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct RoleRow {
    pub tenant_id: String,
    pub name: String,
    pub ca_id: String,
    pub allowed_domains: Vec<String>,
    pub allow_subdomains: bool,
    pub allow_ip_sans: bool,
    pub max_ttl_secs: Option<i64>,
    pub key_type: Option<String>,
    pub key_bits: Option<i64>,
    pub require_cn: bool,
    pub store_private_keys: bool,
    /// An issuance profile applied on top of the role's own rules.
    pub profile_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// An issuance profile: `body` is the authority's JSON document.
#[derive(Debug, Clone)]
pub struct ProfileRow {
    pub tenant_id: String,
    pub id: String,
    pub name: String,
    pub body: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone)]
pub struct CertRow {
    pub id: String,
    pub tenant_id: String,
    pub issuer_ca_id: Option<String>,
    /// Lower-case hex without separators or leading zero octets.
    pub serial: String,
    pub common_name: Option<String>,
    pub sans: Vec<String>,
    pub not_before: i64,
    pub not_after: i64,
    pub cert_der: Vec<u8>,
    pub chain_pem: Option<String>,
    pub key_id: Option<String>,
    pub role_name: Option<String>,
    /// `issued`, `imported` or `ca`.
    pub source: String,
    pub revoked_at: Option<i64>,
    pub revocation_reason: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct CsrRow {
    pub id: String,
    pub tenant_id: String,
    pub csr_der: Vec<u8>,
    pub common_name: Option<String>,
    pub sans: Vec<String>,
    pub key_type: String,
    pub key_bits: i64,
    /// `pending`, `approved`, `rejected` or `signed`.
    pub status: String,
    pub reject_reason: Option<String>,
    pub key_id: Option<String>,
    pub certificate_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone)]
pub struct TrustAnchorRow {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub cert_der: Vec<u8>,
    pub subject: String,
    pub not_after: i64,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct AuditRow {
    pub at: i64,
    pub tenant_id: Option<String>,
    pub actor: String,
    pub action: String,
    pub resource: String,
    pub detail: String,
}

/// The order of a certificate list, and what its keyset cursor holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CertOrder {
    /// `created_at` descending: newest first.
    #[default]
    Newest,
    /// `not_after` ascending: soonest-expiring first.
    ExpiringFirst,
}

/// Filters for the certificate list.
#[derive(Debug, Clone, Default)]
pub struct CertQuery {
    pub order: CertOrder,
    pub issuer_ca_id: Option<String>,
    /// Only certificates with `not_after` at or before this time (and not yet expired at `now`).
    pub not_after_before: Option<i64>,
    pub now: i64,
    pub include_revoked: bool,
    /// Keyset cursor: the sort key (`created_at` or `not_after`) and id of the last row of
    /// the previous page.
    pub after: Option<(i64, String)>,
    pub limit: i64,
}

/// One revoked, unexpired certificate, for a CRL.
#[derive(Debug, Clone)]
pub struct RevokedEntry {
    pub serial: String,
    pub revoked_at: i64,
    pub reason: String,
}

/// A CA's delegated OCSP responder.
#[derive(Debug, Clone)]
pub struct ResponderRow {
    pub ca_id: String,
    pub key_id: String,
    pub cert_der: Vec<u8>,
    pub not_after: i64,
    pub created_at: i64,
}

/// What the store knows of one serial of one CA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SerialStatus {
    Unknown,
    Good,
    Revoked { at: i64, reason: String },
}

/// One issuance, recorded whole or not at all.
#[derive(Debug, Clone)]
pub struct IssuanceRecord {
    pub cert: CertRow,
    /// The subject's key, sealed, when Certus keeps it.
    pub key: Option<KeyRow>,
    /// The CA this certificate makes (a root, an intermediate, an IACA).
    pub ca: Option<CaRow>,
    pub door: DoorRecord,
    pub audit: AuditRow,
}

/// What a front door records beside the certificate.
#[derive(Debug, Clone, Default)]
pub enum DoorRecord {
    #[default]
    None,
    /// The approved CSR this certificate was signed for: it becomes `signed`, or, if it is no
    /// longer approved, nothing is recorded.
    CsrSigned { tenant_id: String, csr_id: String },
    /// /api/v1's attributes of a certificate; records its integer id.
    FastPkiCertificate(FastPkiCertRow),
    /// /api/v1's attributes of a new CA (an intermediate also stops its parent signing leaves);
    /// records its integer id.
    FastPkiCa(FastPkiCaRow),
    /// The mDL door's X.509 store entries for this certificate.
    StoreEntries(Vec<StoreEntryRow>),
    /// The CA's delegated OCSP responder (the newest one wins).
    OcspResponder(ResponderRow),
}

/// The integer id a front door's record got, if it numbers its records.
pub type DoorId = Option<i64>;
