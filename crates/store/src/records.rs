//! Plain rows, as stored. Timestamps are Unix seconds.

use crate::fastpki::rows::{FastPkiCaRow, FastPkiCertRow};
use crate::mdl::rows::StoreEntryRow;

/// A tenant of an organisation: the unit that owns keys, CAs and certificates.
#[derive(Debug, Clone)]
pub struct TenantRow {
    /// Its id.
    pub id: String,
    /// The organisation it belongs to.
    pub org_id: String,
    /// Its name.
    pub name: String,
    /// When it was made (Unix seconds).
    pub created_at: i64,
}

/// A native API token: only a SHA-256 of its secret is stored.
#[derive(Debug, Clone)]
pub struct TokenRow {
    /// Its id.
    pub id: String,
    /// The tenant that owns it.
    pub tenant_id: String,
    /// Its name.
    pub name: String,
    /// SHA-256 of the secret.
    pub secret_hash: Vec<u8>,
    /// Space-separated scopes.
    pub scopes: String,
    /// Acts in every tenant.
    pub superuser: bool,
    /// When it was made (Unix seconds).
    pub created_at: i64,
    /// When it was revoked, if it was.
    pub revoked_at: Option<i64>,
}

/// A key record: sealed software key material, or a reference to a key on a PKCS#11 token.
#[derive(Debug, Clone)]
pub struct KeyRow {
    /// Its id.
    pub id: String,
    /// The tenant that owns it.
    pub tenant_id: String,
    /// Key type and size, `type:bits`.
    pub spec: String,
    /// `software` or `pkcs11`.
    pub backend: String,
    /// AES-256-GCM sealed private key; never plaintext.
    pub sealed: Vec<u8>,
    /// When it was made (Unix seconds).
    pub created_at: i64,
}

/// A certificate authority of a tenant.
#[derive(Debug, Clone)]
pub struct CaRow {
    /// Its id.
    pub id: String,
    /// The tenant that owns it.
    pub tenant_id: String,
    /// Its name.
    pub name: String,
    /// The commonName.
    pub common_name: String,
    /// `root`, `intermediate` or `iaca`.
    pub ca_type: String,
    /// The issuing CA, for an intermediate.
    pub parent_ca_id: Option<String>,
    /// Its key record.
    pub key_id: String,
    /// `rsa`, `ec` or `ed25519`.
    pub key_type: String,
    /// Key size in bits.
    pub key_size: i64,
    /// The certificate, DER.
    pub cert_der: Vec<u8>,
    /// The serial, lower-case hex.
    pub serial: String,
    /// notBefore (Unix seconds).
    pub valid_from: i64,
    /// notAfter (Unix seconds).
    pub valid_until: i64,
    /// Whether it may be used.
    pub is_active: bool,
    /// When it was made (Unix seconds).
    pub created_at: i64,
    /// Filled on reads: the CA's own certificate has been revoked by its parent.
    pub revoked: bool,
    /// Filled on reads: where the CA's key lives (`software` or `pkcs11`).
    pub key_store: String,
    /// The CA's default issuance profile.
    pub profile_id: Option<String>,
}

/// A signed CRL, complete or delta, as published.
#[derive(Debug, Clone)]
pub struct CrlRow {
    /// The CA.
    pub ca_id: String,
    /// The CRL Number.
    pub crl_number: i64,
    /// The CRL, DER.
    pub der: Vec<u8>,
    /// thisUpdate (Unix seconds).
    pub this_update: i64,
    /// nextUpdate (Unix seconds).
    pub next_update: i64,
    /// The CA's revocation epoch when this CRL was built.
    pub epoch: i64,
    /// For a delta CRL: the number of the complete CRL it extends.
    pub base_number: Option<i64>,
}

