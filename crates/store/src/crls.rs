//! One CRL build at a time per CA, across every node: the CRL Number is taken, the revocations
//! are read and the result is stored in that order, so a higher number never lists less than a
//! lower one. On PostgreSQL the build runs in a transaction whose first statement increments the
//! CA's counter, and the row lock that takes serialises builders on all nodes; SQLite has one
//! node, so a per-CA mutex does the same without holding the database's single write lock.

use std::fmt::Write;
use std::path::Path;
use std::sync::Arc;

use sqlx::{Any, AnyPool, Executor, Row};

use crate::error::{Error, Result};
use crate::records::{AuditRow, CrlRow};
use crate::store::Store;

/// A CRL build in progress; dropping it without [`CrlBuild::finish`] stores nothing.
pub struct CrlBuild {
    ca_id: String,
    number: i64,
    inner: Inner,
}

enum Inner {
    Shared(sqlx::Transaction<'static, Any>),
    Local { pool: AnyPool, file: Arc<Path>, _guard: tokio::sync::OwnedMutexGuard<()> },
}

impl std::fmt::Debug for CrlBuild {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrlBuild").field("ca_id", &self.ca_id).field("number", &self.number).finish()
    }
}

const NEXT_NUMBER: &str = "UPDATE cas SET crl_counter = crl_counter + 1 WHERE id = $1 RETURNING crl_counter";

pub(crate) async fn begin(store: &Store, ca_id: &str) -> Result<CrlBuild> {
    let pool = store.pool();
    let (number, inner) = match &store.sqlite_file {
        None => {
            let mut tx = pool.begin().await?;
            let number: Option<i64> = sqlx::query_scalar(NEXT_NUMBER).bind(ca_id).fetch_optional(&mut *tx).await?;
            (number.ok_or(Error::NotFound)?, Inner::Shared(tx))
        }
        Some(file) => {
            let lock =
                store.crl_locks.lock().unwrap_or_else(|p| p.into_inner()).entry(ca_id.to_owned()).or_default().clone();
            let guard = lock.lock_owned().await;
            let number: Option<i64> = sqlx::query_scalar(NEXT_NUMBER).bind(ca_id).fetch_optional(pool).await?;
            (number.ok_or(Error::NotFound)?, Inner::Local { pool: pool.clone(), file: file.clone(), _guard: guard })
        }
    };
    Ok(CrlBuild { ca_id: ca_id.to_owned(), number, inner })
}

impl CrlBuild {
    /// This build's CRL Number (RFC 5280 §5.2.3), from the CA's one sequence.
    pub fn number(&self) -> i64 {
        self.number
    }

    /// The CA's revocation epoch, read inside the build.
    pub async fn revocation_epoch(&mut self) -> Result<i64> {
        match &mut self.inner {
            Inner::Shared(tx) => revocation_epoch(&mut **tx, &self.ca_id).await,
            Inner::Local { pool, .. } => revocation_epoch(&*pool, &self.ca_id).await,
        }
    }

    /// Revocations read after the number was taken; see `Store::revoked_for_ca`.
    pub async fn revoked(&mut self, since: i64, now: i64) -> Result<RevokedList> {
        match &mut self.inner {
            Inner::Shared(tx) => revoked_for_ca(&mut **tx, &self.ca_id, since, now).await,
            Inner::Local { file, .. } => revoked_on_sqlite(file.clone(), &self.ca_id, since, now).await,
        }
    }

    /// Stores the signed CRL (kept only if its number is the highest), with its audit entry
    /// when an operator asked for it, and ends the build.
    pub async fn finish(self, crl: &CrlRow, audit: Option<&AuditRow>) -> Result<()> {
        // SQLite: the CA's build lock is held until the CRL and its announcement commit.
        let (mut tx, _held) = match self.inner {
            Inner::Shared(tx) => (tx, None),
            Inner::Local { pool, _guard, .. } => (pool.begin().await?, Some(_guard)),
        };
        if store_crl(&mut *tx, crl).await? {
            publish(&mut tx, crl).await?;
        }
        if let Some(audit) = audit {
            crate::audit::insert_audit(&mut tx, audit).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

impl Store {
    /// Ids of CAs whose stored CRL is missing or was produced before `stale_before`.
    pub async fn cas_with_stale_crl(&self, stale_before: i64) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT c.id FROM cas c LEFT JOIN crls r ON r.ca_id = c.id \
             WHERE (r.ca_id IS NULL OR r.this_update < $1) \
             AND NOT EXISTS (SELECT 1 FROM keys k WHERE k.id = c.key_id AND k.backend = 'none')",
        )
        .bind(stale_before)
        .fetch_all(self.pool())
        .await?)
    }

