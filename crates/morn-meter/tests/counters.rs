//! Counter backends: the same behavioural cases on `LocalCounters` and on
//! `RedisCounters` against a real Redis, then what only Redis has: exact limits across
//! replicas, the fail-open share, fail-closed refusal, bounded calls on a hung server and
//! recovery.
//!
//! Redis is `TEST_REDIS_URL` (default `redis://127.0.0.1:6379`); each test uses its own
//! key prefix, so tests run in parallel. A Redis that is down fails these tests with a
//! message saying how to start it, never a silent skip. The outage tests start their own
//! `redis-server` on a Unix socket in a temporary directory, so they can stop and kill it
//! without disturbing anyone.
#![expect(clippy::unwrap_used, reason = "tests")]

use std::hash::{BuildHasher, RandomState};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use morn_meter::counters::{
    Adjustment, Counters, Outcome, RedisCounters, RedisFailure, RedisOptions, Reservation,
};

fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A key prefix no other test (or earlier run) uses.
fn unique_prefix(test: &str) -> String {
    static SEQ: AtomicUsize = AtomicUsize::new(0);
    let nonce = RandomState::new().hash_one((
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed),
        Instant::now(),
    ));
    format!("morn-test:{test}:{nonce:016x}:")
}

fn options(prefix: &str, timeout_ms: u64) -> RedisOptions {
    RedisOptions {
        prefix: prefix.to_owned(),
        timeout: Duration::from_millis(timeout_ms),
        probe_interval: Duration::from_millis(100),
    }
}

/// Counters on the shared test Redis, failing closed so a missing Redis cannot pass
/// for a working one through the in-process fallback.
async fn shared_redis(prefix: &str) -> RedisCounters {
    let url = redis_url();
    let counters =
        RedisCounters::connect_with(&url, RedisFailure::Closed, 1, options(prefix, 1000))
            .await
            .unwrap();
    assert!(
        !counters.degraded(),
        "Redis is not reachable at {url}: start it with `redis-server --daemonize yes` \
         or point TEST_REDIS_URL at one"
    );
    counters
}

fn res(key: &str, amount: i64, limit: i64, ttl_ms: u64) -> Reservation {
    Reservation {
        key: key.into(),
        amount,
        limit,
        ttl_ms,
    }
}

fn adj(key: &str, delta: i64, ttl_ms: u64) -> Adjustment {
    Adjustment {
        key: key.into(),
        delta,
        ttl_ms,
    }
}

fn keys(names: &[&str]) -> Vec<String> {
    names.iter().map(|&k| k.to_owned()).collect()
}

// ---- behaviour every backend shares ----

async fn denial_changes_nothing(c: &dyn Counters) {
    let first = c
        .reserve(&[res("a", 3, 10, 0), res("b", 5, 5, 0)])
        .await
        .unwrap();
    assert_eq!(first, Outcome::Admitted(vec![3, 5]));
    // `a` fits, `b` does not: neither moves.
    let second = c
        .reserve(&[res("a", 1, 10, 0), res("b", 1, 5, 0)])
        .await
        .unwrap();
    assert_eq!(
        second,
        Outcome::Denied {
            index: 1,
            current: 5
        }
    );
    assert_eq!(c.get(&keys(&["a", "b"])).await.unwrap(), vec![3, 5]);
    // A key listed twice is checked against the sum of its amounts.
    let twice = c
        .reserve(&[res("c", 4, 5, 0), res("c", 2, 5, 0)])
        .await
        .unwrap();
    assert_eq!(
        twice,
        Outcome::Denied {
            index: 1,
            current: 4
        }
    );
    assert_eq!(c.get(&keys(&["c"])).await.unwrap(), vec![0]);
    let fits = c
        .reserve(&[res("c", 2, 5, 0), res("c", 3, 5, 0)])
        .await
        .unwrap();
    assert_eq!(fits, Outcome::Admitted(vec![2, 5]));
    assert_eq!(c.reserve(&[]).await.unwrap(), Outcome::Admitted(vec![]));
}

