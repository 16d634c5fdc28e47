//! X.509 stores: entries written by issuance or by hand, listed, replaced and deleted.

use certus_store::ServiceRow;
use certus_store::StoreEntryRow;
use certus_x509::parse_certificate;
use serde_json::Value;

use super::{StoreEntry, Target};
use crate::auth::{Caller, Scope};
use crate::error::{Error, NotFoundAs, Result};
use crate::{Authority, new_uuid};

impl Authority {
    /// A store's entries, or one entry.
    pub async fn store_list(&self, caller: &Caller, store_path: &str) -> Result<Vec<StoreEntry>> {
        let t = self.resolve_target(caller, store_path).await?;
        let store = self.service_of(&t, "x509-store").await?;
        let rows = self.store.store_entries(&t.tenant_id, &store.id).await?;
        Ok(rows
            .iter()
            .filter(|r| t.child.as_deref().is_none_or(|c| c == r.entry_id))
            .map(|r| entry_view(&t, r))
            .collect())
    }

    /// The target and store service of an entry change (admins only).
    pub(super) async fn store_to_change(&self, caller: &Caller, path: &str) -> Result<(Target, ServiceRow)> {
        caller.require(Scope::Admin)?;
        let t = self.resolve_target(caller, path).await?;
        let store = self.service_of(&t, "x509-store").await?;
        Ok((t, store))
    }

    /// Adds an entry to an X.509 store.
    pub async fn store_add(
        &self,
        caller: &Caller,
        path: &str,
        entry_type: &str,
        pem: &str,
        metadata: Option<Value>,
    ) -> Result<StoreEntry> {
        let (t, store) = self.store_to_change(caller, path).await?;
        let row = entry_row(
            &t,
            &store.id,
            t.child.clone().unwrap_or_else(new_uuid),
            entry_type,
            pem,
            metadata,
            self.now_secs(),
        )?;
        let audit = self.audit_row(caller, "store.add", path, format!("entry={}", row.entry_id));
        self.store.insert_store_entry(&row, &audit).await?;
        Ok(entry_view(&t, &row))
    }

    /// Replaces an X.509 store entry.
    pub async fn store_update(
        &self,
        caller: &Caller,
        path: &str,
        entry_type: &str,
        pem: &str,
        metadata: Option<Value>,
    ) -> Result<StoreEntry> {
        let (t, store) = self.store_to_change(caller, path).await?;
        let row = entry_row(&t, &store.id, t.child()?.to_owned(), entry_type, pem, metadata, self.now_secs())?;
        let audit = self.audit_row(caller, "store.update", path, String::new());
        self.store.update_store_entry(&row, &audit).await.not_found_as("store entry")?;
        Ok(entry_view(&t, &row))
    }

    /// Deletes an X.509 store entry.
    pub async fn store_delete(&self, caller: &Caller, path: &str) -> Result<()> {
        let (t, store) = self.store_to_change(caller, path).await?;
        let audit = self.audit_row(caller, "store.delete", path, String::new());
        self.store.delete_store_entry(&t.tenant_id, &store.id, t.child()?, &audit).await.not_found_as("store entry")
    }
}

fn entry_row(
    t: &Target,
    store: &str,
    entry_id: String,
    entry_type: &str,
    pem: &str,
    metadata: Option<Value>,
    now: i64,
) -> Result<StoreEntryRow> {
    if !["base", "vical-entry"].contains(&entry_type) {
        return Err(Error::malformed("type must be base or vical-entry"));
    }
    if entry_type == "vical-entry" && metadata.is_none() {
        return Err(Error::malformed("a vical-entry needs complementaryMetadata"));
    }
    for der in certus_x509::certs_from_pem(pem)? {
        parse_certificate(&der)?;
    }
    Ok(StoreEntryRow {
        tenant_id: t.tenant_id.clone(),
        store_id: store.to_owned(),
        entry_id,
        entry_type: entry_type.to_owned(),
        pem: pem.to_owned(),
        metadata: metadata.map(|m| m.to_string()),
        created_at: now,
        updated_at: now,
    })
}

fn entry_view(t: &Target, r: &StoreEntryRow) -> StoreEntry {
    StoreEntry {
        path: t.path_of(&r.store_id, &r.entry_id),
        entry_type: r.entry_type.clone(),
        pem: r.pem.clone(),
        metadata: r.metadata.clone(),
        updated_at: r.updated_at,
    }
}
