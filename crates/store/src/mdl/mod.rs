//! Named services (kms, x509-service, x509-store), their dependencies, KMS key names and X.509
//! store entries.

pub(crate) mod rows;
mod vical;

use sqlx::Row;

use crate::error::found;
use crate::error::{Error, Result, conflict_on_unique};
use crate::records::{AuditRow, KeyRow};
use crate::store::Store;
pub use rows::{ServiceRow, StoreEntryRow};
pub use vical::{VicalRow, VicalServiceRow};

type AnyQuery = sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments>;
type AnyQueryResult = sqlx::any::AnyQueryResult;

/// A statement keyed by three text values.
fn bind3(sql: &'static str, keys: [&str; 3]) -> AnyQuery {
    keys.into_iter().fold(sqlx::query(sql), |q, k| q.bind(k.to_owned()))
}

impl Store {
    /// Stores a service, with its audit entry.
    pub async fn insert_service(&self, s: &ServiceRow, audit: &AuditRow) -> Result<()> {
        let q = sqlx::query("INSERT INTO services (tenant_id, id, type, created_at) VALUES ($1, $2, $3, $4)")
            .bind(s.tenant_id.clone())
            .bind(s.id.clone())
            .bind(s.service_type.clone())
            .bind(s.created_at);
        self.audited(q, audit, Some("a service with this id")).await.map(drop)
    }

