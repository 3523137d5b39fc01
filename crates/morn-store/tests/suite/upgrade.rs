//! Upgrading a database that already holds usage records: migration 5 sums them into
//! `usage_hourly` and drops the tenant indexes it replaces, on both backends.

use std::sync::Arc;

use morn_store::{PgStore, SqliteStore, TimeBucket, UsageDimension, UsageFilter, UsageGrouping};
use sqlx::{AssertSqlSafe, Connection, PgConnection, SqliteConnection};

use super::Shared;

const HOUR: i64 = 3_600_000;
/// 2025-03-01T00:00:00Z.
const T0: i64 = 1_740_787_200_000;

/// The migrations before 5, as each backend ran them.
const SQLITE_BEFORE: [&str; 4] = [
    include_str!("../../migrations/sqlite/0001_meta.sql"),
    include_str!("../../migrations/sqlite/0002_identity.sql"),
    include_str!("../../migrations/sqlite/0003_metering.sql"),
    include_str!("../../migrations/sqlite/0004_client_request_id.sql"),
];
const POSTGRES_BEFORE: [&str; 4] = [
    include_str!("../../migrations/postgres/0001_meta.sql"),
    include_str!("../../migrations/postgres/0002_identity.sql"),
    include_str!("../../migrations/postgres/0003_metering.sql"),
    include_str!("../../migrations/postgres/0004_client_request_id.sql"),
];

/// A record stored at schema 4: id, minutes after T0, key, model, cost, error.
type Row = (
    &'static str,
    i64,
    Option<&'static str>,
    &'static str,
    i64,
    bool,
);

const ROWS: [Row; 6] = [
    ("r1", 1, Some("k1"), "gpt-4o", 100, false),
    ("r2", 59, Some("k1"), "gpt-4o", 200, true),
    ("r3", 61, Some("k1"), "gpt-4o", 400, false),
    ("r4", 62, Some("k2"), "claude", 800, false),
    ("r5", 63, None, "gpt-4o", 1_600, false),
    ("r6", 200, Some("k1"), "claude", 3_200, false),
];

/// The statements that fill a schema-4 database: the migration bookkeeping and
/// the records, as literal SQL both backends read alike.
fn seed_sql() -> Vec<String> {
    let mut sql: Vec<String> = (1..=4)
        .map(|v| format!("INSERT INTO morn_migrations (version, name) VALUES ({v}, 'm{v}')"))
        .collect();
    for (id, minutes, key, model, cost, error) in ROWS {
        let key = key.map_or("NULL".to_owned(), |k| format!("'{k}'"));
        let error = if error { "'upstream_error'" } else { "NULL" };
        sql.push(format!(
            "INSERT INTO usage_records (request_id, created_at, org_id, workspace_id, \
             user_id, key_id, endpoint, model, deployment, stream, status, error_class, \
             input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, \
             reasoning_tokens, cost_micros, estimated, cache_hit, latency_ms, ttft_ms) \
             VALUES ('{id}', {at}, 'o1', 'w1', NULL, {key}, 'chat', '{model}', NULL, FALSE, \
             200, {error}, 10, 20, 0, 0, 0, {cost}, FALSE, FALSE, 5, NULL)",
            at = T0 + minutes * 60_000,
        ));
    }
    sql
}

pub async fn sqlite_upgrade_sums_stored_records() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("morn.db").display());
    let mut conn = SqliteConnection::connect(&url).await?;
    sqlx::raw_sql(
        "CREATE TABLE morn_migrations (version INTEGER PRIMARY KEY NOT NULL, \
         name TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT '')",
    )
    .execute(&mut conn)
    .await?;
    for sql in SQLITE_BEFORE
        .into_iter()
        .map(str::to_owned)
        .chain(seed_sql())
    {
        sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut conn).await?;
    }
    conn.close().await?;

    let store: Shared = Arc::new(SqliteStore::open(dir.path()).await?);
    check_upgraded(&store).await?;
    let mut conn = SqliteConnection::connect(&url).await?;
    let left: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name IN \
         ('usage_key_time', 'usage_user_time', 'usage_workspace_time', 'usage_org_time')",
    )
    .fetch_one(&mut conn)
    .await?;
    assert_eq!(left, 0, "the tenant indexes are dropped");
    store.close().await;
    Ok(())
}