    /// The stored complete CRL (`delta` false) or delta CRL (`delta` true) of a CA.
    pub async fn get_crl(&self, ca_id: &str, delta: bool) -> Result<Option<CrlRow>> {
        let query = if delta {
            "SELECT ca_id, crl_number, der, this_update, next_update, epoch, base_number FROM delta_crls WHERE ca_id = $1"
        } else {
            "SELECT ca_id, crl_number, der, this_update, next_update, epoch, NULL AS base_number FROM crls WHERE ca_id = $1"
        };
        sqlx::query(query)
            .bind(ca_id)
            .fetch_optional(self.pool())
            .await?
            .map(|r| -> Result<CrlRow> {
                Ok(CrlRow {
                    ca_id: r.try_get("ca_id")?,
                    crl_number: r.try_get("crl_number")?,
                    der: r.try_get("der")?,
                    this_update: r.try_get("this_update")?,
                    next_update: r.try_get("next_update")?,
                    epoch: r.try_get("epoch")?,
                    base_number: r.try_get("base_number")?,
                })
            })
            .transpose()
    }

    /// Keeps the CRL with the highest number, so concurrent rebuilds never go backwards.
    pub async fn store_crl(&self, crl: &CrlRow) -> Result<()> {
        store_crl(self.pool(), crl).await.map(|_| ())
    }

    /// Starts building a CRL for `ca_id`; see [`CrlBuild`].
    pub async fn begin_crl_build(&self, ca_id: &str) -> Result<CrlBuild> {
        crate::crls::begin(self, ca_id).await
    }

    /// Certificates of a CA revoked at or after `since` that have not yet expired at `now`
    /// (RFC 5280 §3.3 lets expired entries drop off the CRL). `since` 0 gives a complete CRL's
    /// entries; a later time, a delta CRL's. Reads the (issuer_ca_id, revoked_at) index range.
    pub async fn revoked_for_ca(&self, ca_id: &str, since: i64, now: i64) -> Result<RevokedList> {
        match &self.sqlite_file {
            Some(file) => revoked_on_sqlite(file.clone(), ca_id, since, now).await,
            None => revoked_for_ca(self.pool(), ca_id, since, now).await,
        }
    }
}

/// Stores a CRL if its number is the highest; true when it was.
pub(crate) async fn store_crl<'e, E: Executor<'e, Database = Any>>(executor: E, crl: &CrlRow) -> Result<bool> {
    let query = match crl.base_number {
        None => {
            "INSERT INTO crls (ca_id, crl_number, der, this_update, next_update, epoch) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (ca_id) DO UPDATE SET crl_number = excluded.crl_number, der = excluded.der, \
                 this_update = excluded.this_update, next_update = excluded.next_update, epoch = excluded.epoch \
                 WHERE excluded.crl_number > crls.crl_number"
        }
        Some(_) => {
            "INSERT INTO delta_crls (ca_id, crl_number, der, this_update, next_update, epoch, base_number) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (ca_id) DO UPDATE SET crl_number = excluded.crl_number, der = excluded.der, \
                 this_update = excluded.this_update, next_update = excluded.next_update, epoch = excluded.epoch, \
                 base_number = excluded.base_number WHERE excluded.crl_number > delta_crls.crl_number"
        }
    };
    let mut q = sqlx::query(query)
        .bind(&crl.ca_id)
        .bind(crl.crl_number)
        .bind(&crl.der)
        .bind(crl.this_update)
        .bind(crl.next_update)
        .bind(crl.epoch);
    if let Some(base) = crl.base_number {
        q = q.bind(base);
    }
    Ok(q.execute(executor).await?.rows_affected() == 1)
}

/// Announces a stored complete CRL to the CA's tenant's webhooks, in the CRL's transaction.
async fn publish(tx: &mut crate::db::Tx<'_>, crl: &CrlRow) -> Result<()> {
    if crl.base_number.is_some() {
        return Ok(());
    }
    let tenant: String =
        sqlx::query_scalar("SELECT tenant_id FROM cas WHERE id = $1").bind(&crl.ca_id).fetch_one(&mut **tx).await?;
    let data = serde_json::json!({"ca_id": crl.ca_id, "crl_number": crl.crl_number,
                                  "this_update": crl.this_update, "next_update": crl.next_update});
    crate::webhooks::enqueue(tx, &tenant, "crl.published", data, crl.this_update).await
}

