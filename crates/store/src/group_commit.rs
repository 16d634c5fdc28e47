//! Group commit for issuance: concurrent issuances queue here and one writer stores each batch
//! in one transaction (`issuance.rs` says how; `sqlite_writer.rs` and `postgres_writer.rs` say
//! where), so one fsync covers many certificates. A caller's future resolves only after the
//! batch holding its record has committed: acknowledged means durable.

use std::sync::{Arc, OnceLock};

use tokio::sync::{mpsc, oneshot};

use crate::error::Result;
use crate::records::{DoorId, IssuanceRecord};

/// Upper bound on records per transaction; keeps a batch's latency bounded under heavy load.
pub(crate) const MAX_BATCH: usize = 512;

/// Records that may wait for a writer before senders wait too.
pub(crate) const QUEUE: usize = 4 * MAX_BATCH;

pub(crate) struct Job {
    pub record: IssuanceRecord,
    /// Gets the record back once it is durable, with the door's id.
    pub done: oneshot::Sender<Result<(IssuanceRecord, DoorId)>>,
}

/// The next batch: `first` and whatever else has queued, up to [`MAX_BATCH`].
pub(crate) fn take_batch(first: Job, queue: &mut mpsc::Receiver<Job>) -> Vec<Job> {
    let mut batch = vec![first];
    while batch.len() < MAX_BATCH {
        match queue.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
    batch
}

/// The same failure for every record of a batch that could not be written.
pub(crate) fn all_failed(batch: &[Job], e: &crate::error::Error) -> Vec<Result<DoorId>> {
    batch.iter().map(|_| Err(e.batch_failure())).collect()
}

/// Answers each caller of a written batch with its own result.
pub(crate) fn answer(batch: Vec<Job>, results: Vec<Result<DoorId>>) {
    for (job, result) in batch.into_iter().zip(results) {
        let _ = job.done.send(result.map(|id| (job.record, id)));
    }
}

/// Receives the size of each group-commit batch.
pub type BatchObserver = Arc<dyn Fn(usize) + Send + Sync>;

/// Where the writers report batch sizes: an observer set (once) after start-up, if ever.
#[derive(Clone, Default)]
pub(crate) struct BatchObservers(Arc<OnceLock<BatchObserver>>);

impl BatchObservers {
    /// Sets the observer; later calls are ignored.
    pub(crate) fn set(&self, observer: BatchObserver) {
        let _ = self.0.set(observer);
    }

    pub(crate) fn observe(&self, batch: usize) {
        if let Some(observe) = self.0.get() {
            observe(batch);
        }
    }
}
