//! Runs one case on a fresh database of each backend, then cleans up.
//!
//! PostgreSQL: `TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`)
//! must reach a server where the user may create databases. Each test creates its own
//! `morn_test_<uuid>` database, so tests run in parallel; an unreachable server fails
//! the tests instead of skipping them.

use std::any::Any;
use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use morn_store::{PgStore, SqliteStore};
use sqlx::{AssertSqlSafe, Connection, PgConnection};

use super::Shared;

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub async fn on_sqlite<F, Fut>(case: F) -> anyhow::Result<()>
where
    F: FnOnce(Shared) -> Fut,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let dir = tempfile::tempdir()?;
    let store: Shared = Arc::new(SqliteStore::open(dir.path()).await?);
    finish(run(store, case).await)
}

pub async fn on_postgres<F, Fut>(case: F) -> anyhow::Result<()>
where
    F: FnOnce(Shared) -> Fut + Send + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    on_fresh_postgres(|url| async move {
        let store: Shared = Arc::new(PgStore::connect(&url, 8).await?);
        finish(run(store, case).await)
    })
    .await
}

/// Runs `case` with the URL of a new, empty PostgreSQL database, then drops it.
pub async fn on_fresh_postgres<F, Fut>(case: F) -> anyhow::Result<()>
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let admin_url =
        std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
    let mut admin = PgConnection::connect(&admin_url).await.with_context(|| {
        format!("PostgreSQL is unreachable at {admin_url} (start it, or set TEST_POSTGRES_URL)")
    })?;
    // Identifiers cannot be bound; this name is made only of a generated UUID.
    let name = format!("morn_test_{}", uuid::Uuid::now_v7().simple());
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await?;
    // On its own task, so that a failed assertion still lets us drop the database.
    let outcome = match with_database(&admin_url, &name) {
        Ok(url) => match tokio::spawn(case(url)).await {
            Ok(result) => Ok(result),
            Err(error) if error.is_panic() => Err(error.into_panic()),
            Err(error) => Ok(Err(error.into())),
        },
        Err(error) => Ok(Err(error)),
    };
    // Best effort: a leftover database is harmless and named for cleanup by hand.
    let dropped = sqlx::query(AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await;
    if let Err(error) = dropped {
        eprintln!("could not drop test database {name}: {error}");
    }
    admin.close().await.ok();
    finish(outcome)
}

/// What a case did: its result, or the payload of the panic (a failed assertion).
type Outcome = Result<anyhow::Result<()>, Box<dyn Any + Send>>;

/// Runs the case on its own task, so that a failed assertion still lets the caller
/// clean up, and closes the store.
async fn run<F, Fut>(store: Shared, case: F) -> Outcome
where
    F: FnOnce(Shared) -> Fut,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let joined = tokio::spawn(case(store.clone())).await;
    store.close().await;
    match joined {
        Ok(result) => Ok(result),
        Err(error) if error.is_panic() => Err(error.into_panic()),
        Err(error) => Ok(Err(error.into())),
    }
}

/// After cleanup: the case's result, or its panic re-raised.
fn finish(outcome: Outcome) -> anyhow::Result<()> {
    match outcome {
        Ok(result) => result,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// `url` with its database path replaced by `database` (query parameters kept).
fn with_database(url: &str, database: &str) -> anyhow::Result<String> {
    let scheme_end = url.find("://").context("TEST_POSTGRES_URL has no scheme")? + 3;
    let (base, query) = match url.find('?') {
        Some(at) => url.split_at(at),
        None => (url, ""),
    };
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |at| scheme_end + at);
    Ok(format!("{}/{database}{query}", &base[..host_end]))
}
