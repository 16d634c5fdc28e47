//! The mDL door's services and X.509 store entries.

/// An mDL door service of a tenant: kms, x509-service or x509-store.
#[derive(Debug, Clone)]
pub struct ServiceRow {
    /// The tenant that owns it.
    pub tenant_id: String,
    /// Its id.
    pub id: String,
    /// `kms`, `x509-service` or `x509-store`.
    pub service_type: String,
    /// When it was made (Unix seconds).
    pub created_at: i64,
}

/// An entry of an mDL X.509 store.
#[derive(Debug, Clone)]
pub struct StoreEntryRow {
    /// The tenant that owns it.
    pub tenant_id: String,
    /// The store service.
    pub store_id: String,
    /// The entry's id within the store.
    pub entry_id: String,
    /// `base` or `vical-entry`.
    pub entry_type: String,
    /// The certificate(s), PEM.
    pub pem: String,
    /// JSON text of the complementary metadata (VICAL entries).
    pub metadata: Option<String>,
    /// When it was made (Unix seconds).
    pub created_at: i64,
    /// When it last changed (Unix seconds).
    pub updated_at: i64,
}
