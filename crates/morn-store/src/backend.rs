//! The seam between the shared repository code and a database driver.
//!
//! Every query in `repo/` is written once and runs on both SQLite and PostgreSQL: the
//! SQL both accept is the same text, so two copies would only drift apart. A query is
//! a list of static SQL fragments and bound values ([`Query`]); each backend turns it
//! into a `sqlx::QueryBuilder` of its own database, which writes the placeholders.
//! SQL fragments are `&'static str`, so a value can never be formatted into SQL.
//!
//! Hot batch inserts skip [`Query`]: their SQL text is built once per row count
//! ([`values_sql`], in each database's placeholder style) and their values are bound
//! straight into the driver's argument buffer ([`Bind`], [`BindRow`]), with no copy
//! of each value into an [`Arg`] and no statement text rebuilt per batch.
//!
//! This module is private: [`Backend`] is sealed, and only `SqliteStore` and
//! `PgStore` implement it.

use std::fmt::Write as _;
use std::future::Future;

use serde_json::Value;
use sqlx::error::BoxDynError;
use sqlx::{Arguments as _, Database, Encode, Type};

use crate::StoreError;

/// A value bound to a placeholder.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Text(Option<String>),
    Int(Option<i64>),
    Bool(bool),
    Bytes(Vec<u8>),
    /// TEXT in SQLite, JSONB in PostgreSQL.
    Json(Value),
}

impl From<&str> for Arg {
    fn from(value: &str) -> Self {
        Self::Text(Some(value.to_owned()))
    }
}

impl From<&String> for Arg {
    fn from(value: &String) -> Self {
        Self::Text(Some(value.clone()))
    }
}

impl From<Option<&str>> for Arg {
    fn from(value: Option<&str>) -> Self {
        Self::Text(value.map(str::to_owned))
    }
}

impl From<&Option<String>> for Arg {
    fn from(value: &Option<String>) -> Self {
        Self::Text(value.clone())
    }
}

impl From<i64> for Arg {
    fn from(value: i64) -> Self {
        Self::Int(Some(value))
    }
}

impl From<Option<i64>> for Arg {
    fn from(value: Option<i64>) -> Self {
        Self::Int(value)
    }
}

impl From<bool> for Arg {
    fn from(value: bool) -> Self {
        Self::Bool(value)
    }
}

impl From<&[u8]> for Arg {
    fn from(value: &[u8]) -> Self {
        Self::Bytes(value.to_vec())
    }
}

impl From<&Value> for Arg {
    fn from(value: &Value) -> Self {
        Self::Json(value.clone())
    }
}

impl From<&[String]> for Arg {
    fn from(value: &[String]) -> Self {
        Self::Json(Value::from(value.to_vec()))
    }
}

/// One piece of a query.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Sql(&'static str),
    Bind(Arg),
}

/// A query: static SQL with values bound in between.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Query {
    pub parts: Vec<Part>,
}

impl Query {
    /// Starts a query with a SQL fragment.
    pub fn new(sql: &'static str) -> Self {
        Self {
            parts: vec![Part::Sql(sql)],
        }
    }

    /// Appends SQL.
    pub fn sql(mut self, sql: &'static str) -> Self {
        self.parts.push(Part::Sql(sql));
        self
    }

    /// Appends a placeholder bound to `value`.
    pub fn bind(mut self, value: impl Into<Arg>) -> Self {
        self.parts.push(Part::Bind(value.into()));
        self
    }

    /// Appends placeholders separated by commas, as in a `VALUES (...)` list.
    pub fn binds(mut self, values: impl IntoIterator<Item = Arg>) -> Self {
        let values = values.into_iter();
        // Grow once, not step by step.
        self.parts.reserve(2 * values.size_hint().0);
        for (i, value) in values.enumerate() {
            if i > 0 {
                self.parts.push(Part::Sql(", "));
            }
            self.parts.push(Part::Bind(value));
        }
        self
    }

    /// Appends `other`, its SQL and its values.
    pub fn append(mut self, other: Query) -> Self {
        self.parts.extend(other.parts);
        self
    }

    /// Appends ` AND <sql> <value>` when `value` is set (for optional filters).
    pub fn and_if(self, sql: &'static str, value: Option<impl Into<Arg>>) -> Self {
        match value {
            Some(value) => self.sql(" AND ").sql(sql).bind(value),
            None => self,
        }
    }
}

