//! The store's one error type, and the two helpers that turn database outcomes into it.

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A unique key is taken; the text names what.
    #[error("already exists: {0}")]
    Conflict(String),
    /// No such record.
    #[error("not found")]
    NotFound,
    /// The database failed.
    #[error("database error: {0}")]
    Db(sqlx::Error),
    /// One of SQLite's own (rusqlite) connections failed: the issuance writer, the inline
    /// reader, a CRL build's reader.
    #[error("database error: {0}")]
    Sqlite(rusqlite::Error),
    /// A value the database cannot hold (PostgreSQL refuses NUL characters in text).
    #[error("{0}")]
    Unstorable(String),
    /// A conditional write found its record changed by someone else (say, a CSR no longer
    /// approved); nothing was written.
    #[error("{0}")]
    Changed(String),
    /// A statement on one of SQLite's own connections would have had to wait (a bug).
    #[error("the SQLite connection was made to wait")]
    Stalled,
    /// A group-commit batch could not be committed.
    #[error("batch commit failed: {0}")]
    Commit(String),
    /// The database URL or settings are unusable.
    #[error("configuration: {0}")]
    Config(String),
    /// The database cannot be reached or cannot take the work just now (connection lost or
    /// refused, no pooled connection in time, busy past its timeout, disk full or failing): the
    /// same request may succeed later.
    #[error("database unavailable: {0}")]
    Unavailable(String),
}

impl Error {
    /// Whether the failure is the database's state rather than the request: see
    /// [`Error::Unavailable`].
    pub fn is_unavailable(&self) -> bool {
        match self {
            Error::Unavailable(_) => true,
            Error::Db(e) => sqlx_unavailable(e),
            Error::Sqlite(rusqlite::Error::SqliteFailure(f, _)) => sqlite_unavailable(f.extended_code),
            _ => false,
        }
    }

    /// What each issuance of a batch that failed as a whole is told: the same kind of failure.
    pub(crate) fn batch_failure(&self) -> Error {
        if self.is_unavailable() { Error::Unavailable(self.to_string()) } else { Error::Commit(self.to_string()) }
    }
}

fn sqlx_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => match db.code() {
            // PostgreSQL: class 08 connection exception; 57P01-03 the server shutting down or
            // starting; 53xxx insufficient resources (disk full, out of memory, too many
            // connections).
            Some(code) if code.len() == 5 => {
                code.starts_with("08") || code.starts_with("57P") || code.starts_with("53")
            }
            // SQLite through sqlx: its result code as a number.
            Some(code) => code.parse().is_ok_and(sqlite_unavailable),
            None => false,
        },
        _ => false,
    }
}

/// SQLite: busy or locked past the busy timeout, disk full, I/O failing, the file unopenable.
fn sqlite_unavailable(extended_code: i32) -> bool {
    use rusqlite::ffi;
    matches!(
        extended_code & 0xff,
        ffi::SQLITE_BUSY | ffi::SQLITE_LOCKED | ffi::SQLITE_FULL | ffi::SQLITE_IOERR | ffi::SQLITE_CANTOPEN
    )
}

/// A store result.
pub type Result<T> = std::result::Result<T, Error>;

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            // 22021 character_not_in_repertoire: a NUL byte in a text value. SQLite would store it;
            // PostgreSQL refuses, and it is the caller's input, not a server fault.
            sqlx::Error::Database(db) if db.code().as_deref() == Some("22021") => {
                Error::Unstorable("text must not contain NUL characters".into())
            }
            _ => Error::Db(e),
        }
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Sqlite(e)
    }
}

/// `NotFound` when a keyed UPDATE or DELETE touched no row.
pub(crate) fn found(done: &sqlx::any::AnyQueryResult) -> Result<()> {
    if done.rows_affected() == 0 { Err(Error::NotFound) } else { Ok(()) }
}

/// Turns a unique-constraint violation (from sqlx or from the SQLite writer) into `Conflict`;
/// the one place that knows how.
pub(crate) fn conflict_on_unique<E: Into<Error>>(what: &str) -> impl FnOnce(E) -> Error + '_ {
    move |e| match e.into() {
        Error::Db(sqlx::Error::Database(db)) if db.is_unique_violation() => Error::Conflict(what.to_owned()),
        Error::Sqlite(rusqlite::Error::SqliteFailure(f, _))
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
        {
            Error::Conflict(what.to_owned())
        }
        e => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite(code: i32) -> Error {
        Error::Sqlite(rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None))
    }

    #[test]
    fn only_the_databases_state_is_unavailable() {
        assert!(Error::Db(sqlx::Error::PoolTimedOut).is_unavailable());
        assert!(Error::Db(sqlx::Error::Io(std::io::ErrorKind::ConnectionReset.into())).is_unavailable());
        assert!(sqlite(rusqlite::ffi::SQLITE_BUSY).is_unavailable());
        assert!(sqlite(rusqlite::ffi::SQLITE_IOERR_FSYNC).is_unavailable(), "extended codes by their primary code");
        assert!(sqlite(rusqlite::ffi::SQLITE_FULL).is_unavailable());
        assert!(!sqlite(rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE).is_unavailable());
        assert!(!Error::Conflict("x".into()).is_unavailable());
        assert!(!Error::Db(sqlx::Error::RowNotFound).is_unavailable());
    }

    #[test]
    fn a_failed_batch_tells_each_issuance_the_same_kind_of_failure() {
        assert!(matches!(sqlite(rusqlite::ffi::SQLITE_BUSY).batch_failure(), Error::Unavailable(_)));
        assert!(matches!(sqlite(rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE).batch_failure(), Error::Commit(_)));
    }
}
