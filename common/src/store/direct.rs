//! Statements that run the same on every connection a [`WriteTx`] can
//! have: through sqlx on PostgreSQL (and on SQLite's sqlx writer), or
//! straight into SQLite on the writer's thread.
//!
//! Through sqlx every SQLite statement is a round trip to the connection's
//! worker thread, two thread wake-ups, and the writer's turn is held
//! across all of them: under load most of a write transaction's turn went
//! in those hand-overs, not in SQLite. The hottest transactions (STORE,
//! EXPUNGE) therefore run on a second writer connection that SQLite is
//! called on directly (rusqlite, on the very libsqlite3 sqlx links), from
//! the writer's thread, one hand-over per transaction. Their statements
//! are written once, as a [`Sql`], and [`WriteTx::fetch`] or
//! [`WriteTx::run`] send it wherever the transaction is.

use sqlx::any::AnyRow;
use sqlx::{Any, AssertSqlSafe, FromRow};

use super::in_list::BindEach;
use super::{Open, Result, StoreError, WriteTx};

/// A value bound to a statement.
#[derive(Debug, Clone, Copy)]
pub(super) enum Arg<'a> {
    Int(i64),
    Text(&'a str),
}

impl From<i64> for Arg<'_> {
    fn from(value: i64) -> Self {
        Arg::Int(value)
    }
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(value: &'a str) -> Self {
        Arg::Text(value)
    }
}

/// A statement with its values; `$n` in the text is the `n`-th value.
pub(super) struct Sql<'a> {
    text: String,
    args: Vec<Arg<'a>>,
}

impl<'a> Sql<'a> {
    pub fn new(text: impl Into<String>) -> Sql<'a> {
        Sql {
            text: text.into(),
            args: Vec::new(),
        }
    }

    /// Binds the next value.
    pub fn bind(mut self, value: impl Into<Arg<'a>>) -> Sql<'a> {
        self.args.push(value.into());
        self
    }

    /// Binds each of `values`, in order, after those already bound.
    pub fn bind_each<T: Into<Arg<'a>>>(mut self, values: impl IntoIterator<Item = T>) -> Sql<'a> {
        self.args.extend(values.into_iter().map(Into::into));
        self
    }
}

/// A row a [`Sql`] returns, read from either kind of connection.
pub(super) trait DirectRow: Sized + Send + Unpin + for<'r> FromRow<'r, AnyRow> {
    fn from_direct(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self>;
}

macro_rules! tuple_rows {
    ($($name:ident $index:tt),+) => {
        impl<$($name),+> DirectRow for ($($name,)+)
        where
            $($name: rusqlite::types::FromSql + Send + Unpin
                + for<'r> sqlx::Decode<'r, Any> + sqlx::Type<Any>,)+
        {
            fn from_direct(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
                Ok(($(row.get::<_, $name>($index)?,)+))
            }
        }
    };
}

tuple_rows!(A 0);
tuple_rows!(A 0, B 1);
tuple_rows!(A 0, B 1, C 2);
tuple_rows!(A 0, B 1, C 2, D 3);

impl WriteTx {
    /// Runs a statement and returns every row it gives.
    pub(super) async fn fetch<R: DirectRow>(&mut self, sql: Sql<'_>) -> Result<Vec<R>> {
        if let Open::Direct(turn) = &mut self.tx {
            let conn = turn.as_mut().and_then(|w| w.direct.as_mut());
            let conn = conn.ok_or(StoreError::WriterGone)?;
            return Ok(direct_rows(conn, &sql)?);
        }
        let Sql { text, args } = sql;
        let query = bind_all(sqlx::query_as::<Any, R>(AssertSqlSafe(text)), &args);
        Ok(query.fetch_all(self.conn()).await?)
    }

    /// Runs a statement and returns the first row it gives, if any.
    pub(super) async fn fetch_one<R: DirectRow>(&mut self, sql: Sql<'_>) -> Result<Option<R>> {
        Ok(self.fetch(sql).await?.into_iter().next())
    }

    /// Runs a statement that returns no rows; returns how many it changed.
    pub(super) async fn run(&mut self, sql: Sql<'_>) -> Result<u64> {
        if let Open::Direct(turn) = &mut self.tx {
            let conn = turn.as_mut().and_then(|w| w.direct.as_mut());
            let conn = conn.ok_or(StoreError::WriterGone)?;
            let changed = prepared(conn, &sql)?.raw_execute()?;
            return Ok(changed as u64);
        }
        let Sql { text, args } = sql;
        let query = bind_all(sqlx::query(AssertSqlSafe(text)), &args);
        Ok(query.execute(self.conn()).await?.rows_affected())
    }
}

fn bind_all<'q, Q: BindEach<'q>>(query: Q, args: &[Arg<'q>]) -> Q {
    args.iter().fold(query, |query, arg| match *arg {
        Arg::Int(value) => query.bind_each([value]),
        Arg::Text(value) => query.bind_each([value]),
    })
}

fn direct_rows<R: DirectRow>(
    conn: &rusqlite::Connection,
    sql: &Sql<'_>,
) -> rusqlite::Result<Vec<R>> {
    let mut statement = prepared(conn, sql)?;
    let mut rows = statement.raw_query();
    let mut found = Vec::new();
    while let Some(row) = rows.next()? {
        found.push(R::from_direct(row)?);
    }
    Ok(found)
}

/// The statement of `sql`, prepared once per text, with its values bound
/// by their `$n` names (SQLite numbers named parameters in the order they
/// first appear, not by the digits in their names).
fn prepared<'c>(
    conn: &'c rusqlite::Connection,
    sql: &Sql<'_>,
) -> rusqlite::Result<rusqlite::CachedStatement<'c>> {
    let mut statement = conn.prepare_cached(&sql.text)?;
    for index in 1..=statement.parameter_count() {
        let name = statement.parameter_name(index).unwrap_or("?");
        let arg = name
            .strip_prefix('$')
            .and_then(|n| n.parse::<usize>().ok())
            .and_then(|n| sql.args.get(n.checked_sub(1)?).copied());
        match arg {
            Some(Arg::Int(value)) => statement.raw_bind_parameter(index, value)?,
            Some(Arg::Text(value)) => statement.raw_bind_parameter(index, value)?,
            None => return Err(rusqlite::Error::InvalidParameterName(name.to_string())),
        }
    }
    Ok(statement)
}

/// Opens SQLite's direct writer connection on the database at `path`,
/// set up as the sqlx one is.
pub(super) fn open(path: &std::path::Path) -> Result<rusqlite::Connection> {
    let conn = rusqlite::Connection::open(path)?;
    conn.execute_batch(super::SQLITE_PRAGMAS)?;
    conn.execute_batch(super::WRITER_PRAGMAS)?;
    // One statement per distinct text: the IN lists vary in length.
    conn.set_prepared_statement_cache_capacity(256);
    Ok(conn)
}
