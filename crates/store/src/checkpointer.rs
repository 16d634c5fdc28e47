//! SQLite's WAL checkpoints, mostly on a thread of their own. Left to SQLite (a checkpoint every
//! 1000 pages), the connection whose commit takes the WAL past the limit copies the WAL into the
//! database file and syncs it before that commit returns: storing a 50 MB CRL waited half a
//! second for it, and an issuance batch stalls behind it. So this thread runs a passive
//! checkpoint (it never blocks readers or the writer) each interval, and commits checkpoint only
//! past 64 MiB of WAL (`SQLITE_PRAGMAS`), copying what this thread has not copied yet.
//!
//! That second part keeps the WAL bounded. SQLite rewinds the WAL only when a write begins with
//! every frame already copied back; under a steady write load new frames arrive while each
//! background checkpoint runs, so that never happens, and sustained issuance grew the WAL by
//! 80 MB a second until the disk filled. A commit's own checkpoint runs with no write in
//! progress, so it can finish, and the next write rewinds the WAL (measured: a batch now and
//! then takes 15-20 ms longer; the throughput did not move).
//! Durability does not depend on checkpoints: a commit is durable once its WAL frames are synced.

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
