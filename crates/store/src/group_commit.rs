//! Group commit for issuance: concurrent issuances queue here and one writer stores each batch
//! in one transaction (`issuance.rs` says how), so one fsync covers many certificates. A
//! caller's future resolves only after the batch holding its record has committed: acknowledged
//! means durable.

use std::future::Future;

use tokio::sync::{mpsc, oneshot};

use crate::error::Result;
use crate::records::{DoorId, IssuanceRecord};

/// Upper bound on records per transaction; keeps a batch's latency bounded under heavy load.
pub(crate) const MAX_BATCH: usize = 512;

pub(crate) struct Job {
    pub record: IssuanceRecord,
    /// Gets the record back once it is durable, with the door's id.
    pub done: oneshot::Sender<Result<(IssuanceRecord, DoorId)>>,
}

/// Starts the writer: it takes whatever has queued (up to [`MAX_BATCH`]) and hands it to `write`.
pub(crate) fn spawn<W, F>(write: W) -> mpsc::Sender<Job>
where
    W: Fn(Vec<Job>) -> F + Send + 'static,
    F: Future<Output = ()> + Send,
{
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
            write(batch).await;
        }
    });
    tx
}
