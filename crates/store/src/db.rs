//! What every record module shares: the backend, the `$n` SQL builder, the transaction type and
//! the text encodings of lists and flags. A leaf: it knows no record kind.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::{Any, Arguments, Row};

use crate::error::Result;

/// Per-CA locks that serialise CRL builds on one SQLite node (see `crls.rs`).
pub(crate) type LocalLocks = Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>;

/// Which database is behind the `Any` pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite, the embedded default.
    Sqlite,
    /// PostgreSQL, shared by several nodes.
    Postgres,
}

/// How long making or handing out a database connection may take before the caller gets an
/// error: the pool's acquire timeout and PostgreSQL's issuance writer's connect.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Every SQLite connection's settings, the pool's and the issuance writer's. FULL: an
/// acknowledged write survives power loss, not only a crash. Checkpoints: a thread of the
/// store's runs them (`checkpointer.rs`); a commit runs one only when the WAL holds 64 MiB
/// (16384 pages), which keeps it bounded, and a rewound WAL file is trimmed back to 64 MiB.
pub(crate) const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; PRAGMA cache_size = -16384; \
     PRAGMA wal_autocheckpoint = 16384; PRAGMA journal_size_limit = 67108864;";

/// One bound value, as both backends store it: integers, text and bytes, each possibly NULL
/// (a typed NULL: PostgreSQL wants to know a parameter's type even when it is NULL).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Int(Option<i64>),
    Text(Option<String>),
    Blob(Option<Vec<u8>>),
}

macro_rules! value_from {
    ($($t:ty => |$v:ident| $e:expr),* $(,)?) => {
        $(impl From<$t> for Value {
            fn from($v: $t) -> Self {
                $e
            }
        })*
    };
}

value_from! {
    i64 => |v| Value::Int(Some(v)),
    Option<i64> => |v| Value::Int(v),
    bool => |v| Value::Int(Some(i64::from(v))),
    String => |v| Value::Text(Some(v)),
    Option<String> => |v| Value::Text(v),
    &str => |v| Value::Text(Some(v.to_owned())),
    &String => |v| Value::Text(Some(v.clone())),
    &Option<String> => |v| Value::Text(v.clone()),
    Vec<u8> => |v| Value::Blob(Some(v)),
    &Vec<u8> => |v| Value::Blob(Some(v.clone())),
}

/// A statement with `$n` placeholders and its values, built together so numbering and binding
/// cannot drift. Either backend runs it (`exec.rs`): sqlx for the pool, rusqlite for the SQLite
/// issuance writer. (sqlx's own `QueryBuilder` writes `?` for `Any`, which PostgreSQL rejects.)
pub(crate) struct Sql {
    pub(crate) text: String,
    pub(crate) args: Vec<Value>,
}

impl Sql {
    pub(crate) fn new(text: &str) -> Self {
        Sql { text: text.to_owned(), args: Vec::new() }
    }

    pub(crate) fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends the next placeholder and binds `value` to it.
    pub(crate) fn bind(&mut self, value: impl Into<Value>) -> &mut Self {
        self.args.push(value.into());
        self.text.push('$');
        self.text.push_str(&self.args.len().to_string());
        self
    }

    /// Binds the next value of a statement whose text already holds its placeholders.
    pub(crate) fn arg(mut self, value: impl Into<Value>) -> Self {
        self.args.push(value.into());
        self
    }

    /// `(v, v, ...), (v, ...)`: one parenthesised group per row, `bind_row` binding its values.
    pub(crate) fn values<R>(&mut self, rows: &[R], mut bind_row: impl FnMut(&mut ValuesRow<'_>, &R)) -> &mut Self {
        self.push(" VALUES ");
        for (i, row) in rows.iter().enumerate() {
            self.push(if i == 0 { "(" } else { ", (" });
            bind_row(&mut ValuesRow { sql: self, first: true }, row);
            self.push(")");
        }
        self
    }

    pub(crate) fn build(self) -> sqlx::query::Query<'static, Any, AnyArguments> {
        let mut args = AnyArguments::default();
        for value in self.args {
            // Adding to Any's buffer only fails for types Any cannot carry; these three it can.
            let _ = match value {
                Value::Int(v) => args.add(v),
                Value::Text(v) => args.add(v),
                Value::Blob(v) => args.add(v),
            };
        }
        sqlx::query_with(sqlx::AssertSqlSafe(self.text), args)
    }
}

pub(crate) struct ValuesRow<'a> {
    sql: &'a mut Sql,
    first: bool,
}

impl ValuesRow<'_> {
    pub(crate) fn bind(&mut self, value: impl Into<Value>) -> &mut Self {
        if !self.first {
            self.sql.push(", ");
        }
        self.first = false;
        self.sql.bind(value);
        self
    }
}

/// Queries assembled only from the column constants below, never from input.
macro_rules! sql {
    ($($t:tt)*) => { sqlx::AssertSqlSafe(format!($($t)*)) };
}

pub(crate) type Tx<'a> = sqlx::Transaction<'a, Any>;

/// A list as stored in one text column (newline separated).
pub(crate) fn join(list: &[String]) -> String {
    list.join("\n")
}

pub(crate) fn split(text: String) -> Vec<String> {
    if text.is_empty() { Vec::new() } else { text.split('\n').map(str::to_owned).collect() }
}

pub(crate) fn flag(r: &AnyRow, col: &str) -> Result<bool> {
    Ok(r.try_get::<i64, _>(col)? != 0)
}
