//! Shows that a 30-day per-key (and per-workspace) usage total stays fast on millions
//! of ledger rows, and that the query plans use the hourly sums' indexes (migration
//! 0005: whole hours are read from `usage_hourly`, and 30 days ending at midnight are
//! all whole hours).
//!
//! Loads N rows (default 2,000,000) spread over 90 days, 10,000 keys in 100
//! workspaces, at random times (the worst case for the hourly sums: nearly every
//! record opens its own hourly row, where a live ledger's batch shares a few), into
//! SQLite (a temporary directory) and PostgreSQL (a scratch database
//! on `TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`,
//! dropped at the end), then times `usage_total` through the store API.
//!
//! ```text
//! cargo run --release -p morn-store --example usage_index_bench -- [rows] [sqlite|postgres]
//! ```
#![expect(clippy::unwrap_used, reason = "a benchmark: any failure ends it")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use morn_store::{PgStore, SqliteStore, Store, UsageFilter, UsageRecord};
use sqlx::{AssertSqlSafe, Connection, PgConnection, Row, SqliteConnection};

const DAY: i64 = 86_400_000;
const KEYS: u64 = 10_000;
const WORKSPACES: u64 = 100;
/// End of the loaded range (2025-06-01T00:00:00Z); rows cover the 90 days before.
const END: i64 = 1_748_736_000_000;
const LOAD_BATCH: usize = 1_400;
const KEY_SAMPLES: usize = 200;
const WORKSPACE_SAMPLES: usize = 50;

/// The statement `usage_total` runs for a key over whole hours, with some of the
/// columns it sums, for EXPLAIN.
const KEY_TOTAL_SQLITE: &str = "SELECT SUM(requests), SUM(errors), SUM(input_tokens), \
    SUM(output_tokens), SUM(cost_micros) FROM usage_hourly \
    WHERE hour_start >= ? AND hour_start < ? AND key_id = ?";
const KEY_TOTAL_PG: &str = "SELECT SUM(requests), SUM(errors), SUM(input_tokens), \
    SUM(output_tokens), SUM(cost_micros) FROM usage_hourly \
    WHERE hour_start >= $1 AND hour_start < $2 AND key_id = $3";
const WS_TOTAL_SQLITE: &str = "SELECT SUM(requests), SUM(cost_micros) FROM usage_hourly \
    WHERE hour_start >= ? AND hour_start < ? AND workspace_id = ?";
const WS_TOTAL_PG: &str = "SELECT SUM(requests), SUM(cost_micros) FROM usage_hourly \
    WHERE hour_start >= $1 AND hour_start < $2 AND workspace_id = $3";

/// xorshift64*: a reproducible spread without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn key_id(k: u64) -> String {
    format!("key-{k:05}")
}

fn workspace_id(w: u64) -> String {
    format!("ws-{w:03}")
}

fn row(i: u64, rng: &mut Rng) -> UsageRecord {
    let key = rng.below(KEYS);
    let workspace = key % WORKSPACES;
    let input = rng.below(4_000) as i64;
    let output = rng.below(1_000) as i64;
    UsageRecord {
        request_id: format!("req-{i:010}"),
        created_at: END - 90 * DAY + rng.below(90 * DAY as u64) as i64,
        org_id: Some(format!("org-{}", workspace % 10)),
        workspace_id: Some(workspace_id(workspace)),
        user_id: Some(format!("user-{}", key % 2_000)),
        key_id: Some(key_id(key)),
        endpoint: "chat".into(),
        model: [
            "gpt-4o",
            "gpt-4o-mini",
            "claude-sonnet",
            "gemini-flash",
            "llama",
        ][rng.below(5) as usize]
            .into(),
        deployment: Some("openai/gpt-4o-2024-08-06".into()),
        stream: rng.below(2) == 0,
        status: 200,
        error_class: (rng.below(50) == 0).then(|| "upstream_error".into()),
        input_tokens: input,
        output_tokens: output,
        cache_read_tokens: 0,
        cache_write_tokens: 0,
        reasoning_tokens: 0,
        cost_micros: input * 2 + output * 10,
        estimated: false,
        cache_hit: false,
        latency_ms: 300 + rng.below(2_000) as i64,
        ttft_ms: Some(80),
        client_request_id: None,
    }
}

/// Inserts `rows` rows with `writers` concurrent inserters.
async fn load(store: &Arc<dyn Store>, rows: u64, writers: u64) -> Duration {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..writers {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (w + 1));
            let mut batch = Vec::with_capacity(LOAD_BATCH);
            for i in (w..rows).step_by(writers as usize) {
                batch.push(row(i, &mut rng));
                if batch.len() == LOAD_BATCH {
                    store.insert_usage(&batch).await.unwrap();
                    batch.clear();
                }
            }
            store.insert_usage(&batch).await.unwrap();
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    started.elapsed()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at]
}

