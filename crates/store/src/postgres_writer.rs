//! PostgreSQL's issuance writer: one OS thread with a single-threaded runtime of its own, owning
//! one connection. Each batch is about eight statements, each a round trip; on the server's
//! runtime every reply waited for a worker busy with requests (CPU-bound signing), so a batch of
//! 16 took ~5 ms of which ~2 ms was PostgreSQL's. On its own thread the writer is woken by the
//! kernel as each reply lands.

use sqlx::any::AnyConnectOptions;
use sqlx::{AnyConnection, AnyPool, ConnectOptions};
use tokio::sync::mpsc;

use crate::db::CONNECT_TIMEOUT;
use crate::error::{Error, Result};
use crate::group_commit::{BatchObservers, Job, QUEUE, all_failed, answer, take_batch};

/// Starts the writer's thread; it connects on first use (and again after a batch failed, in case
/// the connection broke) with the pool's options, and ends when the last sender is dropped.
pub(crate) fn start(pool: &AnyPool, observers: BatchObservers) -> Result<mpsc::Sender<Job>> {
    let options = pool.connect_options();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Config(format!("starting the PostgreSQL writer: {e}")))?;
    let (sender, mut queue) = mpsc::channel::<Job>(QUEUE);
    std::thread::Builder::new()
        .name("postgres-writer".into())
        .spawn(move || {
            runtime.block_on(async move {
                let mut own: Option<AnyConnection> = None;
                while let Some(first) = queue.recv().await {
                    let batch = take_batch(first, &mut queue);
                    observers.observe(batch.len());
                    let conn = match &mut own {
                        Some(conn) => Ok(conn),
                        slot @ None => connect(&options).await.map(|c| slot.insert(c)),
                    };
                    let results = match conn {
                        Ok(conn) => crate::issuance::write(conn, "BEGIN", &batch).await,
                        Err(e) => all_failed(&batch, &e),
                    };
                    if results.iter().any(Result::is_err) {
                        own = None;
                    }
                    answer(batch, results);
                }
            })
        })
        .map_err(|e| Error::Config(format!("starting the PostgreSQL writer: {e}")))?;
    Ok(sender)
}

/// A new connection, or an error after [`CONNECT_TIMEOUT`]: an unreachable server fails the
/// waiting batch instead of holding it through the kernel's connect retries.
async fn connect(options: &AnyConnectOptions) -> Result<AnyConnection> {
    match tokio::time::timeout(CONNECT_TIMEOUT, options.connect()).await {
        Ok(connected) => Ok(connected?),
        Err(_) => Err(Error::Unavailable("connecting to PostgreSQL timed out".into())),
    }
}