async fn ttl_starts_a_new_window(c: &dyn Counters) {
    let win = || [res("w", 1, 1, 300), res("forever", 1, 100, 0)];
    assert_eq!(
        c.reserve(&win()).await.unwrap(),
        Outcome::Admitted(vec![1, 1])
    );
    assert_eq!(
        c.reserve(&win()).await.unwrap(),
        Outcome::Denied {
            index: 0,
            current: 1
        }
    );
    tokio::time::sleep(Duration::from_millis(450)).await;
    // The windowed counter is gone; the one without a ttl is not.
    assert_eq!(c.get(&keys(&["w", "forever"])).await.unwrap(), vec![0, 1]);
    assert_eq!(
        c.reserve(&win()).await.unwrap(),
        Outcome::Admitted(vec![1, 2])
    );
}

async fn adjust_both_ways(c: &dyn Counters) {
    c.reserve(&[res("tokens", 5, 100, 0)]).await.unwrap();
    c.adjust(&[adj("tokens", -2, 0)]).await.unwrap();
    assert_eq!(c.get(&keys(&["tokens"])).await.unwrap(), vec![3]);
    c.adjust(&[adj("tokens", 4, 0), adj("other", 6, 0)])
        .await
        .unwrap();
    assert_eq!(
        c.get(&keys(&["tokens", "other"])).await.unwrap(),
        vec![7, 6]
    );
    // A released slot makes room again.
    c.reserve(&[res("slots", 2, 2, 0)]).await.unwrap();
    assert!(matches!(
        c.reserve(&[res("slots", 1, 2, 0)]).await.unwrap(),
        Outcome::Denied { .. }
    ));
    c.adjust(&[adj("slots", -1, 0)]).await.unwrap();
    assert_eq!(
        c.reserve(&[res("slots", 1, 2, 0)]).await.unwrap(),
        Outcome::Admitted(vec![2])
    );
    // A counter the adjustment creates gets its ttl.
    c.adjust(&[adj("created", 9, 200)]).await.unwrap();
    assert_eq!(c.get(&keys(&["created"])).await.unwrap(), vec![9]);
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(c.get(&keys(&["created"])).await.unwrap(), vec![0]);
}

async fn seed_does_not_overwrite(c: &dyn Counters) {
    c.seed("spend", 7, 0).await.unwrap();
    c.seed("spend", 9, 0).await.unwrap();
    assert_eq!(c.get(&keys(&["spend"])).await.unwrap(), vec![7]);
    assert_eq!(
        c.reserve(&[res("spend", 4, 10, 0)]).await.unwrap(),
        Outcome::Denied {
            index: 0,
            current: 7
        }
    );
    c.reserve(&[res("used", 1, 10, 0)]).await.unwrap();
    c.seed("used", 5, 0).await.unwrap();
    assert_eq!(c.get(&keys(&["used"])).await.unwrap(), vec![1]);
    // A seeded ttl expires like any window.
    c.seed("seeded-window", 3, 200).await.unwrap();
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(c.get(&keys(&["seeded-window"])).await.unwrap(), vec![0]);
}

async fn get_missing_is_zero(c: &dyn Counters) {
    assert_eq!(c.get(&keys(&["nope", "nada"])).await.unwrap(), vec![0, 0]);
    assert_eq!(c.get(&[]).await.unwrap(), Vec::<i64>::new());
    c.adjust(&[]).await.unwrap();
}

/// Expired windows leave the in-process map: each window has a name of its own, so
/// keeping them would grow the map every minute for as long as the process runs.
#[tokio::test]
async fn local_counters_drop_expired_windows() {
    let c = morn_meter::counters::LocalCounters::with_sweep_every(Duration::ZERO);
    for window in 0..50 {
        let name = format!("rl:rule:r:{window}");
        c.reserve(&[res(&name, 1, 10, 50), res("slots", 1, 1_000, 0)])
            .await
            .unwrap();
    }
    assert_eq!(c.len(), 51);
    tokio::time::sleep(Duration::from_millis(120)).await;
    // The next call sweeps; the counter without a ttl stays.
    c.adjust(&[adj("slots", -50, 0)]).await.unwrap();
    assert_eq!(c.len(), 1);
    assert_eq!(c.get(&keys(&["slots"])).await.unwrap(), vec![0]);
}

