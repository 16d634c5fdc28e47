//! Running a [`Sql`] statement on either kind of connection: sqlx's (PostgreSQL, and SQLite's
//! pool) or a rusqlite connection of SQLite's own (the issuance writer in `sqlite_writer.rs`,
//! the inline reader in `store.rs`). What an issuance writes is written once, against [`Exec`].

use std::future::Future;
use std::path::Path;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use rusqlite::Connection;
use rusqlite::types::{ToSql, ToSqlOutput, ValueRef};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Executor, Row};

use crate::db::{SQLITE_PRAGMAS, Sql, Tx, Value};
use crate::error::{Error, Result};

/// Prepared statements a rusqlite connection keeps: every statement it is given, with room.
const CACHED_STATEMENTS: usize = 64;

/// A connection (or open transaction) that runs statements.
pub(crate) trait Exec {
    /// Rows per multi-row INSERT: many where each statement is a round trip, one where
    /// statements are in-process calls (one cached statement then serves every batch size).
    const ROWS_PER_INSERT: usize;

    /// Runs a statement; returns how many rows it changed.
    async fn run(&mut self, sql: Sql) -> Result<u64>;

    /// Runs a statement that returns rows (a SELECT, or a write with RETURNING).
    async fn fetch<T: Fetched>(&mut self, sql: Sql) -> Result<Vec<T>>;

    /// The one row a statement returns; `NotFound` if none.
    async fn fetch_one<T: Fetched>(&mut self, sql: Sql) -> Result<T> {
        self.fetch(sql).await?.into_iter().next().ok_or(Error::NotFound)
    }
}

/// A row as the caller reads it, from either backend.
pub(crate) trait Fetched: Sized {
    fn from_any(row: &AnyRow) -> Result<Self>;
    fn from_sqlite(row: &rusqlite::Row<'_>) -> Result<Self>;
}

impl Fetched for i64 {
    fn from_any(row: &AnyRow) -> Result<Self> {
        Ok(row.try_get(0)?)
    }
    fn from_sqlite(row: &rusqlite::Row<'_>) -> Result<Self> {
        Ok(row.get(0)?)
    }
}

impl Fetched for String {
    fn from_any(row: &AnyRow) -> Result<Self> {
        Ok(row.try_get(0)?)
    }
    fn from_sqlite(row: &rusqlite::Row<'_>) -> Result<Self> {
        Ok(row.get(0)?)
    }
}

impl Fetched for (i64, String) {
    fn from_any(row: &AnyRow) -> Result<Self> {
        Ok((row.try_get(0)?, row.try_get(1)?))
    }
    fn from_sqlite(row: &rusqlite::Row<'_>) -> Result<Self> {
        Ok((row.get(0)?, row.get(1)?))
    }
}

impl Fetched for (Option<i64>, Option<String>) {
    fn from_any(row: &AnyRow) -> Result<Self> {
        Ok((row.try_get(0)?, row.try_get(1)?))
    }
    fn from_sqlite(row: &rusqlite::Row<'_>) -> Result<Self> {
        Ok((row.get(0)?, row.get(1)?))
    }
}

impl Exec for AnyConnection {
    const ROWS_PER_INSERT: usize = usize::MAX;

    async fn run(&mut self, sql: Sql) -> Result<u64> {
        Ok(self.execute(sql.build()).await?.rows_affected())
    }

    async fn fetch<T: Fetched>(&mut self, sql: Sql) -> Result<Vec<T>> {
        self.fetch_all(sql.build()).await?.iter().map(T::from_any).collect()
    }
}

impl Exec for Tx<'_> {
    const ROWS_PER_INSERT: usize = AnyConnection::ROWS_PER_INSERT;

    async fn run(&mut self, sql: Sql) -> Result<u64> {
        Exec::run(&mut **self, sql).await
    }

    async fn fetch<T: Fetched>(&mut self, sql: Sql) -> Result<Vec<T>> {
        Exec::fetch(&mut **self, sql).await
    }
}

/// A rusqlite connection on the database file, with the pool's settings.
pub(crate) fn open_sqlite(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.execute_batch(SQLITE_PRAGMAS)?;
    conn.set_prepared_statement_cache_capacity(CACHED_STATEMENTS);
    Ok(conn)
}

/// The output of a future that completes without waiting, as every [`Exec`] future on a
/// rusqlite connection does; `Stalled` if it would wait (a bug: nothing here can wake it).
pub(crate) fn completed<F: Future>(future: F) -> Result<F::Output> {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => Ok(output),
        Poll::Pending => Err(Error::Stalled),
    }
}

impl Exec for Connection {
    /// In-process statements cost nothing to send: one row each keeps a single cached statement
    /// per table instead of one per batch size.
    const ROWS_PER_INSERT: usize = 1;

    async fn run(&mut self, sql: Sql) -> Result<u64> {
        Ok(bound(self, &sql)?.raw_execute()? as u64)
    }

    async fn fetch<T: Fetched>(&mut self, sql: Sql) -> Result<Vec<T>> {
        let mut stmt = bound(self, &sql)?;
        let mut rows = stmt.raw_query();
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(T::from_sqlite(row)?);
        }
        Ok(out)
    }
}

/// The statement, prepared (or taken from the cache) with its values bound.
fn bound<'c>(conn: &'c Connection, sql: &Sql) -> Result<rusqlite::CachedStatement<'c>> {
    let mut stmt = conn.prepare_cached(&numbered(&sql.text))?;
    for (i, value) in sql.args.iter().enumerate() {
        stmt.raw_bind_parameter(i + 1, value)?;
    }
    Ok(stmt)
}

/// The statement with `$n` placeholders written `?n`: in SQLite `$1` is a parameter *named*
/// "$1", numbered by where it first appears, while `?1` is parameter 1 wherever it stands.
/// Quoted literals are copied as they are.
fn numbered(text: &str) -> String {
    // Byte by byte (this runs for every statement the writer executes): '$', '?', digits and
    // quotes are ASCII, so no multi-byte character is touched.
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut quoted = false;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\'' {
            quoted = !quoted;
        }
        let placeholder = b == b'$' && !quoted && bytes.get(i + 1).is_some_and(u8::is_ascii_digit);
        out.push(if placeholder { b'?' } else { b });
    }
    String::from_utf8(out).expect("replacing ASCII '$' with ASCII '?' keeps UTF-8 valid")
}

impl ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Int(Some(v)) => ValueRef::Integer(*v),
            Value::Text(Some(v)) => ValueRef::Text(v.as_bytes()),
            Value::Blob(Some(v)) => ValueRef::Blob(v),
            Value::Int(None) | Value::Text(None) | Value::Blob(None) => ValueRef::Null,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::numbered;

    #[test]
    fn placeholders_are_numbered_outside_literals_only() {
        assert_eq!(
            numbered("SELECT $1, $12 WHERE a = '$3' AND b LIKE '%\"x\"%' AND c = $2"),
            "SELECT ?1, ?12 WHERE a = '$3' AND b LIKE '%\"x\"%' AND c = ?2"
        );
        assert_eq!(numbered("SELECT $a, $"), "SELECT $a, $");
        assert_eq!(numbered("SELECT 'é$1', $1 -- ü"), "SELECT 'é$1', ?1 -- ü");
    }
}