/// How a database writes its placeholders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    /// SQLite: `?`, numbered by position.
    Question,
    /// PostgreSQL: `$1`, `$2`, ...
    Dollar,
}

/// The `head` fragments, then `rows` parenthesised lists of `columns` placeholders,
/// then `tail`: the text of a multi-row `INSERT ... VALUES`. Only placeholders and
/// static fragments are written, never a value, so it is as safe as a literal.
pub fn values_sql(
    style: Placeholder,
    head: &[&'static str],
    columns: usize,
    rows: usize,
    tail: &'static str,
) -> String {
    let mut sql = String::with_capacity(256 + tail.len() + rows * columns * 7);
    for fragment in head {
        sql.push_str(fragment);
    }
    let mut n = 0;
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..columns {
            if column > 0 {
                sql.push_str(", ");
            }
            n += 1;
            match style {
                Placeholder::Question => sql.push('?'),
                Placeholder::Dollar => {
                    let _ = write!(sql, "${n}");
                }
            }
        }
        sql.push(')');
    }
    sql.push_str(tail);
    sql
}

/// Where a row's values go, in placeholder order: the argument buffer of a statement
/// run by [`Backend::execute_rows`]. Each driver picks the cheapest encoding.
pub trait Bind {
    fn text(&mut self, value: &str);
    fn opt_text(&mut self, value: Option<&str>);
    fn int(&mut self, value: i64);
    fn opt_int(&mut self, value: Option<i64>);
    fn flag(&mut self, value: bool);
}

/// A row a [`Backend::execute_rows`] statement binds.
pub trait BindRow: Sync {
    /// Values per row: the placeholders of one row in the statement text.
    const VALUES: usize;

    /// Binds exactly [`Self::VALUES`] values, in column order.
    fn bind_row(&self, to: &mut impl Bind);
}

/// One statement of [`Backend::execute_rows`]: its text (see [`values_sql`]) and the
/// rows it binds.
#[derive(Debug)]
pub struct Rows<'a, R> {
    pub sql: &'static str,
    pub rows: &'a [R],
}

/// The arguments of one statement, being bound. The first encoding error is kept
/// and returned by [`Binds::of`], so a row's binding reads as a plain list.
pub struct Binds<DB: Database> {
    args: DB::Arguments,
    error: Option<BoxDynError>,
}

impl<DB: Database> Binds<DB> {
    /// The arguments of `rows`, bound in order.
    pub fn of<R: BindRow>(rows: &[R]) -> Result<DB::Arguments, BoxDynError>
    where
        Self: Bind,
    {
        let values = rows.len() * R::VALUES;
        let mut binds = Self {
            args: DB::Arguments::default(),
            error: None,
        };
        // The byte hint fits PostgreSQL's buffer: a 4-byte length and ~16 bytes of
        // value on average for the usage rows (ids, numbers, flags).
        binds.args.reserve(values, values * 20);
        for row in rows {
            row.bind_row(&mut binds);
        }
        match binds.error {
            Some(error) => Err(error),
            None => Ok(binds.args),
        }
    }

    /// Binds `value`, unless an earlier value failed to encode.
    pub fn push<'t, T: Encode<'t, DB> + Type<DB>>(&mut self, value: T) {
        if self.error.is_none()
            && let Err(error) = self.args.add(value)
        {
            self.error = Some(error);
        }
    }
}

/// Typed column reads, so row mapping is written once for both drivers.
pub trait RowRead {
    fn text(&self, col: &str) -> Result<String, sqlx::Error>;
    fn opt_text(&self, col: &str) -> Result<Option<String>, sqlx::Error>;
    fn int(&self, col: &str) -> Result<i64, sqlx::Error>;
    fn opt_int(&self, col: &str) -> Result<Option<i64>, sqlx::Error>;
    fn flag(&self, col: &str) -> Result<bool, sqlx::Error>;
    fn bytes(&self, col: &str) -> Result<Vec<u8>, sqlx::Error>;
    fn json(&self, col: &str) -> Result<Value, sqlx::Error>;
}

/// A statement inside a [`Backend::transaction`], with the fewest rows it must affect.
/// A statement below its minimum rolls the transaction back.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub query: Query,
    pub min_rows: u64,
    /// Reported in `StoreError::NotFound` when `min_rows` is not met.
    pub what: &'static str,
}

