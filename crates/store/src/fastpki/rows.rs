//! /api/v1's own attributes of CAs and certificates, written beside the shared records.

/// The /api/v1 attributes of a CA.
#[derive(Debug, Clone, Default)]
pub struct FastPkiCaRow {
    pub id: i64,
    /// The name /api/v1 shows and derives the slug from (the Certus CA's name gets a suffix when
    /// a deleted CA still holds this one).
    pub name: String,
    pub subject_dn: String,
    pub description: Option<String>,
    pub valid_days: i64,
    pub path_length: Option<i64>,
    pub allow_leaf_certs: bool,
    pub crl_base_url: Option<String>,
    pub created_by_user_id: Option<i64>,
    pub created_by_service_account_id: Option<i64>,
    pub deleted_at: Option<i64>,
    pub updated_at: i64,
}

/// The /api/v1 attributes of a certificate.
#[derive(Debug, Clone, Default)]
pub struct FastPkiCertRow {
    pub id: i64,
    pub ca_num: i64,
    pub certificate_type: String,
    pub subject_dn: String,
    pub key_size: i64,
    pub valid_days: i64,
    pub is_csr_origin: bool,
    pub renewed_from_id: Option<i64>,
    pub created_by_user_id: Option<i64>,
    pub created_by_service_account_id: Option<i64>,
    pub updated_at: i64,
}
