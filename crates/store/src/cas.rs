//! Certificate authorities.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::audit::insert_audit;
use crate::certificates::insert_certificate;
use crate::db::{Sql, flag};
use crate::error::{Error, Result, conflict_on_unique, found};
use crate::exec::Exec;
use crate::keys::insert_key;
use crate::records::*;
use crate::store::Store;

impl Store {
    /// Every CA of every tenant: the OCSP responder maps CertIDs to issuers across tenants.
    pub async fn all_cas(&self) -> Result<Vec<CaRow>> {
        let rows = sqlx::query(sql!("{CA_COLUMNS} ORDER BY c.created_at, c.id")).fetch_all(self.pool()).await?;
        rows.iter().map(ca_row).collect()
    }

    /// Certificates this CA has signed (an index range count; only for views, not hot paths).
    /// They live in the CA's tenant, which leads the (tenant, issuer, ...) index.
    pub async fn count_issued(&self, ca_id: &str) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM certificates \
             WHERE tenant_id = (SELECT tenant_id FROM cas WHERE id = $1) AND issuer_ca_id = $1",
        )
        .bind(ca_id)
        .fetch_one(self.pool())
        .await?)
    }

    /// How many CAs exist.
    pub async fn count_cas(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM cas").fetch_one(self.pool()).await?)
    }

    /// Records a CA Certus did not issue (given with its key): the key if new, the CA, its
    /// certificate in the inventory and the audit entry, in one transaction.
    pub async fn register_ca(&self, ca: &CaRow, key: Option<&KeyRow>, cert: &CertRow, audit: &AuditRow) -> Result<()> {
        let mut tx = self.begin_write().await?;
        if let Some(key) = key {
            insert_key(&mut tx, key).await?;
        }
        insert_ca_row(&mut tx, ca).await?;
        insert_certificate(&mut tx, cert).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A CA of the tenant.
    pub async fn get_ca(&self, tenant_id: &str, id: &str) -> Result<CaRow> {
        sqlx::query(sql!("{CA_COLUMNS} WHERE c.tenant_id = $1 AND c.id = $2"))
            .bind(tenant_id)
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .map(|r| ca_row(&r))
            .transpose()?
            .ok_or(Error::NotFound)
    }

    /// For the public CRL and CA-certificate downloads, which carry no token: CA ids are random
    /// and globally unique, and what they expose is public by design.
    pub async fn get_ca_public(&self, id: &str) -> Result<CaRow> {
        sqlx::query(sql!("{CA_COLUMNS} WHERE c.id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .map(|r| ca_row(&r))
            .transpose()?
            .ok_or(Error::NotFound)
    }

    /// The tenant's CAs.
    pub async fn list_cas(&self, tenant_id: &str) -> Result<Vec<CaRow>> {
        let rows = sqlx::query(sql!("{CA_COLUMNS} WHERE c.tenant_id = $1 ORDER BY c.created_at, c.id"))
            .bind(tenant_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(ca_row).collect()
    }

    /// Sets (or clears) a CA's default issuance profile.
    pub async fn set_ca_profile(
        &self,
        tenant_id: &str,
        ca_id: &str,
        profile_id: Option<&str>,
        audit: &AuditRow,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("UPDATE cas SET profile_id = $1 WHERE tenant_id = $2 AND id = $3")
            .bind(profile_id)
            .bind(tenant_id)
            .bind(ca_id)
            .execute(&mut *tx)
            .await?;
        found(&done)?;
        crate::audit::append(&mut tx, &[audit]).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// A CA is revoked when its own certificate is: the one its parent issued, or, for a root, its
/// self-signed certificate in the inventory (no issuer CA, same tenant and serial).
pub(crate) const CA_COLUMNS: &str = "SELECT c.id, c.tenant_id, c.name, c.common_name, c.ca_type, c.parent_ca_id, c.key_id, \
     c.key_type, c.key_size, c.cert_der, c.serial, c.valid_from, c.valid_until, c.is_active, c.created_at, c.profile_id, \
     CASE WHEN EXISTS (SELECT 1 FROM certificates x WHERE x.serial = c.serial AND x.revoked_at IS NOT NULL \
             AND (x.issuer_ca_id = c.parent_ca_id \
                  OR (c.parent_ca_id IS NULL AND x.issuer_ca_id IS NULL AND x.tenant_id = c.tenant_id))) \
         THEN 1 ELSE 0 END AS revoked, \
     (SELECT k.backend FROM keys k WHERE k.id = c.key_id) AS key_store FROM cas c";

pub(crate) fn ca_row(r: &AnyRow) -> Result<CaRow> {
    Ok(CaRow {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        name: r.try_get("name")?,
        common_name: r.try_get("common_name")?,
        ca_type: r.try_get("ca_type")?,
        parent_ca_id: r.try_get("parent_ca_id")?,
        key_id: r.try_get("key_id")?,
        key_type: r.try_get("key_type")?,
        key_size: r.try_get("key_size")?,
        cert_der: r.try_get("cert_der")?,
        serial: r.try_get("serial")?,
        valid_from: r.try_get("valid_from")?,
        valid_until: r.try_get("valid_until")?,
        is_active: flag(r, "is_active")?,
        created_at: r.try_get("created_at")?,
        revoked: flag(r, "revoked")?,
        key_store: r.try_get("key_store")?,
        profile_id: r.try_get("profile_id")?,
    })
}

/// Writes the CA row of a new CA (its key is written before, its certificate after).
pub(crate) async fn insert_ca_row(tx: &mut impl Exec, ca: &CaRow) -> Result<()> {
    let sql = Sql::new(
        "INSERT INTO cas (id, tenant_id, name, common_name, ca_type, parent_ca_id, key_id, key_type, key_size, \
             cert_der, serial, valid_from, valid_until, is_active, created_at, profile_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
    )
    .arg(&ca.id)
    .arg(&ca.tenant_id)
    .arg(&ca.name)
    .arg(&ca.common_name)
    .arg(&ca.ca_type)
    .arg(&ca.parent_ca_id)
    .arg(&ca.key_id)
    .arg(&ca.key_type)
    .arg(ca.key_size)
    .arg(&ca.cert_der)
    .arg(&ca.serial)
    .arg(ca.valid_from)
    .arg(ca.valid_until)
    .arg(ca.is_active)
    .arg(ca.created_at)
    .arg(&ca.profile_id);
    tx.run(sql).await.map_err(conflict_on_unique("a CA with this name"))?;
    Ok(())
}

impl Store {
    /// Moves CAs from one tenant to another with everything that is theirs there: their keys,
    /// their own certificate rows, every certificate they issued (with its kept key and search
    /// names) and their /api/v1 records, with the audit entry, in one transaction. A CA name
    /// already live in the target is a Conflict; nothing moves then.
    pub async fn move_cas(&self, ca_ids: &[String], from: &str, to: &str, audit: &AuditRow) -> Result<()> {
        let ids = |sql: &mut Sql| {
            sql.push("(");
            for (i, id) in ca_ids.iter().enumerate() {
                sql.push(if i == 0 { "" } else { ", " }).bind(id.clone());
            }
            sql.push(")");
        };
        // The certificates that move: those the CAs issued and the CAs' own rows.
        let moving = |sql: &mut Sql| {
            sql.push("(SELECT c.id FROM certificates c WHERE c.tenant_id = ").bind(from.to_owned());
            sql.push(" AND (c.issuer_ca_id IN ");
            ids(sql);
            sql.push(" OR EXISTS (SELECT 1 FROM cas a WHERE a.id IN ");
            ids(sql);
            sql.push(" AND a.serial = c.serial AND a.cert_der = c.cert_der)))");
        };
        let mut tx = self.begin_write().await?;
        let mut steps: Vec<Sql> = Vec::new();
        let mut s = Sql::new("UPDATE keys SET tenant_id = ");
        s.bind(to.to_owned()).push(" WHERE tenant_id = ").bind(from.to_owned());
        s.push(" AND (id IN (SELECT key_id FROM cas WHERE id IN ");
        ids(&mut s);
        s.push(") OR id IN (SELECT key_id FROM certificates WHERE key_id IS NOT NULL AND id IN ");
        moving(&mut s);
        s.push("))");
        steps.push(s);
        let mut s = Sql::new("UPDATE certificate_names SET tenant_id = ");
        s.bind(to.to_owned()).push(" WHERE tenant_id = ").bind(from.to_owned()).push(" AND certificate_id IN ");
        moving(&mut s);
        steps.push(s);
        let mut s = Sql::new("UPDATE certificates SET tenant_id = ");
        s.bind(to.to_owned()).push(" WHERE id IN ");
        moving(&mut s);
        steps.push(s);
        let mut s = Sql::new("UPDATE cas SET tenant_id = ");
        s.bind(to.to_owned()).push(" WHERE tenant_id = ").bind(from.to_owned()).push(" AND id IN ");
        ids(&mut s);
        steps.push(s);
        let mut s = Sql::new("UPDATE v1_cas SET tenant_id = ");
        s.bind(to.to_owned()).push(" WHERE ca_id IN ");
        ids(&mut s);
        steps.push(s);
        for step in steps {
            step.build()
                .execute(&mut *tx)
                .await
                .map_err(conflict_on_unique("a CA with this name in the organisation"))?;
        }
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }
}
