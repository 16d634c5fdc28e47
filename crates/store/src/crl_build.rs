//! One CRL build at a time per CA, across every node: the CRL Number is taken, the revocations
//! are read and the result is stored in that order, so a higher number never lists less than a
//! lower one. On PostgreSQL the build runs in a transaction whose first statement increments the
//! CA's counter, and the row lock that takes serialises builders on all nodes; SQLite has one
//! node, so a per-CA mutex does the same without holding the database's single write lock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sqlx::{Any, AnyPool};

use crate::records::{CrlRow, RevokedEntry};
use crate::sql::Backend;
use crate::{Error, Result};

pub(crate) type LocalLocks = Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>;

/// A CRL build in progress; dropping it without [`CrlBuild::finish`] stores nothing.
pub struct CrlBuild {
    ca_id: String,
    number: i64,
    inner: Inner,
}

enum Inner {
    Shared(sqlx::Transaction<'static, Any>),
    Local { pool: AnyPool, _guard: tokio::sync::OwnedMutexGuard<()> },
}

impl std::fmt::Debug for CrlBuild {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrlBuild").field("ca_id", &self.ca_id).field("number", &self.number).finish()
    }
}

const NEXT_NUMBER: &str = "UPDATE cas SET crl_counter = crl_counter + 1 WHERE id = $1 RETURNING crl_counter";

pub(crate) async fn begin(pool: &AnyPool, backend: Backend, locks: &LocalLocks, ca_id: &str) -> Result<CrlBuild> {
    let (number, inner) = match backend {
        Backend::Postgres => {
            let mut tx = pool.begin().await?;
            let number: Option<i64> = sqlx::query_scalar(NEXT_NUMBER).bind(ca_id).fetch_optional(&mut *tx).await?;
            (number.ok_or(Error::NotFound)?, Inner::Shared(tx))
        }
        Backend::Sqlite => {
            let lock = locks.lock().unwrap_or_else(|p| p.into_inner()).entry(ca_id.to_owned()).or_default().clone();
            let guard = lock.lock_owned().await;
            let number: Option<i64> = sqlx::query_scalar(NEXT_NUMBER).bind(ca_id).fetch_optional(pool).await?;
            (number.ok_or(Error::NotFound)?, Inner::Local { pool: pool.clone(), _guard: guard })
        }
    };
    Ok(CrlBuild { ca_id: ca_id.to_owned(), number, inner })
}

impl CrlBuild {
    /// This build's CRL Number (RFC 5280 §5.2.3), from the CA's one sequence.
    pub fn number(&self) -> i64 {
        self.number
    }

    pub async fn revocation_epoch(&mut self) -> Result<i64> {
        match &mut self.inner {
            Inner::Shared(tx) => crate::sql::revocation_epoch(&mut **tx, &self.ca_id).await,
            Inner::Local { pool, .. } => crate::sql::revocation_epoch(&*pool, &self.ca_id).await,
        }
    }

    /// Revocations read after the number was taken; see `Store::revoked_for_ca`.
    pub async fn revoked(&mut self, since: i64, now: i64) -> Result<Vec<RevokedEntry>> {
        match &mut self.inner {
            Inner::Shared(tx) => crate::sql::revoked_for_ca(&mut **tx, &self.ca_id, since, now).await,
            Inner::Local { pool, .. } => crate::sql::revoked_for_ca(&*pool, &self.ca_id, since, now).await,
        }
    }

    /// Stores the signed CRL (kept only if its number is the highest) and ends the build.
    pub async fn finish(self, crl: &CrlRow) -> Result<()> {
        match self.inner {
            Inner::Shared(mut tx) => {
                crate::sql::store_crl(&mut *tx, crl).await?;
                tx.commit().await?;
            }
            Inner::Local { pool, _guard } => crate::sql::store_crl(&pool, crl).await?,
        }
        Ok(())
    }
}
