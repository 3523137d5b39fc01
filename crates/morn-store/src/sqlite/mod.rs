//! The embedded SQLite store: the connection, its migrator, and the driver glue the
//! shared repository code runs on.

mod bulk;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::RuntimeFlavor;

use serde_json::Value;
use sqlx::Row;
use sqlx::sqlite::{
    Sqlite, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::types::Json;

use crate::StoreError;
use crate::backend::{Backend, BindRow, Placeholder, Query, RowRead, Rows, Step, builder};
use crate::migrate::SQLITE;
use crate::pooled;

use self::bulk::Bulk;

/// A SQLite database file (`morn.db`) inside the data directory.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// The usage ledger's bulk inserts (the only `execute_rows` caller), on a
    /// connection of their own (see `bulk.rs`).
    bulk: Arc<Bulk>,
}

impl SqliteStore {
    /// Opens (creating if needed) `<data_dir>/morn.db` and applies pending migrations.
    pub async fn open(data_dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::DataDir {
            path: data_dir.display().to_string(),
            source,
        })?;
        let file = data_dir.join("morn.db");
        let options = SqliteConnectOptions::from_str("sqlite://")?
            .filename(&file)
            .create_if_missing(true)
            // WAL lets readers run beside the single writer; NORMAL sync is durable
            // across process crashes (the WAL is fsynced at checkpoints).
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true)
            // Temporary files in memory. Each multi-row ledger INSERT inside its batch's
            // transaction keeps a statement journal (the pages it changes, so a failing
            // row undoes only its statement); on disk that was a temporary file and two
            // `pwrite`s per changed page: 60% of the writer's system calls, ~1 per
            // request under load (strace, bench/README.md).
            .pragma("temp_store", "memory");
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        let store = Self {
            pool,
            bulk: Arc::new(Bulk::new(file)),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Applies migrations not yet recorded. Each runs in its own transaction, so a
    /// failing one leaves the schema at the previous version.
    pub async fn migrate(&self) -> Result<Vec<i64>, StoreError> {
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS morn_migrations (
                version INTEGER PRIMARY KEY NOT NULL,
                name TEXT NOT NULL,
                applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
            )",
        )
        .execute(&self.pool)
        .await?;
        let applied: Vec<i64> = sqlx::query("SELECT version FROM morn_migrations")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| row.get::<i64, _>(0))
            .collect();
        let mut newly = Vec::new();
        for migration in SQLITE.iter().filter(|m| !applied.contains(&m.version)) {
            let fail = |source| StoreError::Migration {
                version: migration.version,
                source,
            };
            let mut tx = self.pool.begin().await.map_err(fail)?;
            sqlx::raw_sql(migration.sql)
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
            sqlx::query("INSERT INTO morn_migrations (version, name) VALUES (?, ?)")
                .bind(migration.version)
                .bind(migration.name)
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
            tx.commit().await.map_err(fail)?;
            tracing::info!(
                version = migration.version,
                name = migration.name,
                "applied migration"
            );
            newly.push(migration.version);
        }
        Ok(newly)
    }

    /// The highest applied migration.
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COALESCE(MAX(version), 0) FROM morn_migrations")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.get::<i64, _>(0))
    }

    /// A cheap round trip, for readiness checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes the pool, letting in-flight queries finish.
    pub async fn close(&self) {
        self.bulk.close();
        self.pool.close().await;
    }
}

impl Backend for SqliteStore {
    type Row = SqliteRow;

    const NAME: &'static str = "sqlite";

    const PLACEHOLDER: Placeholder = Placeholder::Question;

    async fn execute(&self, query: Query) -> Result<u64, sqlx::Error> {
        let mut builder = builder::<Sqlite>(query);
        Ok(builder.build().execute(&self.pool).await?.rows_affected())
    }

    async fn execute_rows<R: BindRow, S: BindRow>(
        &self,
        statements: Vec<Rows<'_, R>>,
        expect: u64,
        then: Vec<Rows<'_, S>>,
    ) -> Result<bool, StoreError> {
        blocking(|| self.bulk.execute_rows(&statements, expect, &then))
    }

    async fn fetch_optional(&self, query: Query) -> Result<Option<SqliteRow>, sqlx::Error> {
        let mut builder = builder::<Sqlite>(query);
        builder.build().fetch_optional(&self.pool).await
    }

    async fn fetch_all(&self, query: Query) -> Result<Vec<SqliteRow>, sqlx::Error> {
        let mut builder = builder::<Sqlite>(query);
        builder.build().fetch_all(&self.pool).await
    }

    async fn transaction(&self, steps: Vec<Step>, what: &'static str) -> Result<(), StoreError> {
        pooled::transaction(&self.pool, steps, what).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        SqliteStore::ping(self).await
    }

    async fn schema_version(&self) -> Result<i64, StoreError> {
        SqliteStore::schema_version(self).await
    }

    async fn close(&self) {
        SqliteStore::close(self).await;
    }
}

/// Runs `call`, which blocks (SQLite work), on this thread. On the multi-threaded
/// runtime the worker's other tasks move to another thread meanwhile, as they would
/// if the call ran on a thread of its own; a single-threaded runtime (tests) just
/// waits.
fn blocking<T>(call: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(call)
        }
        _ => call(),
    }
}

impl RowRead for SqliteRow {
    fn text(&self, col: &str) -> Result<String, sqlx::Error> {
        self.try_get(col)
    }

    fn opt_text(&self, col: &str) -> Result<Option<String>, sqlx::Error> {
        self.try_get(col)
    }

    fn int(&self, col: &str) -> Result<i64, sqlx::Error> {
        self.try_get(col)
    }

    fn opt_int(&self, col: &str) -> Result<Option<i64>, sqlx::Error> {
        self.try_get(col)
    }

    fn flag(&self, col: &str) -> Result<bool, sqlx::Error> {
        self.try_get(col)
    }

    fn bytes(&self, col: &str) -> Result<Vec<u8>, sqlx::Error> {
        self.try_get(col)
    }

    fn json(&self, col: &str) -> Result<Value, sqlx::Error> {
        Ok(self.try_get::<Json<Value>, _>(col)?.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn opens_migrates_once_and_reopens() -> Result<(), StoreError> {
        let dir = tempfile::tempdir().map_err(|source| StoreError::DataDir {
            path: "tmp".into(),
            source,
        })?;
        let store = SqliteStore::open(dir.path()).await?;
        assert_eq!(store.schema_version().await?, SQLITE.len() as i64);
        assert!(
            store.migrate().await?.is_empty(),
            "a second run applies nothing"
        );
        store.ping().await?;
        store.close().await;
        let again = SqliteStore::open(dir.path()).await?;
        assert_eq!(again.schema_version().await?, SQLITE.len() as i64);
        assert!(dir.path().join("morn.db").exists());
        Ok(())
    }
}
