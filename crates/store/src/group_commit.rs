//! Group commit for issuance: concurrent issuances queue here and a single writer stores them
//! in one transaction per batch, so one fsync covers many certificates. Each item sits in its own
//! savepoint, so one failing insert (say, a duplicate) fails only that caller. A caller's future
//! resolves only after the batch holding its row has committed: acknowledged means durable.

use sqlx::SqlitePool;
use tokio::sync::{mpsc, oneshot};

use crate::records::{AuditRow, CertRow, KeyRow};
use crate::{Error, Result};

/// Upper bound on rows per transaction; keeps a batch's latency bounded under heavy load.
const MAX_BATCH: usize = 512;

pub(crate) struct Job {
    pub cert: CertRow,
    pub key: Option<KeyRow>,
    pub audit: Option<AuditRow>,
    pub done: oneshot::Sender<Result<()>>,
}

pub(crate) fn spawn(pool: SqlitePool) -> mpsc::Sender<Job> {
    let (tx, mut rx) = mpsc::channel::<Job>(4 * MAX_BATCH);
    tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            let results = write(&pool, &batch).await;
            for (job, result) in batch.into_iter().zip(results) {
                let _ = job.done.send(result);
            }
        }
    });
    tx
}

async fn write(pool: &SqlitePool, batch: &[Job]) -> Vec<Result<()>> {
    let mut tx = match pool.begin().await {
        Ok(tx) => tx,
        Err(e) => return batch.iter().map(|_| Err(Error::Commit(e.to_string()))).collect(),
    };
    let mut results = Vec::with_capacity(batch.len());
    for job in batch {
        let item = async {
            sqlx::query("SAVEPOINT item").execute(&mut *tx).await?;
            let inserted = async {
                if let Some(key) = &job.key {
                    crate::sqlite::insert_key(&mut tx, key).await?;
                }
                crate::sqlite::insert_certificate(&mut tx, &job.cert).await?;
                if let Some(audit) = &job.audit {
                    crate::sqlite::insert_audit(&mut tx, audit).await?;
                }
                Ok::<(), Error>(())
            }
            .await;
            if inserted.is_err() {
                sqlx::query("ROLLBACK TO item").execute(&mut *tx).await?;
            }
            sqlx::query("RELEASE item").execute(&mut *tx).await?;
            inserted
        }
        .await;
        results.push(item);
    }
    match tx.commit().await {
        Ok(()) => results,
        Err(e) => batch.iter().map(|_| Err(Error::Commit(e.to_string()))).collect(),
    }
}