pub(crate) const REVOCATION_EPOCH: &str = "SELECT revocation_epoch FROM cas WHERE id = $1";

pub(crate) async fn revocation_epoch<'e, E: Executor<'e, Database = Any>>(executor: E, ca_id: &str) -> Result<i64> {
    sqlx::query_scalar(REVOCATION_EPOCH).bind(ca_id).fetch_optional(executor).await?.ok_or(Error::NotFound)
}

/// A CA's revoked, unexpired certificates since `since`, on PostgreSQL. They come back as one
/// aggregated text value: fetched through sqlx row by row, a million rows cost more than the
/// rest of a large CRL's build.
async fn revoked_for_ca<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    ca_id: &str,
    since: i64,
    now: i64,
) -> Result<RevokedList> {
    let all: Option<String> = sqlx::query_scalar(
        "SELECT string_agg(serial || ',' || revoked_at || ',' || COALESCE(revocation_reason, ''), ';') \
         FROM certificates WHERE issuer_ca_id = $1 AND revoked_at >= $2 AND not_after > $3",
    )
    .bind(ca_id)
    .bind(since)
    .bind(now)
    .fetch_one(executor)
    .await?;
    Ok(RevokedList(all.unwrap_or_default()))
}

/// The same list on SQLite, built row by row on a connection of its own, off the async runtime:
/// SQLite's own aggregate makes several strings a row, which for a million rows took longer than
/// reading them.
async fn revoked_on_sqlite(file: Arc<Path>, ca_id: &str, since: i64, now: i64) -> Result<RevokedList> {
    let ca_id = ca_id.to_owned();
    tokio::task::spawn_blocking(move || {
        let conn = crate::exec::open_sqlite(&file)?;
        let mut statement = conn.prepare(
            "SELECT serial, revoked_at, revocation_reason FROM certificates \
             WHERE issuer_ca_id = ?1 AND revoked_at >= ?2 AND not_after > ?3",
        )?;
        let mut rows = statement.query(rusqlite::params![ca_id, since, now])?;
        let mut text = String::new();
        while let Some(row) = rows.next()? {
            if !text.is_empty() {
                text.push(';');
            }
            let (serial, revoked_at, reason) = (text_at(row, 0)?, row.get::<_, i64>(1)?, text_at(row, 2)?);
            let _ = write!(text, "{},{revoked_at},{}", serial.unwrap_or_default(), reason.unwrap_or_default());
        }
        Ok(RevokedList(text))
    })
    .await
    .map_err(|_| Error::Db(sqlx::Error::WorkerCrashed))?
}

/// A text column borrowed from the row (no copy); `None` for NULL.
fn text_at<'r>(row: &'r rusqlite::Row<'_>, column: usize) -> rusqlite::Result<Option<&'r str>> {
    let text = row.get_ref(column)?.as_str_or_null();
    text.map_err(|e| rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, e.into()))
}

/// The revoked, unexpired certificates of a CA as read for a CRL: `serial,revoked_at,reason`
/// entries joined by `;`, parsed in place so a million entries cost no allocation each.
#[derive(Debug, Clone, Default)]
pub struct RevokedList(String);

/// One entry of a [`RevokedList`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Revoked<'a> {
    /// The serial, lower-case hex.
    pub serial: &'a str,
    /// When it was revoked.
    pub revoked_at: i64,
    /// Why, as stored (empty if no reason was recorded).
    pub reason: &'a str,
}

impl RevokedList {
    /// The entries by (revoked_at, serial).
    pub fn entries(&self) -> Result<Vec<Revoked<'_>>> {
        let mut entries = self
            .0
            .split(';')
            .filter(|e| !e.is_empty())
            .map(|e| {
                let mut fields = e.splitn(3, ',');
                let (serial, at, reason) = (fields.next(), fields.next(), fields.next());
                match (serial, at.and_then(|a| a.parse().ok()), reason) {
                    (Some(serial), Some(revoked_at), Some(reason)) => Ok(Revoked { serial, revoked_at, reason }),
                    _ => Err(Error::Db(sqlx::Error::Decode(format!("unreadable revocation entry {e:?}").into()))),
                }
            })
            .collect::<Result<Vec<_>>>()?;
        entries.sort_unstable_by(|a, b| (a.revoked_at, a.serial).cmp(&(b.revoked_at, b.serial)));
        Ok(entries)
    }
}