/// An issuance role: which CA signs which names for how long.
#[derive(Debug, Clone)]
pub struct RoleRow {
    /// The tenant that owns it.
    pub tenant_id: String,
    /// Its name.
    pub name: String,
    /// The CA.
    pub ca_id: String,
    /// Domains names must fall under.
    pub allowed_domains: Vec<String>,
    /// Whether subdomains of them are allowed.
    pub allow_subdomains: bool,
    /// Whether IP SANs are allowed.
    pub allow_ip_sans: bool,
    /// The longest lifetime (None: no cap).
    pub max_ttl_secs: Option<i64>,
    /// `rsa`, `ec` or `ed25519`.
    pub key_type: Option<String>,
    /// Key size in bits.
    pub key_bits: Option<i64>,
    /// Whether a commonName is required.
    pub require_cn: bool,
    /// Whether server-made keys are kept (sealed).
    pub store_private_keys: bool,
    /// An issuance profile applied on top of the role's own rules.
    pub profile_id: Option<String>,
    /// When it was made (Unix seconds).
    pub created_at: i64,
    /// When it last changed (Unix seconds).
    pub updated_at: i64,
}

/// An issuance profile: `body` is the authority's JSON document.
#[derive(Debug, Clone)]
pub struct ProfileRow {
    /// The tenant that owns it.
    pub tenant_id: String,
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The document, JSON.
    pub body: String,
    /// When it was made (Unix seconds).
    pub created_at: i64,
    /// When it last changed (Unix seconds).
    pub updated_at: i64,
}

/// A certificate of the inventory, whichever door made it.
#[derive(Debug, Clone)]
pub struct CertRow {
    /// Its id.
    pub id: String,
    /// The tenant that owns it.
    pub tenant_id: String,
    /// The CA that signed it (None: self-signed or imported).
    pub issuer_ca_id: Option<String>,
    /// Lower-case hex without separators or leading zero octets.
    pub serial: String,
    /// The commonName.
    pub common_name: Option<String>,
    /// Its SANs (DNS, IP, email, URI).
    pub sans: Vec<String>,
    /// notBefore (Unix seconds).
    pub not_before: i64,
    /// notAfter (Unix seconds).
    pub not_after: i64,
    /// The certificate, DER.
    pub cert_der: Vec<u8>,
    /// The chain it came with, for imports.
    pub chain_pem: Option<String>,
    /// Its key record.
    pub key_id: Option<String>,
    /// The role it was issued under.
    pub role_name: Option<String>,
    /// `issued`, `ca`, `ocsp`, `mdl` or `imported`.
    pub source: String,
    /// When it was revoked, if it was.
    pub revoked_at: Option<i64>,
    /// The revocation reason's name.
    pub revocation_reason: Option<String>,
    /// When it was made (Unix seconds).
    pub created_at: i64,
}

/// A CSR of the approval workflow.
#[derive(Debug, Clone)]
pub struct CsrRow {
    /// Its id.
    pub id: String,
    /// The tenant that owns it.
    pub tenant_id: String,
    /// The CSR, DER.
    pub csr_der: Vec<u8>,
    /// The commonName.
    pub common_name: Option<String>,
    /// Its SANs (DNS, IP, email, URI).
    pub sans: Vec<String>,
    /// `rsa`, `ec` or `ed25519`.
    pub key_type: String,
    /// Key size in bits.
    pub key_bits: i64,
    /// `pending`, `approved`, `rejected` or `signed`.
    pub status: String,
    /// Why it was rejected.
    pub reject_reason: Option<String>,
    /// Its key record.
    pub key_id: Option<String>,
    /// The certificate signed for it.
    pub certificate_id: Option<String>,
    /// When it was made (Unix seconds).
    pub created_at: i64,
    /// When it last changed (Unix seconds).
    pub updated_at: i64,
}

/// A trust anchor for chain validation.
#[derive(Debug, Clone)]
pub struct TrustAnchorRow {
    /// Its id.
    pub id: String,
    /// The tenant that owns it.
    pub tenant_id: String,
    /// Its name.
    pub name: String,
    /// The certificate, DER.
    pub cert_der: Vec<u8>,
    /// The subject as text.
    pub subject: String,
    /// notAfter (Unix seconds).
    pub not_after: i64,
    /// When it was made (Unix seconds).
    pub created_at: i64,
}

