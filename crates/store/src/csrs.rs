//! CSRs of the approval workflow.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::db::{join, split};
use crate::error::{Error, Result};
use crate::keys::insert_key;
use crate::records::*;
use crate::store::Store;

impl Store {
    /// Stores a CSR and, if Certus made its key, the key.
    pub async fn insert_csr(&self, csr: &CsrRow, key: Option<&KeyRow>, audit: &AuditRow) -> Result<()> {
        let mut tx = self.begin_write().await?;
        insert_csr_row(&mut tx, csr, key).await?;
        crate::audit::append(&mut tx, &[audit]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A CSR of the tenant.
    pub async fn get_csr(&self, tenant_id: &str, id: &str) -> Result<CsrRow> {
        sqlx::query(
            "SELECT id, tenant_id, csr_der, common_name, sans, key_type, key_bits, status, reject_reason, key_id, \
             certificate_id, created_at, updated_at FROM csrs WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id)
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .map(|r| csr_row(&r))
        .transpose()?
        .ok_or(Error::NotFound)
    }

    /// Moves a CSR from `from` to `to` status; false if it was not in `from` (a concurrent
    /// decision won).
    pub async fn transition_csr(
        &self,
        tenant_id: &str,
        id: &str,
        from: &str,
        to: &str,
        reason: Option<&str>,
        audit: &AuditRow,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE csrs SET status = $1, reject_reason = $2, updated_at = $3 \
             WHERE tenant_id = $4 AND id = $5 AND status = $6",
        )
        .bind(to)
        .bind(reason)
        .bind(audit.at)
        .bind(tenant_id)
        .bind(id)
        .bind(from)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        crate::audit::append(&mut tx, &[audit]).await?;
        tx.commit().await?;
        Ok(true)
    }
}

pub(crate) fn csr_row(r: &AnyRow) -> Result<CsrRow> {
    Ok(CsrRow {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        csr_der: r.try_get("csr_der")?,
        common_name: r.try_get("common_name")?,
        sans: split(r.try_get("sans")?),
        key_type: r.try_get("key_type")?,
        key_bits: r.try_get("key_bits")?,
        status: r.try_get("status")?,
        reject_reason: r.try_get("reject_reason")?,
        key_id: r.try_get("key_id")?,
        certificate_id: r.try_get("certificate_id")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// Inserts a CSR (and the key Certus made for it) inside the caller's transaction.
pub(crate) async fn insert_csr_row(tx: &mut crate::db::Tx<'_>, csr: &CsrRow, key: Option<&KeyRow>) -> Result<()> {
    if let Some(key) = key {
        insert_key(tx, key).await?;
    }
    sqlx::query(
        "INSERT INTO csrs (id, tenant_id, csr_der, common_name, sans, key_type, key_bits, status, reject_reason, \
         key_id, certificate_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(&csr.id)
    .bind(&csr.tenant_id)
    .bind(&csr.csr_der)
    .bind(&csr.common_name)
    .bind(join(&csr.sans))
    .bind(&csr.key_type)
    .bind(csr.key_bits)
    .bind(&csr.status)
    .bind(&csr.reject_reason)
    .bind(&csr.key_id)
    .bind(&csr.certificate_id)
    .bind(csr.created_at)
    .bind(csr.updated_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
