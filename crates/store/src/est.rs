//! EST labels, their Basic credentials, and enrollments waiting for approval.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::error::{Error, Result, conflict_on_unique, found};
use crate::records::{AuditRow, CsrRow, KeyRow};
use crate::store::Store;

/// An EST label: where `/.well-known/est/{label}` enrolls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EstLabelRow {
    /// The label (URL segment), unique across tenants.
    pub label: String,
    /// The tenant it enrolls into.
    pub tenant_id: String,
    /// The role whose policy applies, or
    pub role_name: Option<String>,
    /// a CA ...
    pub ca_id: Option<String>,
    /// ... with an issuance profile.
    pub profile_id: Option<String>,
    /// Enrollments wait in the CSR approval queue.
    pub require_approval: bool,
    /// A re-enrollment revokes the certificate it replaces (superseded).
    pub revoke_on_reenroll: bool,
    /// Also served at `/.well-known/est/…`.
    pub is_default: bool,
    /// When it was made.
    pub created_at: i64,
}

const LABEL_COLUMNS: &str = "SELECT label, tenant_id, role_name, ca_id, profile_id, require_approval, \
                             revoke_on_reenroll, is_default, created_at FROM est_labels";

fn label_row(r: &AnyRow) -> Result<EstLabelRow> {
    Ok(EstLabelRow {
        label: r.try_get("label")?,
        tenant_id: r.try_get("tenant_id")?,
        role_name: r.try_get("role_name")?,
        ca_id: r.try_get("ca_id")?,
        profile_id: r.try_get("profile_id")?,
        require_approval: r.try_get::<i64, _>("require_approval")? != 0,
        revoke_on_reenroll: r.try_get::<i64, _>("revoke_on_reenroll")? != 0,
        is_default: r.try_get::<i64, _>("is_default")? != 0,
        created_at: r.try_get("created_at")?,
    })
}

impl Store {
    /// Stores a label with its audit entry.
    pub async fn insert_est_label(&self, l: &EstLabelRow, audit: &AuditRow) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO est_labels (label, tenant_id, role_name, ca_id, profile_id, require_approval, \
             revoke_on_reenroll, is_default, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&l.label)
        .bind(&l.tenant_id)
        .bind(&l.role_name)
        .bind(&l.ca_id)
        .bind(&l.profile_id)
        .bind(l.require_approval as i64)
        .bind(l.revoke_on_reenroll as i64)
        .bind(l.is_default as i64)
        .bind(l.created_at)
        .execute(&mut *tx)
        .await
        .map_err(conflict_on_unique("a label with this name, or a second default label"))?;
        crate::audit::append(&mut tx, &[audit]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A label, whatever its tenant (the EST routes find the tenant through it).
    pub async fn est_label(&self, label: &str) -> Result<EstLabelRow> {
        let sql = format!("{LABEL_COLUMNS} WHERE label = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(label).fetch_optional(self.pool()).await?;
        row.as_ref().map(label_row).transpose()?.ok_or(Error::NotFound)
    }

    /// The default label, if one is marked.
    pub async fn default_est_label(&self) -> Result<EstLabelRow> {
        let sql = format!("{LABEL_COLUMNS} WHERE is_default = 1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_optional(self.pool()).await?;
        row.as_ref().map(label_row).transpose()?.ok_or(Error::NotFound)
    }

    /// The tenant's labels.
    pub async fn list_est_labels(&self, tenant_id: &str) -> Result<Vec<EstLabelRow>> {
        let sql = format!("{LABEL_COLUMNS} WHERE tenant_id = $1 ORDER BY label");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant_id).fetch_all(self.pool()).await?;
        rows.iter().map(label_row).collect()
    }

    /// Deletes a label of the tenant, with its credentials and pending enrollments.
    pub async fn delete_est_label(&self, tenant_id: &str, label: &str, audit: &AuditRow) -> Result<()> {
        let mut tx = self.begin_write().await?;
        for table in ["est_credentials", "est_pending"] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE label = (SELECT label FROM est_labels WHERE tenant_id = $1 AND label = $2)"
            )))
            .bind(tenant_id)
            .bind(label)
            .execute(&mut *tx)
            .await?;
        }
        let done = sqlx::query("DELETE FROM est_labels WHERE tenant_id = $1 AND label = $2")
            .bind(tenant_id)
            .bind(label)
            .execute(&mut *tx)
            .await?;
        found(&done)?;
        crate::audit::append(&mut tx, &[audit]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores a Basic credential of a label.
    pub async fn insert_est_credential(
        &self,
        label: &str,
        username: &str,
        password_hash: &str,
        at: i64,
        audit: &AuditRow,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("INSERT INTO est_credentials (label, username, password_hash, created_at) VALUES ($1, $2, $3, $4)")
            .bind(label)
            .bind(username)
            .bind(password_hash)
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(conflict_on_unique("a credential with this username"))?;
        crate::audit::append(&mut tx, &[audit]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The password hash of a label's credential.
    pub async fn est_credential(&self, label: &str, username: &str) -> Result<String> {
        let row = sqlx::query("SELECT password_hash FROM est_credentials WHERE label = $1 AND username = $2")
            .bind(label)
            .bind(username)
            .fetch_optional(self.pool())
            .await?
            .ok_or(Error::NotFound)?;
        Ok(row.try_get("password_hash")?)
    }

    /// The queued CSR of an enrollment waiting for approval.
    pub async fn est_pending_csr(&self, label: &str, csr_sha256: &str) -> Result<String> {
        let row = sqlx::query("SELECT csr_id FROM est_pending WHERE label = $1 AND csr_sha256 = $2")
            .bind(label)
            .bind(csr_sha256)
            .fetch_optional(self.pool())
            .await?
            .ok_or(Error::NotFound)?;
        Ok(row.try_get("csr_id")?)
    }

    /// Queues an enrollment: the CSR in the approval workflow, the label's pointer to it, and
    /// the audit entry, in one transaction.
    pub async fn insert_est_pending(
        &self,
        label: &str,
        csr_sha256: &str,
        csr: &CsrRow,
        audit: &AuditRow,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        crate::csrs::insert_csr_row(&mut tx, csr, None::<&KeyRow>).await?;
        sqlx::query("INSERT INTO est_pending (label, csr_sha256, csr_id) VALUES ($1, $2, $3)")
            .bind(label)
            .bind(csr_sha256)
            .bind(&csr.id)
            .execute(&mut *tx)
            .await
            .map_err(conflict_on_unique("this enrollment"))?;
        crate::audit::append(&mut tx, &[audit]).await?;
        tx.commit().await?;
        Ok(())
    }
}
