//! The mDL door's services and X.509 store entries.

#[derive(Debug, Clone)]
pub struct ServiceRow {
    pub tenant_id: String,
    pub id: String,
    pub service_type: String,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct StoreEntryRow {
    pub tenant_id: String,
    pub store_id: String,
    pub entry_id: String,
    /// `base` or `vical-entry`.
    pub entry_type: String,
    pub pem: String,
    /// JSON text of the complementary metadata (VICAL entries).
    pub metadata: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}
