//! Group commit for issuance: concurrent issuances queue here and a single writer stores them
//! in one transaction per batch, so one fsync covers many certificates, written with one
//! multi-row INSERT per table; if anything in a batch fails, the batch is redone with each item
//! in its own savepoint, so one failing insert (say, a duplicate) fails only that caller. A caller's future
//! resolves only after the batch holding its row has committed: acknowledged means durable.

use sqlx::AnyPool;
use tokio::sync::{mpsc, oneshot};

use crate::issuance::{DoorId, IssuanceRecord, insert_ca_row, write_door};
use crate::records::{AuditRow, CertRow, KeyRow};
use crate::{Error, Result};

/// Upper bound on rows per transaction; keeps a batch's latency bounded under heavy load.
const MAX_BATCH: usize = 512;

pub(crate) struct Job {
    pub record: IssuanceRecord,
    /// Gets the record back once it is durable, with the door's id.
    pub done: oneshot::Sender<Result<(IssuanceRecord, DoorId)>>,
}

pub(crate) fn spawn(pool: AnyPool) -> mpsc::Sender<Job> {
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
                let _ = job.done.send(result.map(|id| (job.record, id)));
            }
        }
    });
    tx
}

async fn write(pool: &AnyPool, batch: &[Job]) -> Vec<Result<DoorId>> {
    match write_all(pool, batch).await {
        Ok(ids) => ids.into_iter().map(Ok).collect(),
        Err(e) if batch.len() == 1 => vec![Err(e)],
        // Something in the batch is bad: redo it item by item to fail only that one.
        Err(_) => write_each(pool, batch).await,
    }
}

/// The fast path: one multi-row INSERT per table and one commit for the whole batch (door
/// records, rare on the hot path, are written one by one).
async fn write_all(pool: &AnyPool, batch: &[Job]) -> Result<Vec<DoorId>> {
    let mut tx = pool.begin().await?;
    let keys: Vec<&KeyRow> = batch.iter().filter_map(|j| j.record.key.as_ref()).collect();
    let certs: Vec<&CertRow> = batch.iter().map(|j| &j.record.cert).collect();
    let audits: Vec<&AuditRow> = batch.iter().map(|j| &j.record.audit).collect();
    crate::sql::insert_keys(&mut tx, &keys).await?;
    for ca in batch.iter().filter_map(|j| j.record.ca.as_ref()) {
        insert_ca_row(&mut tx, ca).await?;
    }
    crate::sql::insert_certificates(&mut tx, &certs).await?;
    let mut ids = Vec::with_capacity(batch.len());
    for job in batch {
        ids.push(write_door(&mut tx, &job.record).await?);
    }
    crate::sql::insert_audits(&mut tx, &audits).await?;
    tx.commit().await.map_err(|e| Error::Commit(e.to_string()))?;
    Ok(ids)
}

/// One issuance, whole, in the caller's transaction.
async fn write_one(tx: &mut crate::sql::Tx<'_>, record: &IssuanceRecord) -> Result<DoorId> {
    if let Some(key) = &record.key {
        crate::sql::insert_key(tx, key).await?;
    }
    if let Some(ca) = &record.ca {
        insert_ca_row(tx, ca).await?;
    }
    crate::sql::insert_certificate(tx, &record.cert).await?;
    let id = write_door(tx, record).await?;
    crate::sql::insert_audit(tx, &record.audit).await?;
    Ok(id)
}

/// The careful path: each item in its own savepoint.
async fn write_each(pool: &AnyPool, batch: &[Job]) -> Vec<Result<DoorId>> {
    let mut tx = match pool.begin().await {
        Ok(tx) => tx,
        Err(e) => return batch.iter().map(|_| Err(Error::Commit(e.to_string()))).collect(),
    };
    let mut results = Vec::with_capacity(batch.len());
    for job in batch {
        let item = async {
            sqlx::query("SAVEPOINT item").execute(&mut *tx).await?;
            let written = write_one(&mut tx, &job.record).await;
            if written.is_err() {
                sqlx::query("ROLLBACK TO item").execute(&mut *tx).await?;
            }
            sqlx::query("RELEASE item").execute(&mut *tx).await?;
            written
        }
        .await;
        results.push(item);
    }
    match tx.commit().await {
        Ok(()) => results,
        Err(e) => batch.iter().map(|_| Err(Error::Commit(e.to_string()))).collect(),
    }
}
