//! What every record module shares: the backend, the `$n` SQL builder, the transaction type and
//! the text encodings of lists and flags. A leaf: it knows no record kind.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::{Any, Arguments, Encode, Row, Type};

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

/// SQL text with `$n` placeholders and its arguments, built together so numbering and binding
/// cannot drift. (sqlx's own `QueryBuilder` writes `?` for `Any`, which PostgreSQL rejects.)
pub(crate) struct Sql {
    text: String,
    args: AnyArguments,
    count: usize,
}

impl Sql {
    pub(crate) fn new(text: &str) -> Self {
        Sql { text: text.to_owned(), args: AnyArguments::default(), count: 0 }
    }

    pub(crate) fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    pub(crate) fn bind<'q, T: Encode<'q, Any> + Type<Any> + 'q>(&mut self, value: T) -> &mut Self {
        self.count += 1;
        self.text.push('$');
        self.text.push_str(&self.count.to_string());
        // Encoding into Any's buffer only fails for types Any cannot carry, which do not compile.
        let _ = self.args.add(value);
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
        sqlx::query_with(sqlx::AssertSqlSafe(self.text), self.args)
    }
}

pub(crate) struct ValuesRow<'a> {
    sql: &'a mut Sql,
    first: bool,
}

impl ValuesRow<'_> {
    pub(crate) fn bind<'q, T: Encode<'q, Any> + Type<Any> + 'q>(&mut self, value: T) -> &mut Self {
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
