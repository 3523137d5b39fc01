//! Latency and throughput of `RedisCounters::reserve` against a real Redis: p50/p99 of
//! sequential round trips, then reservations per second from concurrent tasks.
//!
//! ```text
//! cargo run --release -p morn-meter --example redis_counters_bench [-- URL [SEQUENTIAL [TASKS [PER_TASK]]]]
//! ```
//!
//! URL defaults to `TEST_REDIS_URL` or `redis://127.0.0.1:6379`. Each reservation covers
//! two counters (a request limit and a token budget), as a typical request does. Keys
//! live under a fresh prefix and expire after a minute.

use std::error::Error;
use std::time::{Duration, Instant};

use morn_meter::counters::{
    Counters, Outcome, RedisCounters, RedisFailure, RedisOptions, Reservation,
};

fn reservation(run: u128) -> [Reservation; 2] {
    [
        Reservation {
            key: format!("bench:{run}:rpm").into(),
            amount: 1,
            limit: i64::MAX / 2,
            ttl_ms: 60_000,
        },
        Reservation {
            key: format!("bench:{run}:tpm").into(),
            amount: 250,
            limit: i64::MAX / 2,
            ttl_ms: 60_000,
        },
    ]
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(rank).copied().unwrap_or_default()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let url = args.next().unwrap_or_else(|| {
        std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
    });
    let sequential: usize = args.next().map_or(Ok(10_000), |a| a.parse())?;
    let tasks: usize = args.next().map_or(Ok(64), |a| a.parse())?;
    let per_task: usize = args.next().map_or(Ok(2_000), |a| a.parse())?;

    let options = RedisOptions {
        prefix: "morn-bench:".to_owned(),
        ..RedisOptions::default()
    };
    let counters = RedisCounters::connect_with(&url, RedisFailure::Closed, 1, options).await?;
    if counters.degraded() {
        return Err(format!("Redis is not reachable at {url}").into());
    }
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_nanos();
    let items = reservation(run);

    // Warm up: connection, script cache.
    for _ in 0..200 {
        counters.reserve(&items).await?;
    }

    let mut samples = Vec::with_capacity(sequential);
    let started = Instant::now();
    for _ in 0..sequential {
        let t = Instant::now();
        let outcome = counters.reserve(&items).await?;
        samples.push(t.elapsed());
        if !matches!(outcome, Outcome::Admitted(_)) {
            return Err("unexpected denial".into());
        }
    }
    let total = started.elapsed();
    samples.sort_unstable();
    println!(
        "sequential: {sequential} reserves in {total:.2?}: p50 {:?}, p99 {:?}, max {:?}",
        percentile(&samples, 0.50),
        percentile(&samples, 0.99),
        samples.last().copied().unwrap_or_default(),
    );

    let started = Instant::now();
    let mut handles = Vec::with_capacity(tasks);
    for _ in 0..tasks {
        let counters = counters.clone();
        let items = items.clone();
        handles.push(tokio::spawn(async move {
            for _ in 0..per_task {
                counters.reserve(&items).await?;
            }
            Ok::<(), morn_meter::counters::CounterError>(())
        }));
    }
    for handle in handles {
        handle.await??;
    }
    let total = started.elapsed();
    let n = tasks * per_task;
    println!(
        "concurrent: {tasks} tasks x {per_task} = {n} reserves in {total:.2?}: {:.0} reserves/s",
        n as f64 / total.as_secs_f64()
    );
    Ok(())
}
