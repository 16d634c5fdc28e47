//! What the web console (/ui) reads and keeps beyond the shared inventory: its sessions, the
//! dashboard's aggregates, the CSR queue and pages of the audit log.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::db::Sql;
use crate::error::{Error, Result, found};
use crate::records::{AuditRow, CertRow, CsrRow};
use crate::store::Store;

/// A console session; the cookie value itself is never stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSessionRow {
    /// SHA-256 of the cookie value, hex.
    pub id_hash: String,
    /// The user (0: a superuser API token).
    pub user_id: i64,
    /// The API token the session was opened with.
    pub token_id: Option<String>,
    /// The session's CSRF token.
    pub csrf: String,
    /// The tenant being viewed.
    pub tenant_id: Option<String>,
    /// When it was opened.
    pub created_at: i64,
    /// When it was last used.
    pub last_seen_at: i64,
}

/// One CA's row of the dashboard.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaCounts {
    /// The issuing CA.
    pub ca_id: String,
    /// Certificates it issued.
    pub issued: i64,
    /// Of those, revoked.
    pub revoked: i64,
    /// Unrevoked, expiring within 7, 30 and 90 days.
    pub expiring: [i64; 3],
}

/// The dashboard's expiry windows, in days.
pub const EXPIRY_WINDOWS: [i64; 3] = [7, 30, 90];

/// An audit entry with its sequence number.
#[derive(Debug, Clone)]
pub struct AuditPageRow {
    /// Its position in the chain.
    pub id: i64,
    /// The entry.
    pub entry: AuditRow,
}

fn session_row(r: &AnyRow) -> Result<ConsoleSessionRow> {
    Ok(ConsoleSessionRow {
        id_hash: r.try_get("id_hash")?,
        user_id: r.try_get("user_id")?,
        token_id: r.try_get("token_id")?,
        csrf: r.try_get("csrf")?,
        tenant_id: r.try_get("tenant_id")?,
        created_at: r.try_get("created_at")?,
        last_seen_at: r.try_get("last_seen_at")?,
    })
}