/// A refused reservation leaves no counter behind, not even one it created.
#[tokio::test]
async fn local_refusal_creates_no_counters() {
    let c = morn_meter::counters::LocalCounters::new();
    c.reserve(&[res("full", 5, 5, 0)]).await.unwrap();
    let refused = c
        .reserve(&[res("new", 1, 10, 60_000), res("full", 1, 5, 0)])
        .await
        .unwrap();
    assert_eq!(
        refused,
        Outcome::Denied {
            index: 1,
            current: 5
        }
    );
    assert_eq!(c.len(), 1);
    assert_eq!(c.get(&keys(&["full"])).await.unwrap(), vec![5]);
}

/// Runs each shared case once per backend.
macro_rules! both_backends {
    ($($case:ident),* $(,)?) => {
        mod local {
            $(
                #[tokio::test]
                async fn $case() {
                    let counters = morn_meter::counters::LocalCounters::new();
                    super::$case(&counters).await;
                    assert_eq!(
                        morn_meter::counters::Counters::backend_name(&counters),
                        "local"
                    );
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test]
                async fn $case() {
                    let prefix = super::unique_prefix(stringify!($case));
                    let counters = super::shared_redis(&prefix).await;
                    super::$case(&counters).await;
                    assert_eq!(
                        morn_meter::counters::Counters::backend_name(&counters),
                        "redis"
                    );
                }
            )*
        }
    };
}

both_backends!(
    denial_changes_nothing,
    ttl_starts_a_new_window,
    adjust_both_ways,
    seed_does_not_overwrite,
    get_missing_is_zero,
);

// ---- Redis only ----

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_admit_exactly_the_limit() {
    let prefix = unique_prefix("two_replicas");
    let replicas = [shared_redis(&prefix).await, shared_redis(&prefix).await];
    let admitted = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for replica in &replicas {
        for _ in 0..32 {
            let (replica, admitted) = (replica.clone(), admitted.clone());
            tasks.push(tokio::spawn(async move {
                for _ in 0..40 {
                    // A request limit and a token budget in one reservation.
                    let items = [
                        res("rpm", 1, 1000, 60_000),
                        res("tpm", 3, 1_000_000, 60_000),
                    ];
                    if let Outcome::Admitted(_) = replica.reserve(&items).await.unwrap() {
                        admitted.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }));
        }
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(admitted.load(Ordering::Relaxed), 1000);
    let values = replicas[1].get(&keys(&["rpm", "tpm"])).await.unwrap();
    assert_eq!(values, vec![1000, 3000]);
}

#[tokio::test]
async fn keys_carry_the_prefix() {
    let prefix = unique_prefix("prefix");
    let counters = shared_redis(&prefix).await;
    counters.seed("k", 42, 60_000).await.unwrap();
    // Another deployment's prefix sees nothing of ours.
    let other = shared_redis(&unique_prefix("prefix-other")).await;
    assert_eq!(other.get(&keys(&["k"])).await.unwrap(), vec![0]);
    let raw = shared_redis("").await;
    assert_eq!(raw.get(&[format!("{prefix}k")]).await.unwrap(), vec![42]);
}

#[tokio::test]
async fn fail_open_admits_this_replicas_share() {
    let started = Instant::now();
    let counters = RedisCounters::connect_with(
        "redis://127.0.0.1:1",
        RedisFailure::Open,
        4,
        options(&unique_prefix("open"), 200),
    )
    .await
    .unwrap();
    assert!(started.elapsed() < Duration::from_millis(400));
    assert!(counters.degraded());
    let mut admitted = 0;
    for _ in 0..20 {
        if let Outcome::Admitted(_) = counters.reserve(&[res("rpm", 1, 10, 0)]).await.unwrap() {
            admitted += 1;
        }
    }
    // 10 / 4 replicas, rounded down.
    assert_eq!(admitted, 2);
    counters.adjust(&[adj("rpm", -1, 0)]).await.unwrap();
    assert_eq!(counters.get(&keys(&["rpm"])).await.unwrap(), vec![1]);
}

#[tokio::test]
async fn fail_closed_refuses() {
    let counters = RedisCounters::connect_with(
        "redis://127.0.0.1:1",
        RedisFailure::Closed,
        4,
        options(&unique_prefix("closed"), 200),
    )
    .await
    .unwrap();
    assert!(counters.degraded());
    assert!(counters.reserve(&[res("rpm", 1, 10, 0)]).await.is_err());
    assert!(counters.adjust(&[adj("rpm", 1, 0)]).await.is_err());
    assert!(counters.seed("rpm", 1, 0).await.is_err());
    assert!(counters.get(&keys(&["rpm"])).await.is_err());
}

#[tokio::test]
async fn invalid_url_is_an_error() {
    let result = RedisCounters::connect("http://nope", RedisFailure::Open, 1).await;
    assert!(result.is_err());
}

#[tokio::test]
async fn silent_server_costs_at_most_the_timeout() {
    // Accepts connections and never answers: the worst kind of broken Redis.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let held = tokio::spawn(async move {
        let mut sockets = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            sockets.push(socket);
        }
    });
    let started = Instant::now();
    let counters = RedisCounters::connect_with(
        &format!("redis://{addr}"),
        RedisFailure::Closed,
        1,
        options(&unique_prefix("silent"), 150),
    )
    .await
    .unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
    assert!(counters.degraded());
    let started = Instant::now();
    assert!(counters.reserve(&[res("rpm", 1, 10, 0)]).await.is_err());
    // Degraded: refused at once, no second wait.
    assert!(started.elapsed() < Duration::from_millis(50));
    held.abort();
}

