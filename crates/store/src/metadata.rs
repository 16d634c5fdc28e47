//! Free-form JSON metadata of CAs and certificates (the /api/ca/v1 door's), kept beside them.

use std::collections::HashMap;

use sqlx::Row;

use crate::error::Result;
use crate::records::AuditRow;
use crate::store::Store;

impl Store {
    /// Every metadata document of the tenant, by resource id (CA or certificate id).
    pub async fn tenant_metadata(&self, tenant_id: &str) -> Result<HashMap<String, String>> {
        let rows = sqlx::query("SELECT resource, metadata FROM resource_metadata WHERE tenant_id = $1")
            .bind(tenant_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|r| Ok((r.try_get("resource")?, r.try_get("metadata")?))).collect()
    }

    /// One resource's metadata, if it has any.
    pub async fn metadata_of(&self, tenant_id: &str, resource: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar("SELECT metadata FROM resource_metadata WHERE tenant_id = $1 AND resource = $2")
            .bind(tenant_id)
            .bind(resource)
            .fetch_optional(self.pool())
            .await?)
    }

    /// Replaces a resource's metadata if it is still `old` (`None`: it had none), with the audit
    /// entry; false if it changed meanwhile.
    pub async fn replace_metadata(
        &self,
        tenant_id: &str,
        resource: &str,
        old: Option<&str>,
        new: &str,
        audit: &AuditRow,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let done = match old {
            None => {
                sqlx::query(
                    "INSERT INTO resource_metadata (resource, tenant_id, metadata) VALUES ($1, $2, $3) \
                     ON CONFLICT (resource) DO NOTHING",
                )
                .bind(resource)
                .bind(tenant_id)
                .bind(new)
                .execute(&mut *tx)
                .await?
            }
            Some(old) => sqlx::query(
                "UPDATE resource_metadata SET metadata = $1 WHERE resource = $2 AND tenant_id = $3 AND metadata = $4",
            )
            .bind(new)
            .bind(resource)
            .bind(tenant_id)
            .bind(old)
            .execute(&mut *tx)
            .await?,
        };
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        crate::audit::append(&mut tx, &[audit]).await?;
        tx.commit().await?;
        Ok(true)
    }
}