/// Times `usage_total` for `samples` random subjects over the last 30 days.
async fn time_totals(
    store: &Arc<dyn Store>,
    samples: usize,
    subject: impl Fn(&mut Rng) -> UsageFilter,
) -> (Vec<Duration>, f64) {
    let mut rng = Rng(42);
    let mut times = Vec::with_capacity(samples);
    let mut rows = 0i64;
    for _ in 0..samples {
        let filter = subject(&mut rng);
        let started = Instant::now();
        let total = store.usage_total(&filter).await.unwrap();
        times.push(started.elapsed());
        rows += total.requests;
    }
    times.sort();
    (times, rows as f64 / samples as f64)
}

fn last_30_days() -> UsageFilter {
    UsageFilter {
        since: END - 30 * DAY,
        until: END,
        ..UsageFilter::default()
    }
}

async fn measure(name: &str, store: &Arc<dyn Store>) {
    let (keys, key_rows) = time_totals(store, KEY_SAMPLES, |rng| UsageFilter {
        key_id: Some(key_id(rng.below(KEYS))),
        ..last_30_days()
    })
    .await;
    let (workspaces, ws_rows) = time_totals(store, WORKSPACE_SAMPLES, |rng| UsageFilter {
        workspace_id: Some(workspace_id(rng.below(WORKSPACES))),
        ..last_30_days()
    })
    .await;
    println!(
        "{name}: 30-day total, one key ({KEY_SAMPLES} keys, ~{key_rows:.0} rows each): \
         p50 {:?}, p99 {:?}",
        percentile(&keys, 0.5),
        percentile(&keys, 0.99)
    );
    println!(
        "{name}: 30-day total, one workspace ({WORKSPACE_SAMPLES} workspaces, ~{ws_rows:.0} \
         rows each): p50 {:?}, p99 {:?}",
        percentile(&workspaces, 0.5),
        percentile(&workspaces, 0.99)
    );
}

async fn bench_sqlite(rows: u64) {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).await.unwrap());
    let took = load(&store, rows, 1).await;
    println!(
        "sqlite: loaded {rows} rows in {took:?} ({:.0} rows/s)",
        rows as f64 / took.as_secs_f64()
    );
    let url = format!("sqlite://{}", dir.path().join("morn.db").display());
    let mut conn = SqliteConnection::connect(&url).await.unwrap();
    for (what, sql, subject) in [
        ("key", KEY_TOTAL_SQLITE, key_id(7)),
        ("workspace", WS_TOTAL_SQLITE, workspace_id(7)),
    ] {
        let plan = sqlx::query(AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")))
            .bind(END - 30 * DAY)
            .bind(END)
            .bind(subject)
            .fetch_all(&mut conn)
            .await
            .unwrap();
        for step in plan {
            println!("sqlite plan ({what}): {}", step.get::<String, _>("detail"));
        }
    }
    conn.close().await.unwrap();
    measure("sqlite", &store).await;
    let size = std::fs::metadata(dir.path().join("morn.db")).unwrap().len();
    println!("sqlite: database file {} MB", size >> 20);
    store.close().await;
}

async fn bench_postgres(rows: u64) {
    let admin_url = std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut admin = PgConnection::connect(&admin_url).await.unwrap();
    // An identifier cannot be bound; this one is made of the process id only.
    let name = format!("morn_usage_bench_{}", std::process::id());
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap();
    let url = match admin_url.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{name}"),
        None => panic!("TEST_POSTGRES_URL has no database path"),
    };
    let store: Arc<dyn Store> = Arc::new(PgStore::connect(&url, 8).await.unwrap());
    let took = load(&store, rows, 4).await;
    println!(
        "postgres: loaded {rows} rows in {took:?} ({:.0} rows/s)",
        rows as f64 / took.as_secs_f64()
    );
    let mut conn = PgConnection::connect(&url).await.unwrap();
    // What autovacuum would do shortly after a bulk load: give the planner statistics.
    sqlx::query("ANALYZE usage_records, usage_hourly")
        .execute(&mut conn)
        .await
        .unwrap();
    for (what, sql, subject) in [
        ("key", KEY_TOTAL_PG, key_id(7)),
        ("workspace", WS_TOTAL_PG, workspace_id(7)),
    ] {
        let plan = sqlx::query(AssertSqlSafe(format!(
            "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {sql}"
        )))
        .bind(END - 30 * DAY)
        .bind(END)
        .bind(subject)
        .fetch_all(&mut conn)
        .await
        .unwrap();
        for step in plan {
            println!("postgres plan ({what}): {}", step.get::<String, _>(0));
        }
    }
    conn.close().await.unwrap();
    measure("postgres", &store).await;
    store.close().await;
    sqlx::query(AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .unwrap();
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let rows: u64 = args.next().map_or(2_000_000, |n| n.parse().unwrap());
    let only = args.next();
    if only.as_deref() != Some("postgres") {
        bench_sqlite(rows).await;
    }
    if only.as_deref() != Some("sqlite") {
        bench_postgres(rows).await;
    }
}