/// A `redis-server` of this test's own on a Unix socket, killed on drop.
struct OwnRedis {
    child: Child,
    socket: std::path::PathBuf,
}

impl OwnRedis {
    async fn start(dir: &Path) -> Self {
        let socket = dir.join("redis.sock");
        let _ = std::fs::remove_file(&socket);
        let child = Command::new("redis-server")
            .args([
                "--port",
                "0",
                "--save",
                "",
                "--appendonly",
                "no",
                "--unixsocket",
            ])
            .arg(&socket)
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("redis-server must be installed for this test: {e}"));
        // Owned from here on, so a failure below still kills it.
        let server = Self { child, socket };
        for _ in 0..100 {
            if server.socket.exists() {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("redis-server did not open {}", server.socket.display());
    }

    fn url(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    fn signal(&self, signal: &str) -> bool {
        Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .is_ok_and(|s| s.success())
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        // Never leave a stopped server behind; it may already be dead.
        let _ = self.signal("-CONT");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn wait_until_healthy(counters: &RedisCounters) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while counters.degraded() {
        assert!(Instant::now() < deadline, "never left degraded mode");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn outage_and_recovery() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = OwnRedis::start(dir.path()).await;
    let timeout = Duration::from_millis(200);
    let counters = RedisCounters::connect_with(
        &server.url(),
        RedisFailure::Open,
        2,
        options("own:", timeout.as_millis() as u64),
    )
    .await
    .unwrap();
    assert!(!counters.degraded());
    let rpm = || [res("rpm", 1, 10, 0)];
    assert_eq!(
        counters.reserve(&rpm()).await.unwrap(),
        Outcome::Admitted(vec![1])
    );

    // A hung server: the call gives up at the timeout and the fallback answers.
    assert!(server.signal("-STOP"));
    let started = Instant::now();
    let outcome = counters.reserve(&rpm()).await.unwrap();
    let took = started.elapsed();
    assert!(took < timeout + Duration::from_millis(150), "took {took:?}");
    assert_eq!(
        outcome,
        Outcome::Admitted(vec![1]),
        "counted locally from 0"
    );
    assert!(counters.degraded());
    // Degraded calls skip Redis entirely.
    let started = Instant::now();
    counters.reserve(&rpm()).await.unwrap();
    assert!(started.elapsed() < Duration::from_millis(50));

    assert!(server.signal("-CONT"));
    wait_until_healthy(&counters).await;
    // Back on Redis. The call that timed out was already in the stopped server's socket
    // and ran when it resumed (the documented double count, erring toward refusal); the
    // reservations counted locally never reach Redis.
    assert_eq!(counters.get(&keys(&["rpm"])).await.unwrap(), vec![2]);

    // A dead server, then a new one on the same socket.
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    assert!(counters.reserve(&rpm()).await.is_ok());
    assert!(counters.degraded());
    server = OwnRedis::start(dir.path()).await;
    wait_until_healthy(&counters).await;
    // The fresh server has no cached script: EVALSHA falls back to EVAL.
    assert_eq!(
        counters.reserve(&rpm()).await.unwrap(),
        Outcome::Admitted(vec![1])
    );
    drop(server);
}