impl Store {
    /// Opens a console session.
    pub async fn insert_console_session(&self, s: &ConsoleSessionRow) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO console_sessions (id_hash, user_id, token_id, csrf, tenant_id, created_at, last_seen_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&s.id_hash)
        .bind(s.user_id)
        .bind(&s.token_id)
        .bind(&s.csrf)
        .bind(&s.tenant_id)
        .bind(s.created_at)
        .bind(s.last_seen_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A console session by the hash of its cookie.
    pub async fn get_console_session(&self, id_hash: &str) -> Result<ConsoleSessionRow> {
        sqlx::query("SELECT * FROM console_sessions WHERE id_hash = $1")
            .bind(id_hash)
            .fetch_optional(self.pool())
            .await?
            .map(|r| session_row(&r))
            .transpose()?
            .ok_or(Error::NotFound)
    }

    /// Marks a session used at `now` (and, if given, switches the tenant it views).
    pub async fn touch_console_session(&self, id_hash: &str, now: i64, tenant_id: Option<&str>) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE console_sessions SET last_seen_at = $2, tenant_id = COALESCE($3, tenant_id) WHERE id_hash = $1",
        )
        .bind(id_hash)
        .bind(now)
        .bind(tenant_id)
        .execute(&mut *tx)
        .await?;
        found(&done)?;
        tx.commit().await?;
        Ok(())
    }

    /// Ends a session (logout, or found expired).
    pub async fn delete_console_session(&self, id_hash: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM console_sessions WHERE id_hash = $1").bind(id_hash).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Forgets sessions idle since `idle_before` or opened before `opened_before`.
    pub async fn sweep_console_sessions(&self, idle_before: i64, opened_before: i64) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("DELETE FROM console_sessions WHERE last_seen_at < $1 OR created_at < $2")
            .bind(idle_before)
            .bind(opened_before)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    /// Per issuing CA of the tenant: issued, revoked, and expiring within each of
    /// [`EXPIRY_WINDOWS`] as of `now`.
    pub async fn ca_counts(&self, tenant_id: &str, now: i64) -> Result<Vec<CaCounts>> {
        let [w7, w30, w90] = EXPIRY_WINDOWS.map(|d| now + d * 86_400);
        let live = "revoked_at IS NULL AND not_after > $2 AND not_after <=";
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT issuer_ca_id, COUNT(*) AS issued, \
             SUM(CASE WHEN revoked_at IS NULL THEN 0 ELSE 1 END) AS revoked, \
             SUM(CASE WHEN {live} $3 THEN 1 ELSE 0 END) AS e7, \
             SUM(CASE WHEN {live} $4 THEN 1 ELSE 0 END) AS e30, \
             SUM(CASE WHEN {live} $5 THEN 1 ELSE 0 END) AS e90 \
             FROM certificates WHERE tenant_id = $1 AND issuer_ca_id IS NOT NULL GROUP BY issuer_ca_id"
        )))
        .bind(tenant_id)
        .bind(now)
        .bind(w7)
        .bind(w30)
        .bind(w90)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(CaCounts {
                    ca_id: r.try_get("issuer_ca_id")?,
                    issued: r.try_get("issued")?,
                    revoked: r.try_get("revoked")?,
                    expiring: [r.try_get("e7")?, r.try_get("e30")?, r.try_get("e90")?],
                })
            })
            .collect()
    }

    /// Unrevoked certificates of the tenant expiring on each of the `days` days after `now`
    /// (index 0: within the first 24 hours).
    pub async fn expiries_by_day(&self, tenant_id: &str, now: i64, days: i64) -> Result<Vec<i64>> {
        let rows = sqlx::query(
            "SELECT (not_after - $2) / 86400 AS day, COUNT(*) AS n FROM certificates \
             WHERE tenant_id = $1 AND not_after > $2 AND not_after <= $3 AND revoked_at IS NULL \
             GROUP BY (not_after - $2) / 86400",
        )
        .bind(tenant_id)
        .bind(now)
        .bind(now + days * 86_400)
        .fetch_all(self.pool())
        .await?;
        let mut out = vec![0; usize::try_from(days).unwrap_or(0)];
        for r in rows {
            let day: i64 = r.try_get("day")?;
            if let Some(slot) = usize::try_from(day).ok().and_then(|d| out.get_mut(d)) {
                *slot = r.try_get("n")?;
            }
        }
        Ok(out)
    }

    /// The tenant's most recently revoked certificates.
    pub async fn recent_revocations(&self, tenant_id: &str, limit: i64) -> Result<Vec<CertRow>> {
        let mut sql = Sql::new(crate::certificates::CERT_COLUMNS);
        sql.push(" WHERE tenant_id = ").bind(tenant_id.to_owned());
        sql.push(" AND revoked_at IS NOT NULL ORDER BY revoked_at DESC LIMIT ").bind(limit);
        let rows = sql.build().fetch_all(self.pool()).await?;
        rows.iter().map(crate::certificates::cert_row).collect()
    }

    /// The tenant's CSRs in `status`, oldest first.
    pub async fn list_csrs(&self, tenant_id: &str, status: &str, limit: i64) -> Result<Vec<CsrRow>> {
        let rows = sqlx::query(
            "SELECT id, tenant_id, csr_der, common_name, sans, key_type, key_bits, status, reject_reason, key_id, \
             certificate_id, created_at, updated_at FROM csrs WHERE tenant_id = $1 AND status = $2 ORDER BY created_at, id LIMIT $3",
        )
        .bind(tenant_id)
        .bind(status)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(crate::csrs::csr_row).collect()
    }

    /// A page of the audit log, newest first: entries of `tenant_id` (every entry if None)
    /// whose action starts with `action_prefix`, before sequence number `before`.
    pub async fn audit_page(
        &self,
        tenant_id: Option<&str>,
        action_prefix: Option<&str>,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<AuditPageRow>> {
        let mut sql = Sql::new("SELECT id, at, tenant_id, actor, action, resource, detail FROM audit_log WHERE 1 = 1");
        if let Some(t) = tenant_id {
            sql.push(" AND tenant_id = ").bind(t.to_owned());
        }
        if let Some(p) = action_prefix.filter(|p| !p.is_empty()) {
            sql.push(" AND action >= ").bind(p.to_owned());
            sql.push(" AND action < ").bind(format!("{p}\u{10FFFF}"));
        }
        if let Some(b) = before {
            sql.push(" AND id < ").bind(b);
        }
        sql.push(" ORDER BY id DESC LIMIT ").bind(limit);
        let rows = sql.build().fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| {
                Ok(AuditPageRow {
                    id: r.try_get("id")?,
                    entry: AuditRow {
                        at: r.try_get("at")?,
                        tenant_id: r.try_get("tenant_id")?,
                        actor: r.try_get("actor")?,
                        action: r.try_get("action")?,
                        resource: r.try_get("resource")?,
                        detail: r.try_get("detail")?,
                    },
                })
            })
            .collect()
    }
}
