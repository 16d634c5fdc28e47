//! SQLite's WAL checkpoints, on a thread of their own. Left to SQLite, the connection whose
//! commit takes the WAL past its limit copies the WAL into the database file and syncs it before
//! that commit returns: storing a 50 MB CRL waited half a second for it, and an issuance batch
//! stalls behind it. So every connection has automatic checkpoints off (`SQLITE_PRAGMAS`) and
//! this thread runs a passive checkpoint (it never blocks readers or the writer) each interval.
//! Durability does not depend on it: a commit is durable once its WAL frames are synced.

use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::exec::open_sqlite;

const INTERVAL: Duration = Duration::from_secs(1);

/// Starts the thread; it checkpoints a last time and ends when every clone of the returned
/// sender is dropped (with the last clone of the store).
pub(crate) fn start(path: &Path) -> Result<mpsc::Sender<()>> {
    let conn = open_sqlite(path)?;
    let (keep_running, stop) = mpsc::channel::<()>();
    std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || {
            loop {
                let last = matches!(stop.recv_timeout(INTERVAL), Err(RecvTimeoutError::Disconnected));
                if let Err(e) = conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE)") {
                    tracing::warn!(error = %e, "SQLite WAL checkpoint failed; retrying in a second");
                }
                if last {
                    break;
                }
            }
        })
        .map_err(|e| Error::Config(format!("starting the SQLite checkpointer: {e}")))?;
    Ok(keep_running)
}
