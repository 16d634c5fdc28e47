//! The audit log's hash chain: entry n stores SHA-256(hash of entry n-1, its own fields). Any
//! edit, deletion or reordering of a stored entry breaks the chain from that entry on, and
//! `verify` names the first entry that no longer fits.

use sqlx::{AnyPool, Row};

use crate::db::Sql;
use crate::error::Result;
use crate::exec::Exec;
use crate::records::AuditRow;

/// The hash of one entry: its fields length-prefixed (so no field can bleed into the next),
/// chained to the previous entry's hash.
pub(crate) fn entry_hash(prev_hash: &str, seq: i64, e: &AuditRow) -> String {
    let mut data = Vec::with_capacity(256);
    for field in [
        prev_hash,
        &seq.to_string(),
        &e.at.to_string(),
        e.tenant_id.as_deref().unwrap_or(""),
        &e.actor,
        &e.action,
        &e.resource,
        &e.detail,
    ] {
        data.extend_from_slice(field.len().to_string().as_bytes());
        data.push(b':');
        data.extend_from_slice(field.as_bytes());
        data.push(b';');
    }
    hex::encode(certus_kms::sha256(&data))
}

/// Appends entries to the chain inside `tx`. Taking the head with an UPDATE first locks it, so
/// concurrent writers (on any node) extend the chain one after another.
pub(crate) async fn append<E: Exec>(tx: &mut E, entries: &[&AuditRow]) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let head =
        Sql::new("UPDATE audit_head SET seq = seq + $1 WHERE id = 1 RETURNING seq, hash").arg(entries.len() as i64);
    let (last, mut prev): (i64, String) = tx.fetch_one(head).await?;
    let mut rows = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        let seq = last - entries.len() as i64 + 1 + i as i64;
        let hash = entry_hash(&prev, seq, e);
        rows.push((*e, seq, std::mem::replace(&mut prev, hash.clone()), hash));
    }
    for chunk in rows.chunks(E::ROWS_PER_INSERT) {
        let mut sql =
            Sql::new("INSERT INTO audit_log (at, tenant_id, actor, action, resource, detail, seq, prev_hash, hash)");
        sql.values(chunk, |row, (e, seq, prev_hash, hash)| {
            row.bind(e.at)
                .bind(&e.tenant_id)
                .bind(&e.actor)
                .bind(&e.action)
                .bind(&e.resource)
                .bind(&e.detail)
                .bind(*seq)
                .bind(prev_hash)
                .bind(hash);
        });
        tx.run(sql).await?;
    }
    tx.run(Sql::new("UPDATE audit_head SET hash = $1 WHERE id = 1").arg(prev)).await?;
    Ok(())
}

/// The outcome of re-checking the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditCheck {
    /// Every entry and the head fit.
    Intact {
        /// How many entries the log holds.
        entries: i64,
    },
    /// The first entry that does not fit: its row id, position and why.
    Broken {
        /// Its id.
        id: i64,
        /// The entry's position in the chain.
        seq: i64,
        /// Why, in a few words.
        reason: String,
    },
}

const PAGE: i64 = 5000;

pub(crate) async fn verify(pool: &AnyPool) -> Result<AuditCheck> {
    let mut prev = "0".repeat(64);
    let mut expected_seq = 1;
    loop {
        let rows = sqlx::query(
            "SELECT id, seq, prev_hash, hash, at, tenant_id, actor, action, resource, detail FROM audit_log \
             WHERE seq >= $1 ORDER BY seq LIMIT $2",
        )
        .bind(expected_seq)
        .bind(PAGE)
        .fetch_all(pool)
        .await?;
        for r in &rows {
            let id: i64 = r.try_get("id")?;
            let seq: i64 = r.try_get("seq")?;
            let broken = |reason: &str| Ok(AuditCheck::Broken { id, seq, reason: reason.to_owned() });
            if seq != expected_seq {
                return broken(&format!("entry {expected_seq} is missing"));
            }
            let entry = AuditRow {
                at: r.try_get("at")?,
                tenant_id: r.try_get("tenant_id")?,
                actor: r.try_get("actor")?,
                action: r.try_get("action")?,
                resource: r.try_get("resource")?,
                detail: r.try_get("detail")?,
            };
            let stored_prev: Option<String> = r.try_get("prev_hash")?;
            let stored_hash: Option<String> = r.try_get("hash")?;
            if stored_prev.as_deref() != Some(prev.as_str()) {
                return broken("does not follow the previous entry");
            }
            let hash = entry_hash(&prev, seq, &entry);
            if stored_hash.as_deref() != Some(hash.as_str()) {
                return broken("its content does not match its hash");
            }
            prev = hash;
            expected_seq += 1;
        }
        if (rows.len() as i64) < PAGE {
            break;
        }
    }
    let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1").fetch_one(pool).await?;
    let (head_seq, head_hash): (i64, String) = (head.try_get("seq")?, head.try_get("hash")?);
    if head_seq != expected_seq - 1 || head_hash != prev {
        return Ok(AuditCheck::Broken {
            id: 0,
            seq: head_seq,
            reason: "entries after the last one were removed".into(),
        });
    }
    let unchained: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE seq IS NULL").fetch_one(pool).await?;
    if unchained > 0 {
        return Ok(AuditCheck::Broken { id: 0, seq: 0, reason: format!("{unchained} entries are outside the chain") });
    }
    Ok(AuditCheck::Intact { entries: expected_seq - 1 })
}

impl crate::store::Store {
    /// Re-checks the audit log's hash chain from the first entry to the head.
    pub async fn verify_audit_chain(&self) -> Result<AuditCheck> {
        crate::audit::verify(self.pool()).await
    }

    /// Appends one entry to the audit chain.
    pub async fn append_audit(&self, entry: &AuditRow) -> Result<()> {
        let mut tx = self.begin_write().await?;
        insert_audit(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(())
    }
}

pub(crate) async fn insert_audit(tx: &mut impl Exec, entry: &AuditRow) -> Result<()> {
    append(tx, &[entry]).await
}

#[cfg(test)]
mod tests {
    use super::entry_hash;
    use crate::records::AuditRow;

    /// The chain's hash is a stored format: entries written by any earlier version must verify.
    #[test]
    fn entry_hash_is_sha256_of_length_prefixed_fields() {
        let e = AuditRow {
            at: 1_700_000_000,
            tenant_id: Some("t1".into()),
            actor: "alice".into(),
            action: "cert.issue".into(),
            resource: "cert_1".into(),
            detail: "serial=01".into(),
        };
        // sha256("64:000…0;1:1;10:1700000000;2:t1;5:alice;10:cert.issue;6:cert_1;9:serial=01;")
        assert_eq!(
            entry_hash(&"0".repeat(64), 1, &e),
            "59148802ae6ec4d96ed06de05cdad4c242e00993317fb0db3affb1642f57d220"
        );
    }
}