pub async fn postgres_upgrade_sums_stored_records() -> anyhow::Result<()> {
    super::harness::on_fresh_postgres(|url| async move {
        let mut conn = PgConnection::connect(&url).await?;
        sqlx::raw_sql(
            "CREATE TABLE morn_migrations (version BIGINT PRIMARY KEY NOT NULL, \
             name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
        )
        .execute(&mut conn)
        .await?;
        for sql in POSTGRES_BEFORE
            .into_iter()
            .map(str::to_owned)
            .chain(seed_sql())
        {
            sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut conn).await?;
        }

        let store: Shared = Arc::new(PgStore::connect(&url, 2).await?);
        check_upgraded(&store).await?;
        let left: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_indexes WHERE indexname IN \
             ('usage_key_time', 'usage_user_time', 'usage_workspace_time', 'usage_org_time')",
        )
        .fetch_one(&mut conn)
        .await?;
        assert_eq!(left, 0, "the tenant indexes are dropped");
        conn.close().await?;
        store.close().await;
        Ok(())
    })
    .await
}

/// What the upgraded store reports: the old records, from the hourly sums for whole
/// hours and from the records for partial ones; a new record adds to a summed hour.
async fn check_upgraded(store: &Shared) -> anyhow::Result<()> {
    assert_eq!(store.schema_version().await?, 5);
    let hours = UsageFilter {
        since: T0,
        until: T0 + 4 * HOUR,
        ..UsageFilter::default()
    };
    let report = store
        .usage_report(
            &hours,
            &UsageGrouping {
                bucket: Some(TimeBucket::Hour),
                by: vec![UsageDimension::Key],
            },
        )
        .await?;
    let view: Vec<_> = report
        .iter()
        .map(|a| {
            (
                a.bucket_start,
                a.key_id.as_deref(),
                a.requests,
                a.errors,
                a.cost_micros,
            )
        })
        .collect();
    assert_eq!(
        view,
        [
            (Some(T0), Some("k1"), 2, 1, 300),
            (Some(T0 + HOUR), None, 1, 0, 1_600),
            (Some(T0 + HOUR), Some("k1"), 1, 0, 400),
            (Some(T0 + HOUR), Some("k2"), 1, 0, 800),
            (Some(T0 + 3 * HOUR), Some("k1"), 1, 0, 3_200),
        ]
    );
    // A range from the middle of the first hour: r2 from the records, the rest summed.
    let k1 = UsageFilter {
        since: T0 + 30 * 60_000,
        key_id: Some("k1".into()),
        ..hours.clone()
    };
    assert_eq!(store.usage_total(&k1).await?.cost_micros, 200 + 400 + 3_200);

    // A new record in a summed hour adds to its row.
    let mut record = morn_store::UsageRecord {
        request_id: "r7".into(),
        created_at: T0 + 5 * 60_000,
        org_id: Some("o1".into()),
        workspace_id: Some("w1".into()),
        user_id: None,
        key_id: Some("k1".into()),
        endpoint: "chat".into(),
        model: "gpt-4o".into(),
        deployment: None,
        stream: false,
        status: 200,
        error_class: None,
        input_tokens: 10,
        output_tokens: 20,
        cache_read_tokens: 0,
        cache_write_tokens: 0,
        reasoning_tokens: 0,
        cost_micros: 6_400,
        estimated: false,
        cache_hit: false,
        latency_ms: 5,
        ttft_ms: None,
        client_request_id: None,
    };
    assert_eq!(store.insert_usage(std::slice::from_ref(&record)).await?, 1);
    record.request_id = "r1".into();
    assert_eq!(
        store.insert_usage(&[record]).await?,
        0,
        "r1 was stored before"
    );
    let first_hour = UsageFilter {
        until: T0 + HOUR,
        key_id: Some("k1".into()),
        ..hours
    };
    let total = store.usage_total(&first_hour).await?;
    assert_eq!((total.requests, total.cost_micros), (3, 300 + 6_400));
    Ok(())
}
