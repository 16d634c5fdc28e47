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