impl Step {
    /// A statement that may affect any number of rows.
    pub fn new(query: Query) -> Self {
        Self {
            query,
            min_rows: 0,
            what: "row",
        }
    }

    /// A statement that must affect at least one row, else `NotFound { what }`.
    pub fn expect_row(query: Query, what: &'static str) -> Self {
        Self {
            query,
            min_rows: 1,
            what,
        }
    }
}

/// A database the repository code can run on. Sealed: lives in a private module.
pub trait Backend: Send + Sync + 'static {
    type Row: RowRead + Send;

    /// `"sqlite"` or `"postgres"`.
    const NAME: &'static str;

    /// How this database writes placeholders, for [`values_sql`].
    const PLACEHOLDER: Placeholder;

    /// Runs a statement; returns the number of rows affected.
    fn execute(&self, query: Query) -> impl Future<Output = Result<u64, sqlx::Error>> + Send;

    fn fetch_optional(
        &self,
        query: Query,
    ) -> impl Future<Output = Result<Option<Self::Row>, sqlx::Error>> + Send;

    fn fetch_all(
        &self,
        query: Query,
    ) -> impl Future<Output = Result<Vec<Self::Row>, sqlx::Error>> + Send;

    /// Runs `statements` in one transaction; if they affected exactly `expect` rows in
    /// all, runs `then` and commits, and returns true. Otherwise rolls back, having
    /// stored nothing, and returns false. One commit for many statements: the usage
    /// ledger's batches would otherwise pay a commit (WAL frames, or a PostgreSQL fsync)
    /// per statement; `then` adds the batch to the hourly sums only if every row in it
    /// was new.
    fn execute_rows<R: BindRow, S: BindRow>(
        &self,
        statements: Vec<Rows<'_, R>>,
        expect: u64,
        then: Vec<Rows<'_, S>>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Runs `steps` in one transaction: all of them or none.
    fn transaction(
        &self,
        steps: Vec<Step>,
        what: &'static str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn schema_version(&self) -> impl Future<Output = Result<i64, StoreError>> + Send;

    fn close(&self) -> impl Future<Output = ()> + Send;
}

/// Maps a driver error to the store's: constraint violations become the typed
/// variants the service layer turns into 409 and 404/422 answers.
pub fn classify(error: sqlx::Error, what: &'static str) -> StoreError {
    if let sqlx::Error::Database(db) = &error {
        if db.is_unique_violation() {
            return StoreError::Conflict { what };
        }
        if db.is_foreign_key_violation() {
            return StoreError::Reference { what };
        }
    }
    StoreError::Database(error)
}

/// Turns a [`Query`] into a `QueryBuilder` of database `DB`.
pub fn builder<'a, DB>(query: Query) -> sqlx::QueryBuilder<DB>
where
    DB: sqlx::Database,
    Option<String>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    Option<i64>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    bool: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    Vec<u8>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    sqlx::types::Json<Value>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    let mut builder = sqlx::QueryBuilder::<DB>::new("");
    for part in query.parts {
        match part {
            Part::Sql(sql) => {
                builder.push(sql);
            }
            Part::Bind(Arg::Text(value)) => {
                builder.push_bind(value);
            }
            Part::Bind(Arg::Int(value)) => {
                builder.push_bind(value);
            }
            Part::Bind(Arg::Bool(value)) => {
                builder.push_bind(value);
            }
            Part::Bind(Arg::Bytes(value)) => {
                builder.push_bind(value);
            }
            Part::Bind(Arg::Json(value)) => {
                builder.push_bind(sqlx::types::Json(value));
            }
        }
    }
    builder
}

/// `[Arg; N]` from expressions that convert into [`Arg`], for [`Query::binds`].
macro_rules! args {
    ($($value:expr),* $(,)?) => {
        [$($crate::backend::Arg::from($value)),*]
    };
}
pub(crate) use args;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_sql_in_each_placeholder_style() {
        let head = ["INSERT INTO t (a, b)", " VALUES "];
        assert_eq!(
            values_sql(Placeholder::Question, &head, 2, 3, ";"),
            "INSERT INTO t (a, b) VALUES (?, ?), (?, ?), (?, ?);"
        );
        assert_eq!(
            values_sql(Placeholder::Dollar, &head, 2, 3, ";"),
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4), ($5, $6);"
        );
    }
}