/// One audit-log entry, as written (the chain fields are added by the store).
#[derive(Debug, Clone)]
pub struct AuditRow {
    /// When (Unix seconds).
    pub at: i64,
    /// The tenant that owns it.
    pub tenant_id: Option<String>,
    /// Who acted: a token id, a user or `system`.
    pub actor: String,
    /// The engine's action name (`certificate.issue`, …).
    pub action: String,
    /// What it acted on.
    pub resource: String,
    /// Details, as text.
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

/// Where a certificate stands at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertState {
    /// Neither revoked nor expired.
    Valid,
    /// Revoked.
    Revoked,
    /// Past its notAfter, not revoked.
    Expired,
}

/// Filters for the certificate list.
#[derive(Debug, Clone, Default)]
pub struct CertQuery {
    /// Newest first, or soonest to expire first.
    pub order: CertOrder,
    /// The CA that signed it (None: self-signed or imported).
    pub issuer_ca_id: Option<String>,
    /// Only certificates with `not_after` at or before this time (and not yet expired at `now`).
    pub not_after_before: Option<i64>,
    /// Now (Unix seconds), for expiry filters.
    pub now: i64,
    /// Whether revoked certificates are listed.
    pub include_revoked: bool,
    /// Only certificates in this state (with `include_revoked` for `Revoked`).
    pub state: Option<CertState>,
    /// Only certificates with a name (CN or SAN, lower case) starting with this.
    pub name_prefix: Option<String>,
    /// Only certificates with this serial (lower-case hex).
    pub serial: Option<String>,
    /// Keyset cursor: the sort key (`created_at` or `not_after`) and id of the last row of
    /// the previous page.
    pub after: Option<(i64, String)>,
    /// How many at most.
    pub limit: i64,
}

/// A CA's delegated OCSP responder.
#[derive(Debug, Clone)]
pub struct ResponderRow {
    /// The CA.
    pub ca_id: String,
    /// Its key record.
    pub key_id: String,
    /// The certificate, DER.
    pub cert_der: Vec<u8>,
    /// notAfter (Unix seconds).
    pub not_after: i64,
    /// When it was made (Unix seconds).
    pub created_at: i64,
}

/// What the store knows of one serial of one CA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SerialStatus {
    /// Not a serial this CA issued.
    Unknown,
    /// Issued and not revoked.
    Good,
    /// Revoked.
    Revoked {
        /// When (Unix seconds).
        at: i64,
        /// The reason's name.
        reason: String,
    },
}

/// One issuance, recorded whole or not at all.
#[derive(Debug, Clone)]
pub struct IssuanceRecord {
    /// The certificate record.
    pub cert: CertRow,
    /// The subject's key, sealed, when Certus keeps it.
    pub key: Option<KeyRow>,
    /// The CA this certificate makes (a root, an intermediate, an IACA).
    pub ca: Option<CaRow>,
    /// The front door's record.
    pub door: DoorRecord,
    /// The audit entry.
    pub audit: AuditRow,
}

/// What a front door records beside the certificate.
#[derive(Debug, Clone, Default)]
pub enum DoorRecord {
    /// Nothing beyond the certificate.
    #[default]
    None,
    /// The approved CSR this certificate was signed for: it becomes `signed`, or, if it is no
    /// longer approved, nothing is recorded.
    CsrSigned {
        /// The CSR's tenant.
        tenant_id: String,
        /// The CSR.
        csr_id: String,
    },
    /// /api/v1's attributes of a certificate; records its integer id.
    FastPkiCertificate(FastPkiCertRow),
    /// /api/v1's attributes of a new CA (an intermediate also stops its parent signing leaves);
    /// records its integer id.
    FastPkiCa(FastPkiCaRow),
    /// The mDL door's X.509 store entries for this certificate.
    StoreEntries(Vec<StoreEntryRow>),
    /// The CA's delegated OCSP responder (the newest one wins).
    OcspResponder(ResponderRow),
    /// The ACME order this certificate finalizes: it becomes `valid` (it must be `processing`).
    AcmeOrder {
        /// The order.
        order_id: String,
    },
    /// A reissued CA certificate (same key): it becomes the CA's certificate. The CA must still
    /// hold the certificate it was reissued from.
    ReissuedCa {
        /// The CA.
        ca_id: String,
        /// The serial of the certificate it replaces.
        replaces_serial: String,
    },
}

/// The integer id a front door's record got, if it numbers its records.
pub type DoorId = Option<i64>;
