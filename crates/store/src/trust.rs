//! Trust anchors for chain validation.

use sqlx::Row;

use crate::error::{Result, conflict_on_unique, found};
use crate::records::*;
use crate::store::Store;

impl Store {
    /// Stores a trust anchor.
    pub async fn insert_trust_anchor(&self, ta: &TrustAnchorRow, audit: &AuditRow) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO trust_anchors (id, tenant_id, name, cert_der, subject, not_after, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&ta.id)
        .bind(&ta.tenant_id)
        .bind(&ta.name)
        .bind(&ta.cert_der)
        .bind(&ta.subject)
        .bind(ta.not_after)
        .bind(ta.created_at)
        .execute(&mut *tx)
        .await
        .map_err(conflict_on_unique("a trust anchor with this name"))?;
        crate::audit::append(&mut tx, &[audit]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The tenant's trust anchors.
    pub async fn list_trust_anchors(&self, tenant_id: &str) -> Result<Vec<TrustAnchorRow>> {
        let rows = sqlx::query(
            "SELECT id, tenant_id, name, cert_der, subject, not_after, created_at FROM trust_anchors \
             WHERE tenant_id = $1 ORDER BY created_at, id",
        )
        .bind(tenant_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(TrustAnchorRow {
                    id: r.try_get("id")?,
                    tenant_id: r.try_get("tenant_id")?,
                    name: r.try_get("name")?,
                    cert_der: r.try_get("cert_der")?,
                    subject: r.try_get("subject")?,
                    not_after: r.try_get("not_after")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// Deletes a trust anchor.
    pub async fn delete_trust_anchor(&self, tenant_id: &str, id: &str, audit: &AuditRow) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("DELETE FROM trust_anchors WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        found(&done)?;
        crate::audit::append(&mut tx, &[audit]).await?;
        tx.commit().await?;
        Ok(())
    }
}
