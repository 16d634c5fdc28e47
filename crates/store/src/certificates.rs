//! The certificate inventory: every certificate Certus signs or imports, its revocation and status.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::crls::REVOCATION_EPOCH;
use crate::db::{Sql, Tx, join, split};
use crate::error::{Error, Result, conflict_on_unique};
use crate::exec::Exec;
use crate::keys::insert_key;
use crate::records::*;
use crate::store::Store;

impl Store {
    /// Stores an issued or imported certificate and, if kept, its sealed key, atomically.
    pub async fn insert_certificate(&self, cert: &CertRow, key: Option<&KeyRow>, audit: &AuditRow) -> Result<()> {
        let mut tx = self.begin_write().await?;
        if let Some(key) = key {
            insert_key(&mut tx, key).await?;
        }
        insert_certificate(&mut tx, cert).await?;
        crate::audit::append(&mut tx, &[audit]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A certificate of the tenant.
    pub async fn get_certificate(&self, tenant_id: &str, id: &str) -> Result<CertRow> {
        sqlx::query(sql!("{CERT_COLUMNS} WHERE tenant_id = $1 AND id = $2"))
            .bind(tenant_id)
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .map(|r| cert_row(&r))
            .transpose()?
            .ok_or(Error::NotFound)
    }

    /// The newest certificate of the tenant for this key, if any.
    pub async fn latest_certificate_for_key(&self, tenant_id: &str, key_id: &str) -> Result<Option<CertRow>> {
        sqlx::query(sql!(
            "{CERT_COLUMNS} WHERE tenant_id = $1 AND key_id = $2 AND key_id IS NOT NULL ORDER BY created_at DESC LIMIT 1"
        ))
        .bind(tenant_id)
        .bind(key_id)
        .fetch_optional(self.pool())
        .await?
        .map(|r| cert_row(&r))
        .transpose()
    }

    /// Certificates of the tenant with this serial (normally one; imports may collide). The sort
    /// key is an expression so that SQLite finds the rows by serial, not by walking the tenant
    /// in `created_at` order.
    pub async fn certificates_by_serial(&self, tenant_id: &str, serial: &str) -> Result<Vec<CertRow>> {
        let rows = sqlx::query(sql!("{CERT_COLUMNS} WHERE tenant_id = $1 AND serial = $2 ORDER BY created_at + 0"))
            .bind(tenant_id)
            .bind(serial)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(cert_row).collect()
    }

    /// A page of the tenant's certificates, by keyset pagination.
    pub async fn list_certificates(&self, tenant_id: &str, q: &CertQuery) -> Result<Vec<CertRow>> {
        // A name or serial filter matches a few rows: SQLite must find those through their index
        // and sort them, not walk the tenant in list order testing each row (its planner, without
        // statistics, prefers the ordered walk). A unary `+` keeps a column from choosing the
        // index: on the sort key for both filters, and for a name also on the tenant and issuer,
        // so the name index drives.
        let sqlite = self.backend() == crate::db::Backend::Sqlite;
        let by_name = sqlite && q.name_prefix.is_some();
        let sort_plus = if sqlite && (q.name_prefix.is_some() || q.serial.is_some()) { "+" } else { "" };
        let scope_plus = if by_name { "+" } else { "" };
        let mut sql = Sql::new(CERT_COLUMNS);
        sql.push(&format!(" WHERE {scope_plus}tenant_id = ")).bind(tenant_id.to_owned());
        if let Some(ca) = &q.issuer_ca_id {
            sql.push(&format!(" AND {scope_plus}issuer_ca_id = ")).bind(ca.clone());
        }
        if let Some(before) = q.not_after_before {
            sql.push(" AND not_after <= ").bind(before);
            sql.push(" AND not_after > ").bind(q.now);
        }
        if !q.include_revoked {
            sql.push(" AND revoked_at IS NULL");
        }
        if let Some(serial) = &q.serial {
            sql.push(" AND serial = ").bind(serial.clone());
        }
        if let Some(prefix) = &q.name_prefix {
            // A prefix is the index range [prefix, prefix + U+10FFFF).
            sql.push(" AND id IN (SELECT certificate_id FROM certificate_names WHERE tenant_id = ")
                .bind(tenant_id.to_owned());
            sql.push(" AND name >= ").bind(prefix.clone());
            sql.push(" AND name < ").bind(format!("{prefix}\u{10FFFF}"));
            sql.push(")");
        }
        match q.state {
            None => {}
            Some(CertState::Valid) => {
                sql.push(" AND revoked_at IS NULL AND not_after > ").bind(q.now);
            }
            Some(CertState::Revoked) => {
                sql.push(" AND revoked_at IS NOT NULL");
            }
            Some(CertState::Expired) => {
                sql.push(" AND revoked_at IS NULL AND not_after <= ").bind(q.now);
            }
        }
        let (column, before, direction) = match q.order {
            CertOrder::Newest => ("created_at", "<", "DESC"),
            CertOrder::ExpiringFirst => ("not_after", ">", "ASC"),
        };
        if let Some((key, id)) = &q.after {
            sql.push(&format!(" AND ({column} {before} ")).bind(*key);
            sql.push(&format!(" OR ({column} = ")).bind(*key);
            sql.push(&format!(" AND id {before} ")).bind(id.clone());
            sql.push("))");
        }
        sql.push(&format!(" ORDER BY {sort_plus}{column} {direction}, id {direction} LIMIT ")).bind(q.limit);
        let rows = sql.build().fetch_all(self.pool()).await?;
        rows.iter().map(cert_row).collect()
    }

    /// Marks a certificate revoked and bumps its CA's revocation epoch, in one transaction.
    /// Returns false if it already was revoked (nothing is changed).
    pub async fn revoke_certificate(
        &self,
        tenant_id: &str,
        id: &str,
        at: i64,
        reason: &str,
        audit: &AuditRow,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        if !mark_revoked(&mut tx, tenant_id, id, at, reason).await? {
            return Ok(false);
        }
        let row = sqlx::query("SELECT serial, issuer_ca_id FROM certificates WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let data = serde_json::json!({"certificate_id": id, "serial": row.try_get::<String, _>("serial")?,
            "issuer_ca_id": row.try_get::<Option<String>, _>("issuer_ca_id")?, "reason": reason, "revoked_at": at});
        crate::webhooks::enqueue(&mut tx, tenant_id, "certificate.revoked", data, at).await?;
        crate::audit::append(&mut tx, &[audit]).await?;
        self.commit_revocation(tx, id, None).await?;
        Ok(true)
    }

    /// Deletes a certificate of the tenant that no CA of Certus issued (and its kept key's
    /// link), with its audit entry.
    pub async fn delete_orphan_certificate(&self, tenant_id: &str, id: &str, audit: &AuditRow) -> Result<()> {
        let mut tx = self.begin_write().await?;
        // /api/v1's record of it, if that door listed it.
        sqlx::query(
            "DELETE FROM v1_certificates WHERE cert_id = \
             (SELECT id FROM certificates WHERE tenant_id = $1 AND id = $2 AND issuer_ca_id IS NULL)",
        )
        .bind(tenant_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query(
            "SELECT common_name, sans FROM certificates WHERE tenant_id = $1 AND id = $2 AND issuer_ca_id IS NULL",
        )
        .bind(tenant_id)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(Error::NotFound)?;
        // By the whole key, name by name: by certificate alone it would read every name of the tenant.
        let (common_name, sans): (Option<String>, String) = (row.try_get("common_name")?, row.try_get("sans")?);
        for name in names_of(common_name.as_ref(), &split(sans)) {
            sqlx::query("DELETE FROM certificate_names WHERE tenant_id = $1 AND name = $2 AND certificate_id = $3")
                .bind(tenant_id)
                .bind(name)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("DELETE FROM certificates WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        crate::audit::append(&mut tx, &[audit]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Changes whenever a certificate of the CA is revoked.
    pub async fn revocation_epoch(&self, ca_id: &str) -> Result<i64> {
        let generation = match self.epochs.as_deref().map(|kept| kept.get(ca_id)) {
            Some(Ok(epoch)) => return Ok(epoch),
            Some(Err(generation)) => Some(generation),
            None => None,
        };
        let epoch = self.read_row(Sql::new(REVOCATION_EPOCH).arg(ca_id)).await?.ok_or(Error::NotFound)?;
        if let (Some(kept), Some(generation)) = (&self.epochs, generation) {
            kept.keep(generation, ca_id, epoch);
        }
        Ok(epoch)
    }

    /// Ends a transaction that revoked (or released) `certificate_id`: bumps its issuer's
    /// revocation epoch, and `also_ca`'s, commits, then forgets the epochs kept in memory.
    async fn commit_revocation(&self, mut tx: Tx<'_>, certificate_id: &str, also_ca: Option<&str>) -> Result<()> {
        sqlx::query(
            "UPDATE cas SET revocation_epoch = revocation_epoch + 1 \
             WHERE id = $1 OR id = (SELECT issuer_ca_id FROM certificates WHERE id = $2)",
        )
        .bind(also_ca)
        .bind(certificate_id)
        .execute(&mut *tx)
        .await?;
        let committed = tx.commit().await;
        if let Some(kept) = &self.epochs {
            kept.forget();
        }
        Ok(committed?)
    }

    /// Good, revoked or unknown, for the OCSP responder.
    pub async fn serial_status(&self, issuer_ca_id: &str, serial: &str) -> Result<SerialStatus> {
        let sql =
            Sql::new("SELECT revoked_at, revocation_reason FROM certificates WHERE issuer_ca_id = $1 AND serial = $2")
                .arg(issuer_ca_id)
                .arg(serial);
        Ok(match self.read_row::<(Option<i64>, Option<String>)>(sql).await? {
            None => SerialStatus::Unknown,
            Some((revoked_at, reason)) => match revoked_at {
                None => SerialStatus::Good,
                Some(at) => SerialStatus::Revoked { at, reason: reason.unwrap_or_default() },
            },
        })
    }

    /// The CA's OCSP responder, if it has one.
    pub async fn get_responder(&self, ca_id: &str) -> Result<Option<ResponderRow>> {
        sqlx::query("SELECT ca_id, key_id, cert_der, not_after, created_at FROM ocsp_responders WHERE ca_id = $1")
            .bind(ca_id)
            .fetch_optional(self.pool())
            .await?
            .map(|r| -> Result<ResponderRow> {
                Ok(ResponderRow {
                    ca_id: r.try_get("ca_id")?,
                    key_id: r.try_get("key_id")?,
                    cert_der: r.try_get("cert_der")?,
                    not_after: r.try_get("not_after")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .transpose()
    }

    /// Clears a certificateHold revocation (and bumps the CA's revocation epoch), atomically.
    /// False if the certificate is not on hold.
    pub async fn release_hold(&self, tenant_id: &str, id: &str, audit: &AuditRow) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE certificates SET revoked_at = NULL, revocation_reason = NULL \
             WHERE tenant_id = $1 AND id = $2 AND revocation_reason = 'certificate_hold'",
        )
        .bind(tenant_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        crate::audit::append(&mut tx, &[audit]).await?;
        self.commit_revocation(tx, id, None).await?;
        Ok(true)
    }

    /// Revocation state of a serial issued by one of our CAs: `None` if unknown.
    pub async fn revocation_of(&self, issuer_ca_id: &str, serial: &str) -> Result<Option<Option<i64>>> {
        let row = sqlx::query("SELECT revoked_at FROM certificates WHERE issuer_ca_id = $1 AND serial = $2")
            .bind(issuer_ca_id)
            .bind(serial)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| r.try_get::<Option<i64>, _>("revoked_at").map_err(Error::from)).transpose()
    }
}

pub(crate) async fn insert_certificate(tx: &mut impl Exec, c: &CertRow) -> Result<()> {
    insert_certificates(tx, &[c]).await
}

/// One multi-row INSERT for any number of certificates.
pub(crate) async fn insert_certificates<E: Exec>(tx: &mut E, certs: &[&CertRow]) -> Result<()> {
    for chunk in certs.chunks(E::ROWS_PER_INSERT) {
        let mut sql = Sql::new(
            "INSERT INTO certificates (id, tenant_id, issuer_ca_id, serial, common_name, sans, not_before, \
             not_after, cert_der, chain_pem, key_id, role_name, source, revoked_at, revocation_reason, created_at)",
        );
        sql.values(chunk, |row, c| {
            row.bind(&c.id)
                .bind(&c.tenant_id)
                .bind(&c.issuer_ca_id)
                .bind(&c.serial)
                .bind(&c.common_name)
                .bind(join(&c.sans))
                .bind(c.not_before)
                .bind(c.not_after)
                .bind(&c.cert_der)
                .bind(&c.chain_pem)
                .bind(&c.key_id)
                .bind(&c.role_name)
                .bind(&c.source)
                .bind(c.revoked_at)
                .bind(&c.revocation_reason)
                .bind(c.created_at);
        });
        tx.run(sql).await.map_err(conflict_on_unique("a certificate with this issuer and serial"))?;
    }
    insert_names(tx, certs).await
}

/// Rows of `certificate_names` per statement: well under SQLite's bound-parameter limit.
const NAMES_PER_STATEMENT: usize = 2000;

/// A certificate's names as search finds them: its CN and SANs, lower-cased, each once.
fn names_of(common_name: Option<&String>, sans: &[String]) -> Vec<String> {
    let mut names: Vec<String> =
        common_name.into_iter().chain(sans).filter(|n| !n.is_empty()).map(|n| n.to_lowercase()).collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// Indexes every name of the certificates (CN and SANs, lower-cased) for search.
async fn insert_names<E: Exec>(tx: &mut E, certs: &[&CertRow]) -> Result<()> {
    let mut names: Vec<(&str, String, &str)> = Vec::new();
    for c in certs {
        names.extend(
            names_of(c.common_name.as_ref(), &c.sans).into_iter().map(|n| (c.tenant_id.as_str(), n, c.id.as_str())),
        );
    }
    for chunk in names.chunks(NAMES_PER_STATEMENT.min(E::ROWS_PER_INSERT)) {
        let mut sql = Sql::new("INSERT INTO certificate_names (tenant_id, name, certificate_id)");
        sql.values(chunk, |row, (tenant, name, id)| {
            row.bind(*tenant).bind(name).bind(*id);
        });
        sql.push(" ON CONFLICT DO NOTHING");
        tx.run(sql).await?;
    }
    Ok(())
}

pub(crate) const CERT_COLUMNS: &str = "SELECT id, tenant_id, issuer_ca_id, serial, common_name, sans, not_before, not_after, \
     cert_der, chain_pem, key_id, role_name, source, revoked_at, revocation_reason, created_at FROM certificates";

pub(crate) fn cert_row(r: &AnyRow) -> Result<CertRow> {
    Ok(CertRow {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        issuer_ca_id: r.try_get("issuer_ca_id")?,
        serial: r.try_get("serial")?,
        common_name: r.try_get("common_name")?,
        sans: split(r.try_get("sans")?),
        not_before: r.try_get("not_before")?,
        not_after: r.try_get("not_after")?,
        cert_der: r.try_get("cert_der")?,
        chain_pem: r.try_get("chain_pem")?,
        key_id: r.try_get("key_id")?,
        role_name: r.try_get("role_name")?,
        source: r.try_get("source")?,
        revoked_at: r.try_get("revoked_at")?,
        revocation_reason: r.try_get("revocation_reason")?,
        created_at: r.try_get("created_at")?,
    })
}

impl Store {
    /// Revokes a CA: its own certificate (`ca_cert_id`, listed in its parent's CRL) and every
    /// certificate it issued that is not revoked yet (listed in its own CRL), with both CAs'
    /// revocation epochs bumped and the audit entry, in one transaction. Returns how many of its
    /// certificates were revoked with it; false in `.0` if the CA certificate was already revoked.
    pub async fn revoke_ca(
        &self,
        tenant_id: &str,
        ca_id: &str,
        ca_cert_id: &str,
        at: i64,
        reason: &str,
        audit: &AuditRow,
    ) -> Result<(bool, u64)> {
        let mut tx = self.begin_write().await?;
        if !mark_revoked(&mut tx, tenant_id, ca_cert_id, at, reason).await? {
            return Ok((false, 0));
        }
        let issued = sqlx::query(
            "UPDATE certificates SET revoked_at = $1, revocation_reason = $2 \
             WHERE tenant_id = $3 AND issuer_ca_id = $4 AND revoked_at IS NULL",
        )
        .bind(at)
        .bind(reason)
        .bind(tenant_id)
        .bind(ca_id)
        .execute(&mut *tx)
        .await?;
        crate::audit::append(&mut tx, &[audit]).await?;
        self.commit_revocation(tx, ca_cert_id, Some(ca_id)).await?;
        Ok((true, issued.rows_affected()))
    }
}

/// Marks one certificate of the tenant revoked; false if it already was (or is not there).
async fn mark_revoked(tx: &mut Tx<'_>, tenant_id: &str, id: &str, at: i64, reason: &str) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE certificates SET revoked_at = $1, revocation_reason = $2 \
         WHERE tenant_id = $3 AND id = $4 AND revoked_at IS NULL",
    )
    .bind(at)
    .bind(reason)
    .bind(tenant_id)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}
