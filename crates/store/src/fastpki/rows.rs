//! /api/v1's own attributes of CAs and certificates, written beside the shared records.

/// The /api/v1 attributes of a CA.
#[derive(Debug, Clone, Default)]
pub struct FastPkiCaRow {
    /// Its id.
    pub id: i64,
    /// The name /api/v1 shows and derives the slug from (the Certus CA's name gets a suffix when
    /// a deleted CA still holds this one).
    pub name: String,
    /// The subject DN as /api/v1 shows it.
    pub subject_dn: String,
    /// Free text.
    pub description: Option<String>,
    /// The validity asked for, in days.
    pub valid_days: i64,
    /// The pathLenConstraint asked for.
    pub path_length: Option<i64>,
    /// Whether the CA may sign end-entity certificates.
    pub allow_leaf_certs: bool,
    /// Where its CRL is published instead of Certus's URL.
    pub crl_base_url: Option<String>,
    /// The /api/v1 user who made it.
    pub created_by_user_id: Option<i64>,
    /// The service account that made it.
    pub created_by_service_account_id: Option<i64>,
    /// When /api/v1 deleted it (its slug and CRL stay).
    pub deleted_at: Option<i64>,
    /// When it last changed (Unix seconds).
    pub updated_at: i64,
}

/// The /api/v1 attributes of a certificate.
#[derive(Debug, Clone, Default)]
pub struct FastPkiCertRow {
    /// Its id.
    pub id: i64,
    /// Its CA's /api/v1 id.
    pub ca_num: i64,
    /// `server`, `client`, `dual_purpose` or `ca`.
    pub certificate_type: String,
    /// The subject DN as /api/v1 shows it.
    pub subject_dn: String,
    /// Key size in bits.
    pub key_size: i64,
    /// The validity asked for, in days.
    pub valid_days: i64,
    /// Signed from a CSR (Certus holds no key).
    pub is_csr_origin: bool,
    /// The /api/v1 id of the certificate it renews.
    pub renewed_from_id: Option<i64>,
    /// The /api/v1 user who made it.
    pub created_by_user_id: Option<i64>,
    /// The service account that made it.
    pub created_by_service_account_id: Option<i64>,
    /// When it last changed (Unix seconds).
    pub updated_at: i64,
}
