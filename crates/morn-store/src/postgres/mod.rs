//! The PostgreSQL store for cluster mode: the pool, its migrator, and the driver glue
//! the shared repository code runs on.

use std::str::FromStr;
use std::time::Duration;

use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow, Postgres};
use sqlx::types::Json;
use sqlx::{Connection, Row};

use crate::StoreError;
use crate::backend::{
    Backend, Bind, BindRow, Binds, Placeholder, Query, RowRead, Rows, Step, builder,
};
use crate::migrate::POSTGRES;
use crate::pooled;

/// Key of the session advisory lock held while migrating, so replicas starting
/// together apply each migration once. Arbitrary, fixed forever.
const MIGRATION_LOCK: i64 = 0x6d6f_726e_6d69_6772; // "mornmigr"

/// A PostgreSQL database shared by every replica.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects with a pool of at most `max_connections` and applies pending
    /// migrations. `url` is a `postgres://` connection string.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)?.application_name("morn");
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        let store = Self { pool };
        store.migrate().await?;
        Ok(store)
    }

    /// Applies migrations not yet recorded, each in its own transaction, under an
    /// advisory lock so concurrent replicas do not race.
    pub async fn migrate(&self) -> Result<Vec<i64>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(MIGRATION_LOCK)
            .execute(&mut *conn)
            .await?;
        let applied = migrate_locked(&mut conn).await;
        let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(MIGRATION_LOCK)
            .execute(&mut *conn)
            .await;
        let applied = applied?;
        unlocked?;
        Ok(applied)
    }

    /// The highest applied migration.
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COALESCE(MAX(version), 0)::BIGINT FROM morn_migrations")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get::<i64, _>(0)?)
    }

    /// A cheap round trip, for readiness checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes the pool, letting in-flight queries finish.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

async fn migrate_locked(conn: &mut PgConnection) -> Result<Vec<i64>, StoreError> {
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS morn_migrations (
            version    BIGINT PRIMARY KEY NOT NULL,
            name       TEXT NOT NULL,
            applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
        )",
    )
    .execute(&mut *conn)
    .await?;
    let applied: Vec<i64> = sqlx::query("SELECT version FROM morn_migrations")
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|row| row.try_get::<i64, _>(0))
        .collect::<Result<_, _>>()?;
    let mut newly = Vec::new();
    for migration in POSTGRES.iter().filter(|m| !applied.contains(&m.version)) {
        let fail = |source| StoreError::Migration {
            version: migration.version,
            source,
        };
        let mut tx = conn.begin().await.map_err(fail)?;
        sqlx::raw_sql(migration.sql)
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        sqlx::query("INSERT INTO morn_migrations (version, name) VALUES ($1, $2)")
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

impl Backend for PgStore {
    type Row = PgRow;

    const NAME: &'static str = "postgres";

    const PLACEHOLDER: Placeholder = Placeholder::Dollar;

    async fn execute(&self, query: Query) -> Result<u64, sqlx::Error> {
        let mut builder = builder::<Postgres>(query);
        Ok(builder.build().execute(&self.pool).await?.rows_affected())
    }

    async fn execute_rows<R: BindRow, S: BindRow>(
        &self,
        statements: Vec<Rows<'_, R>>,
        expect: u64,
        then: Vec<Rows<'_, S>>,
    ) -> Result<bool, StoreError> {
        Ok(pooled::execute_rows(&self.pool, statements, expect, then).await?)
    }

    async fn fetch_optional(&self, query: Query) -> Result<Option<PgRow>, sqlx::Error> {
        let mut builder = builder::<Postgres>(query);
        builder.build().fetch_optional(&self.pool).await
    }

    async fn fetch_all(&self, query: Query) -> Result<Vec<PgRow>, sqlx::Error> {
        let mut builder = builder::<Postgres>(query);
        builder.build().fetch_all(&self.pool).await
    }

    async fn transaction(&self, steps: Vec<Step>, what: &'static str) -> Result<(), StoreError> {
        pooled::transaction(&self.pool, steps, what).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        PgStore::ping(self).await
    }

    async fn schema_version(&self) -> Result<i64, StoreError> {
        PgStore::schema_version(self).await
    }

    async fn close(&self) {
        PgStore::close(self).await;
    }
}

/// Values are encoded straight into the driver's byte buffer: no allocation a value.
impl Bind for Binds<Postgres> {
    fn text(&mut self, value: &str) {
        self.push(value);
    }

    fn opt_text(&mut self, value: Option<&str>) {
        self.push(value);
    }

    fn int(&mut self, value: i64) {
        self.push(value);
    }

    fn opt_int(&mut self, value: Option<i64>) {
        self.push(value);
    }

    fn flag(&mut self, value: bool) {
        self.push(value);
    }
}

impl RowRead for PgRow {
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
