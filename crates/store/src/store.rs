//! The store handle: one pool over SQLite (embedded default: one file in the data directory, WAL,
//! synchronous=FULL) or PostgreSQL, with the same SQL for both. Each record kind adds its methods
//! in its own module.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};

use crate::db::{Backend, CONNECT_TIMEOUT, LocalLocks, SQLITE_PRAGMAS, Sql};
use crate::error::{Error, Result};
use crate::exec::{Exec, Fetched, completed};
use crate::group_commit::{BatchObserver, BatchObservers, Job};

/// The handle on the database: a pool plus the group-commit writer; cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    pub(crate) crl_locks: LocalLocks,
    /// The group-commit writer: SQLite's writer thread or PostgreSQL's pool writer.
    pub(crate) issuance: tokio::sync::mpsc::Sender<Job>,
    batch_observers: BatchObservers,
    /// SQLite: a connection of its own for the point reads of hot paths (OCSP), run inline.
    inline_reader: Option<Arc<Mutex<rusqlite::Connection>>>,
    /// SQLite: the database file, for connections of their own (a CRL build's read).
    pub(crate) sqlite_file: Option<Arc<Path>>,
    /// SQLite: the CAs' revocation epochs as this process last read or bumped them.
    pub(crate) epochs: Option<Arc<crate::epochs::Epochs>>,
    /// SQLite: keeps the WAL checkpointer's thread running while any clone of the store lives.
    _checkpointer: Option<std::sync::mpsc::Sender<()>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating if needed) the SQLite database file and applies pending migrations.
    /// The database and its `-wal` and `-shm` files are the owner's alone (0600), whatever
    /// the umask: they hold password and token hashes, sealed keys and the audit log.
    pub async fn open(path: &Path) -> Result<Self> {
        private_files(path).map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        let store = Self::connect(&format!("sqlite://{}?mode=rwc", path.display())).await?;
        private_files(path).map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        Ok(store)
    }

    /// Connects to `sqlite://…` or `postgres://…` and applies pending migrations.
    pub async fn connect(url: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(Error::Config("database URL must start with sqlite: or postgres:".into()));
        };
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 8 } else { 16 })
            .acquire_timeout(CONNECT_TIMEOUT)
            // A pooled connection is pinged before each use to find one the server dropped; a
            // SQLite connection is a file handle that cannot go stale, and the ping is a round
            // trip to its worker thread on every query (half the work of an OCSP lookup).
            .test_before_acquire(backend == Backend::Postgres)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute(SQLITE_PRAGMAS).await?;
                    }
                    Ok(())
                })
            })
            .connect(url)
            .await?;
        crate::migrate::run(&pool, backend).await?;
        let batch_observers = BatchObservers::default();
        let (issuance, inline_reader, database_file, _checkpointer) = match backend {
            Backend::Sqlite => {
                let file = sqlite_file(&pool).await?;
                let reader = Arc::new(Mutex::new(crate::exec::open_sqlite(&file)?));
                let writer = crate::sqlite_writer::start(&file, batch_observers.clone())?;
                let checkpointer = crate::checkpointer::start(&file)?;
                (writer, Some(reader), Some(Arc::from(file)), Some(checkpointer))
            }
            Backend::Postgres => (crate::postgres_writer::start(&pool, batch_observers.clone())?, None, None, None),
        };
        Ok(Store {
            pool,
            backend,
            issuance,
            crl_locks: Default::default(),
            batch_observers,
            inline_reader,
            sqlite_file: database_file,
            epochs: (backend == Backend::Sqlite).then(Default::default),
            _checkpointer,
        })
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The first row of a point read, if any. On SQLite it runs inline on the reader connection:
    /// a few microseconds under a lock (in WAL mode a reader never waits for the writer) instead
    /// of two thread hops through sqlx. On PostgreSQL it goes through the pool.
    pub(crate) async fn read_row<T: Fetched>(&self, sql: Sql) -> Result<Option<T>> {
        let rows = match &self.inline_reader {
            Some(reader) => {
                let mut conn = reader.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                completed(conn.fetch(sql))??
            }
            None => Exec::fetch(&mut *self.pool.acquire().await?, sql).await?,
        };
        Ok(rows.into_iter().next())
    }

    /// Reports each group-commit batch's size to `observer` (set once; later calls are ignored).
    pub fn observe_batches(&self, observer: BatchObserver) {
        self.batch_observers.set(observer);
    }

    /// A writing transaction. On SQLite it takes the write lock at BEGIN (IMMEDIATE): a
    /// transaction that reads before it writes then waits its turn (busy_timeout) instead of
    /// failing with "database is locked" when another writer committed in between.
    pub(crate) async fn begin_write(&self) -> Result<crate::db::Tx<'static>> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// SQLite: holds `<database>.lock` for as long as the returned file is open, so that one
    /// server at a time runs on a database file: a server keeps in memory what only it writes
    /// (the revocation epochs OCSP checks), and two would each miss the other's revocations.
    /// Tools that only read (backup, audit verify) do not take it. `None` on PostgreSQL.
    pub fn hold_as_only_server(&self) -> Result<Option<std::fs::File>> {
        use std::os::unix::fs::OpenOptionsExt;
        let Some(db) = &self.sqlite_file else { return Ok(None) };
        let mut name = db.as_os_str().to_owned();
        name.push(".lock");
        let io = |e: std::io::Error| Error::Config(format!("{}: {e}", Path::new(&name).display()));
        let lock =
            std::fs::OpenOptions::new().write(true).create(true).truncate(false).mode(0o600).open(&name).map_err(io)?;
        match lock.try_lock() {
            Ok(()) => Ok(Some(lock)),
            Err(std::fs::TryLockError::WouldBlock) => Err(Error::Config(format!(
                "another Certus server is running on {} (it holds {}); one server per SQLite database",
                db.display(),
                Path::new(&name).display()
            ))),
            Err(std::fs::TryLockError::Error(e)) => Err(io(e)),
        }
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The file behind the SQLite pool, as SQLite resolved the URL. The issuance writer opens it
/// again on a connection of its own, so an in-memory database (one per connection) is refused.
async fn sqlite_file(pool: &AnyPool) -> Result<PathBuf> {
    let file: String =
        sqlx::query_scalar("SELECT file FROM pragma_database_list WHERE name = 'main'").fetch_one(pool).await?;
    if file.is_empty() {
        return Err(Error::Config("SQLite needs a database file; an in-memory database cannot be shared".into()));
    }
    Ok(PathBuf::from(file))
}

/// Creates the SQLite file 0600 if absent (SQLite gives its `-wal` and `-shm` the database
/// file's mode), and narrows any of the three that exist to 0600.
fn private_files(db: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    std::fs::OpenOptions::new().write(true).create(true).truncate(false).mode(0o600).open(db)?;
    for suffix in ["", "-wal", "-shm"] {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        let file = Path::new(&name);
        if file.exists() {
            std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(())
}
