//! SQLite's issuance writer: one OS thread owning one rusqlite connection, with its prepared
//! statements cached. Through sqlx, every statement is a round trip to the connection's worker
//! thread (two context switches, about eight statements per batch); here the whole batch runs
//! on the thread that owns the connection. It runs the same code as PostgreSQL's writer
//! (`issuance.rs`, written against `Exec`): on this connection no statement waits, so each
//! batch's future completes on its first poll.

use std::path::Path;

use rusqlite::Connection;
use tokio::sync::mpsc;

use crate::error::{Error, Result};
use crate::exec::{completed, open_sqlite};
use crate::group_commit::{BatchObservers, Job, QUEUE, all_failed, answer, take_batch};

/// Opens the writer's connection on the database file and starts its thread; the thread ends
/// when the last sender is dropped.
pub(crate) fn start(path: &Path, observers: BatchObservers) -> Result<mpsc::Sender<Job>> {
    let conn = open_sqlite(path)?;
    let (sender, mut queue) = mpsc::channel::<Job>(QUEUE);
    std::thread::Builder::new()
        .name("sqlite-writer".into())
        .spawn(move || {
            let mut conn: Connection = conn;
            while let Some(first) = queue.blocking_recv() {
                let batch = take_batch(first, &mut queue);
                observers.observe(batch.len());
                let results = match completed(crate::issuance::write(&mut conn, "BEGIN IMMEDIATE", &batch)) {
                    Ok(results) => results,
                    Err(e) => {
                        let _ = conn.execute_batch("ROLLBACK");
                        all_failed(&batch, &e)
                    }
                };
                answer(batch, results);
            }
        })
        .map_err(|e| Error::Config(format!("starting the SQLite writer: {e}")))?;
    Ok(sender)
}
