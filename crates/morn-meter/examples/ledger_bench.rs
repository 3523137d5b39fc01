//! What the usage ledger costs: `Ledger::record` on the request path (ns per record,
//! one thread and several), and how fast the writer moves records into SQLite.
//!
//! ```text
//! cargo run --release -p morn-meter --example ledger_bench -- [records] [threads]
//! ```
#![expect(clippy::unwrap_used, reason = "a benchmark: any failure ends it")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use morn_meter::ledger::{Ledger, LedgerConfig};
use morn_store::{SqliteStore, Store, UsageRecord};

fn record(n: u64) -> UsageRecord {
    UsageRecord {
        request_id: format!("0197a3c2-5b1e-7c4d-9f00-{n:012x}"),
        created_at: 1_750_000_000_000 + n as i64,
        org_id: Some("0197a3c2-0000-7000-8000-000000000001".into()),
        workspace_id: Some("0197a3c2-0000-7000-8000-000000000002".into()),
        user_id: Some("0197a3c2-0000-7000-8000-000000000003".into()),
        key_id: Some("0197a3c2-0000-7000-8000-000000000004".into()),
        endpoint: "chat".into(),
        model: "gpt-4o-mini".into(),
        deployment: Some("openai/gpt-4o-mini-2024-07-18".into()),
        stream: true,
        status: 200,
        error_class: None,
        input_tokens: 1_234,
        output_tokens: 321,
        cache_read_tokens: 512,
        cache_write_tokens: 0,
        reasoning_tokens: 0,
        cost_micros: 378,
        estimated: false,
        cache_hit: false,
        latency_ms: 840,
        ttft_ms: Some(212),
        client_request_id: None,
    }
}

fn config(dir: &std::path::Path, fsync: bool) -> LedgerConfig {
    LedgerConfig {
        dir: dir.join("ledger"),
        flush_interval: Duration::from_millis(200),
        batch_size: 1_000,
        max_backlog: u64::MAX,
        fsync,
    }
}

/// Appends `count` records from `threads` threads; returns ns per record (wall time
/// divided by records, so with several threads it is the throughput cost).
fn append(ledger: &Arc<Ledger>, count: u64, threads: u64) -> f64 {
    let started = Instant::now();
    std::thread::scope(|scope| {
        for t in 0..threads {
            let ledger = ledger.clone();
            scope.spawn(move || {
                for n in (t..count).step_by(threads as usize) {
                    assert!(ledger.record(record(n)));
                }
            });
        }
    });
    started.elapsed().as_nanos() as f64 / count as f64
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let count: u64 = args.next().map_or(500_000, |n| n.parse().unwrap());
    let threads: u64 = args.next().map_or(4, |n| n.parse().unwrap());

    // The append alone, without a writer: the request path's cost.
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(config(dir.path(), false)).unwrap();
    let one = append(&ledger, count, 1);
    println!(
        "record, 1 thread: {one:.0} ns/record ({:.0} records/s)",
        1e9 / one
    );
    let many = append(&ledger, count, threads);
    println!(
        "record, {threads} threads: {many:.0} ns/record wall ({:.0} records/s)",
        1e9 / many
    );

    // Draining what was appended into SQLite.
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).await.unwrap());
    let started = Instant::now();
    ledger.drain(store.as_ref()).await.unwrap();
    let took = started.elapsed();
    let stored = ledger.stats().written;
    println!(
        "writer into SQLite: {stored} records in {took:?} ({:.0} records/s)",
        stored as f64 / took.as_secs_f64()
    );

    // Appends while the writer runs beside them (the steady state).
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(config(dir.path(), false)).unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).await.unwrap());
    let writer = ledger.spawn_writer(store.clone());
    let busy = append(&ledger, count, 1);
    ledger.drain(store.as_ref()).await.unwrap();
    writer.abort();
    println!("record, 1 thread, writer running: {busy:.0} ns/record");

    // With fsync per append: the power-loss-safe setting.
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(config(dir.path(), true)).unwrap();
    let synced = append(&ledger, (count / 100).max(1_000), 1);
    println!("record with fsync, 1 thread: {synced:.0} ns/record");
}
