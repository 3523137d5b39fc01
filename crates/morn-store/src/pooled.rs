//! The parts of [`Backend`](crate::backend::Backend) that are the same code on either
//! driver's pool: the usage ledger's batch inserts and the multi-step transactions.
//! Each backend's impl hands its pool to these, so the two cannot drift apart.

use sqlx::{Database, Executor, IntoArguments, Pool};

use crate::StoreError;
use crate::backend::{Bind, BindRow, Binds, Rows, Step, builder, classify};

/// How many rows a statement changed: both drivers report it, but sqlx has no trait
/// for it.
pub(crate) trait RowsAffected {
    fn rows(&self) -> u64;
}

impl RowsAffected for sqlx::sqlite::SqliteQueryResult {
    fn rows(&self) -> u64 {
        self.rows_affected()
    }
}

impl RowsAffected for sqlx::postgres::PgQueryResult {
    fn rows(&self) -> u64 {
        self.rows_affected()
    }
}

/// Runs `statements` in one transaction and commits only if they changed `expect`
/// rows in all, then runs `then` in the same transaction; `false` (rolled back) when
/// the count differs.
pub(crate) async fn execute_rows<DB, R, S>(
    pool: &Pool<DB>,
    statements: Vec<Rows<'_, R>>,
    expect: u64,
    then: Vec<Rows<'_, S>>,
) -> Result<bool, sqlx::Error>
where
    DB: Database,
    R: BindRow,
    S: BindRow,
    Binds<DB>: Bind,
    DB::Arguments: IntoArguments<DB>,
    DB::QueryResult: RowsAffected,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    let mut tx = pool.begin().await?;
    let mut affected = 0;
    for statement in statements {
        let args = Binds::<DB>::of(statement.rows).map_err(sqlx::Error::Encode)?;
        affected += sqlx::query_with(statement.sql, args)
            .execute(&mut *tx)
            .await?
            .rows();
    }
    if affected != expect {
        tx.rollback().await?;
        return Ok(false);
    }
    for statement in then {
        let args = Binds::<DB>::of(statement.rows).map_err(sqlx::Error::Encode)?;
        sqlx::query_with(statement.sql, args)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// Runs `steps` in one transaction; a step changing fewer rows than it needs ends it
/// with `NotFound` (dropping `tx` on an early return rolls back). On SQLite `BEGIN` is
/// deferred: the write lock is taken at the first write, and the busy timeout covers
/// waiting for it.
pub(crate) async fn transaction<DB>(
    pool: &Pool<DB>,
    steps: Vec<Step>,
    what: &'static str,
) -> Result<(), StoreError>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    DB::QueryResult: RowsAffected,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    // What `builder` binds.
    for<'a> Option<String>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    for<'a> Option<i64>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    for<'a> bool: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    for<'a> Vec<u8>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    for<'a> sqlx::types::Json<serde_json::Value>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    let mut tx = pool.begin().await?;
    for step in steps {
        let mut builder = builder::<DB>(step.query);
        let done = builder
            .build()
            .execute(&mut *tx)
            .await
            .map_err(|e| classify(e, what))?;
        if done.rows() < step.min_rows {
            return Err(StoreError::NotFound { what: step.what });
        }
    }
    tx.commit().await?;
    Ok(())
}