    /// A service of the tenant.
    pub async fn get_service(&self, tenant_id: &str, id: &str) -> Result<ServiceRow> {
        let r = sqlx::query("SELECT tenant_id, id, type, created_at FROM services WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(Error::NotFound)?;
        Ok(ServiceRow {
            tenant_id: r.try_get("tenant_id")?,
            id: r.try_get("id")?,
            service_type: r.try_get("type")?,
            created_at: r.try_get("created_at")?,
        })
    }

    /// Attaches a kms or x509-store service to an X.509 service, with its audit entry.
    pub async fn add_dependency(
        &self,
        tenant_id: &str,
        service_id: &str,
        dependency: &str,
        audit: &AuditRow,
    ) -> Result<()> {
        let q = sqlx::query("INSERT INTO service_dependencies (tenant_id, service_id, dependency) VALUES ($1, $2, $3)")
            .bind(tenant_id.to_owned())
            .bind(service_id.to_owned())
            .bind(dependency.to_owned());
        self.audited(q, audit, Some("this dependency")).await.map(drop)
    }

    /// The services an X.509 service depends on.
    pub async fn dependencies(&self, tenant_id: &str, service_id: &str) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT dependency FROM service_dependencies WHERE tenant_id = $1 AND service_id = $2 ORDER BY dependency",
        )
        .bind(tenant_id)
        .bind(service_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// Names a sealed key inside a KMS service; key row and name are written together.
    pub async fn insert_kms_key(&self, service_id: &str, name: &str, key: &KeyRow, audit: &AuditRow) -> Result<()> {
        let mut tx = self.begin_write().await?;
        crate::keys::insert_key(&mut tx, key).await?;
        sqlx::query(
            "INSERT INTO kms_keys (tenant_id, service_id, name, key_id, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&key.tenant_id)
        .bind(service_id)
        .bind(name)
        .bind(&key.id)
        .bind(key.created_at)
        .execute(&mut *tx)
        .await
        .map_err(conflict_on_unique("a key with this name"))?;
        crate::audit::insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The key record behind a named KMS key.
    pub async fn kms_key_id(&self, tenant_id: &str, service_id: &str, name: &str) -> Result<String> {
        sqlx::query_scalar("SELECT key_id FROM kms_keys WHERE tenant_id = $1 AND service_id = $2 AND name = $3")
            .bind(tenant_id)
            .bind(service_id)
            .bind(name)
            .fetch_optional(self.pool())
            .await?
            .ok_or(Error::NotFound)
    }

    /// Removes the name (the sealed key row stays, as certificates may refer to it), with its
    /// audit entry.
    pub async fn delete_kms_key(&self, tenant_id: &str, service_id: &str, name: &str, audit: &AuditRow) -> Result<()> {
        let sql = "DELETE FROM kms_keys WHERE tenant_id = $1 AND service_id = $2 AND name = $3";
        self.audited_one(bind3(sql, [tenant_id, service_id, name]), audit).await
    }

    /// Writes one entry into a store (a taken id is a Conflict), with its audit entry.
    pub async fn insert_store_entry(&self, entry: &StoreEntryRow, audit: &AuditRow) -> Result<()> {
        let mut tx = self.begin_write().await?;
        insert_store_entry(&mut tx, entry).await?;
        crate::audit::insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A store's entries.
    pub async fn store_entries(&self, tenant_id: &str, store_id: &str) -> Result<Vec<StoreEntryRow>> {
        let rows = sqlx::query(
            "SELECT tenant_id, store_id, entry_id, type, pem, metadata, created_at, updated_at FROM store_entries \
             WHERE tenant_id = $1 AND store_id = $2 ORDER BY entry_id",
        )
        .bind(tenant_id)
        .bind(store_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(StoreEntryRow {
                    tenant_id: r.try_get("tenant_id")?,
                    store_id: r.try_get("store_id")?,
                    entry_id: r.try_get("entry_id")?,
                    entry_type: r.try_get("type")?,
                    pem: r.try_get("pem")?,
                    metadata: r.try_get("metadata")?,
                    created_at: r.try_get("created_at")?,
                    updated_at: r.try_get("updated_at")?,
                })
            })
            .collect()
    }

    /// Replaces a store entry, with its audit entry; NotFound if it does not exist.
    pub async fn update_store_entry(&self, e: &StoreEntryRow, audit: &AuditRow) -> Result<()> {
        let q = sqlx::query(
            "UPDATE store_entries SET type = $4, pem = $5, metadata = $6, updated_at = $7 \
             WHERE tenant_id = $1 AND store_id = $2 AND entry_id = $3",
        )
        .bind(e.tenant_id.clone())
        .bind(e.store_id.clone())
        .bind(e.entry_id.clone())
        .bind(e.entry_type.clone())
        .bind(e.pem.clone())
        .bind(e.metadata.clone())
        .bind(e.updated_at);
        self.audited_one(q, audit).await
    }

    /// Deletes a store entry, with its audit entry; NotFound if it does not exist.
    pub async fn delete_store_entry(
        &self,
        tenant_id: &str,
        store_id: &str,
        entry_id: &str,
        audit: &AuditRow,
    ) -> Result<()> {
        let sql = "DELETE FROM store_entries WHERE tenant_id = $1 AND store_id = $2 AND entry_id = $3";
        self.audited_one(bind3(sql, [tenant_id, store_id, entry_id]), audit).await
    }

    /// Runs one write and its audit entry in one transaction (a unique violation is a Conflict
    /// naming `conflict`).
    async fn audited(&self, q: AnyQuery, audit: &AuditRow, conflict: Option<&'static str>) -> Result<AnyQueryResult> {
        let mut tx = self.begin_write().await?;
        let done = match conflict {
            Some(what) => q.execute(&mut *tx).await.map_err(conflict_on_unique(what))?,
            None => q.execute(&mut *tx).await?,
        };
        crate::audit::insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(done)
    }

    /// As [`Self::audited`] for a write that must touch a row: NotFound (and nothing written,
    /// audit included) when it touched none.
    async fn audited_one(&self, q: AnyQuery, audit: &AuditRow) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let done = q.execute(&mut *tx).await?;
        found(&done)?;
        crate::audit::insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A tenant by name or id inside an organisation given by name or id.
    pub async fn find_tenant(&self, org: &str, tenant: &str) -> Result<crate::records::TenantRow> {
        let r = sqlx::query(
            "SELECT t.id, t.org_id, t.name, t.created_at FROM tenants t JOIN organizations o ON o.id = t.org_id \
             WHERE (o.id = $1 OR o.name = $1) AND (t.id = $2 OR t.name = $2) ORDER BY t.created_at LIMIT 1",
        )
        .bind(org)
        .bind(tenant)
        .fetch_optional(self.pool())
        .await?
        .ok_or(Error::NotFound)?;
        Ok(crate::records::TenantRow {
            id: r.try_get("id")?,
            org_id: r.try_get("org_id")?,
            name: r.try_get("name")?,
            created_at: r.try_get("created_at")?,
        })
    }
}

/// One store entry, in the caller's transaction; a taken id is a Conflict.
pub(crate) async fn insert_store_entry(tx: &mut impl crate::exec::Exec, e: &StoreEntryRow) -> Result<()> {
    let sql = crate::db::Sql::new(
        "INSERT INTO store_entries (tenant_id, store_id, entry_id, type, pem, metadata, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .arg(&e.tenant_id)
    .arg(&e.store_id)
    .arg(&e.entry_id)
    .arg(&e.entry_type)
    .arg(&e.pem)
    .arg(&e.metadata)
    .arg(e.created_at)
    .arg(e.updated_at);
    tx.run(sql).await.map_err(conflict_on_unique("a store entry with this id"))?;
    Ok(())
}
