//! Counters in Redis (cluster mode): every replica shares them, and a reservation over
//! several counters is one Lua script, atomic on the server.
//!
//! # Calls
//! - `reserve` and `adjust` are one `EVALSHA` each (falling back to `EVAL` when the
//!   server has not cached the script yet, e.g. after a restart); `seed` is
//!   `SET NX PX`; `get` is `MGET`. Every call is bounded by [`RedisOptions::timeout`] so
//!   a hung Redis costs a request at most that long.
//! - Keys are prefixed with [`RedisOptions::prefix`] (`morn:` by default) so several
//!   deployments can share one Redis.
//!
//! # While Redis is unreachable
//! The first call that fails for lack of Redis (I/O error, timeout, a server that is
//! loading or read-only...) marks the counters *degraded*, logs one warning and starts a
//! background probe that `PING`s every [`RedisOptions::probe_interval`]. While degraded,
//! calls do not touch Redis at all, so a hung server does not add a timeout to every
//! request; the probe clears the flag (one info log) when Redis answers again.
//!
//! - [`RedisFailure::Open`]: calls go to an in-process [`LocalCounters`]. Each
//!   reservation's limit becomes `limit / replicas`, rounded toward zero, so the
//!   replicas together never admit more than the limit (a limit smaller than the
//!   replica count admits nothing). What was counted locally is not copied into Redis
//!   on recovery: the outage's usage still reaches the ledger, from which budgets are
//!   seeded.
//! - [`RedisFailure::Closed`]: calls return [`CounterError`] (the server answers 503).
//!
//! In both modes [`RedisCounters::connect`] fails only for an invalid URL: a Redis that
//! is down at start leaves the counters degraded from the start, with the probe
//! retrying. Replicas may then start before Redis (compose or Kubernetes ordering
//! decides nothing), and [`RedisCounters::degraded`] shows the state to metrics and
//! readiness checks instead of a crash loop hiding it.
//!
//! A call that times out may still have run on the server; if so, a fail-open
//! reservation is counted twice (in Redis and locally), which errs toward refusing.
//! Errors that are not about reachability (a counter key holding a non-number, say)
//! never degrade: they are returned as [`CounterError`] in both modes.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{ErrorKind, RedisError, Script, ServerErrorKind};

use super::{Adjustment, CounterError, Counters, LocalCounters, Outcome, Reservation};

/// What to do while Redis cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RedisFailure {
    /// Count in process, each replica allowed `limit / replicas`.
    #[default]
    Open,
    /// Refuse requests (503) until Redis is back.
    Closed,
}

/// Tuning for [`RedisCounters::connect_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisOptions {
    /// Prepended to every counter key.
    pub prefix: String,
    /// Upper bound of one Redis call, connecting included.
    pub timeout: Duration,
    /// How often a degraded instance checks whether Redis is back.
    pub probe_interval: Duration,
}

impl Default for RedisOptions {
    fn default() -> Self {
        Self {
            prefix: "morn:".to_owned(),
            timeout: Duration::from_millis(250),
            probe_interval: Duration::from_millis(500),
        }
    }
}

/// Counters in Redis. Cheap to clone: clones share the connection and the state.
#[derive(Clone)]
pub struct RedisCounters {
    inner: Arc<Inner>,
}

struct Inner {
    conn: ConnectionManager,
    options: RedisOptions,
    failure: RedisFailure,
    /// At least 1.
    replicas: i64,
    /// Where fail-open counts while degraded.
    fallback: LocalCounters,
    degraded: AtomicBool,
    reserve: Script,
    adjust: Script,
}

impl std::fmt::Debug for RedisCounters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCounters")
            .field("prefix", &self.inner.options.prefix)
            .field("failure", &self.inner.failure)
            .field("replicas", &self.inner.replicas)
            .field("degraded", &self.degraded())
            .finish_non_exhaustive()
    }
}

/// Why a Redis call failed: only `Outage` switches to the failure policy.
enum CallError {
    Outage(String),
    Other(String),
}

impl From<RedisError> for CallError {
    fn from(e: RedisError) -> Self {
        if is_outage(&e) {
            Self::Outage(e.to_string())
        } else {
            Self::Other(e.to_string())
        }
    }
}

/// Whether `e` means "Redis is not usable right now" rather than "this call was wrong".
fn is_outage(e: &RedisError) -> bool {
    if e.is_io_error() || e.is_timeout() || e.is_connection_dropped() || e.is_connection_refusal() {
        return true;
    }
    match e.kind() {
        ErrorKind::Server(kind) => matches!(
            kind,
            ServerErrorKind::BusyLoading
                | ServerErrorKind::TryAgain
                | ServerErrorKind::ClusterDown
                | ServerErrorKind::MasterDown
                | ServerErrorKind::ReadOnly
                | ServerErrorKind::NoPerm
        ),
        // A wrong password never fixes itself, but it leaves Redis just as unusable.
        ErrorKind::AuthenticationFailed => true,
        _ => false,
    }
}

impl RedisCounters {
    /// Connects to `url` (`redis://host:port/db`) with [`RedisOptions::default`].
    /// `replicas` is the share each replica gets of a limit while failing open (0 is
    /// taken as 1). Fails only for an invalid URL: see the module docs.
    pub async fn connect(
        url: &str,
        failure: RedisFailure,
        replicas: u32,
    ) -> Result<Self, CounterError> {
        Self::connect_with(url, failure, replicas, RedisOptions::default()).await
    }

    /// [`Self::connect`] with explicit options.
    pub async fn connect_with(
        url: &str,
        failure: RedisFailure,
        replicas: u32,
        options: RedisOptions,
    ) -> Result<Self, CounterError> {
        let client = redis::Client::open(url)
            .map_err(|e| CounterError(format!("invalid redis url: {e}")))?;
        // One connection attempt per use and no backoff of the manager's own: the probe
        // is the retry loop, and requests must never wait on a reconnect schedule.
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(0)
            .set_connection_timeout(Some(options.timeout))
            .set_response_timeout(Some(options.timeout));
        let conn = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| CounterError(format!("redis client: {e}")))?;
        let counters = Self {
            inner: Arc::new(Inner {
                conn,
                options,
                failure,
                replicas: i64::from(replicas.max(1)),
                fallback: LocalCounters::new(),
                degraded: AtomicBool::new(false),
                reserve: Script::new(include_str!("scripts/reserve.lua")),
                adjust: Script::new(include_str!("scripts/adjust.lua")),
            }),
        };
        if let Err(CallError::Outage(reason) | CallError::Other(reason)) = counters.ping().await {
            counters.enter_degraded(&reason);
        }
        Ok(counters)
    }

    /// True while Redis is unreachable and the failure policy applies.
    pub fn degraded(&self) -> bool {
        self.inner.degraded.load(Ordering::Acquire)
    }

    /// The key prefix in use.
    pub fn prefix(&self) -> &str {
        &self.inner.options.prefix
    }

    async fn ping(&self) -> Result<(), CallError> {
        let mut conn = self.inner.conn.clone();
        bounded(self.inner.options.timeout, async move {
            redis::cmd("PING").query_async::<()>(&mut conn).await
        })
        .await
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.inner.options.prefix)
    }

    /// Marks the counters degraded; the first caller to do so warns and starts the probe.
    fn enter_degraded(&self, reason: &str) {
        if self
            .inner
            .degraded
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            tracing::warn!(
                reason,
                policy = ?self.inner.failure,
                "redis counters unreachable: degraded until redis answers again"
            );
            tokio::spawn(probe(Arc::downgrade(&self.inner)));
        }
    }

    /// After a failed Redis call: an error to return, or `Ok` to use the fallback.
    fn on_failure(&self, error: CallError) -> Result<(), CounterError> {
        match error {
            CallError::Other(reason) => Err(CounterError(reason)),
            CallError::Outage(reason) => {
                self.enter_degraded(&reason);
                self.refuse_if_closed()
            }
        }
    }

    fn refuse_if_closed(&self) -> Result<(), CounterError> {
        match self.inner.failure {
            RedisFailure::Open => Ok(()),
            RedisFailure::Closed => Err(CounterError(
                "redis unreachable (failing closed)".to_owned(),
            )),
        }
    }

    /// This replica's share of each limit while failing open.
    fn shares(&self, items: &[Reservation]) -> Vec<Reservation> {
        items
            .iter()
            .map(|item| Reservation {
                limit: item.limit / self.inner.replicas,
                ..item.clone()
            })
            .collect()
    }

    async fn redis_reserve(&self, items: &[Reservation]) -> Result<Outcome, CallError> {
        let mut invocation = self.inner.reserve.prepare_invoke();
        for item in items {
            invocation
                .key(self.key(&item.key))
                .arg(item.amount)
                .arg(item.limit)
                .arg(item.ttl_ms);
        }
        let mut conn = self.inner.conn.clone();
        let reply: Vec<i64> = bounded(self.inner.options.timeout, async move {
            invocation.invoke_async(&mut conn).await
        })
        .await?;
        parse_reserve(&reply, items.len())
    }

    async fn redis_adjust(&self, items: &[Adjustment]) -> Result<(), CallError> {
        let mut invocation = self.inner.adjust.prepare_invoke();
        for item in items {
            invocation
                .key(self.key(&item.key))
                .arg(item.delta)
                .arg(item.ttl_ms);
        }
        let mut conn = self.inner.conn.clone();
        bounded(self.inner.options.timeout, async move {
            invocation.invoke_async::<()>(&mut conn).await
        })
        .await
    }

    async fn redis_seed(&self, key: &str, value: i64, ttl_ms: u64) -> Result<(), CallError> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(key)).arg(value).arg("NX");
        if ttl_ms > 0 {
            cmd.arg("PX").arg(ttl_ms);
        }
        let mut conn = self.inner.conn.clone();
        bounded(self.inner.options.timeout, async move {
            // `SET NX` answers nil when the key exists: not an error here.
            cmd.query_async::<Option<String>>(&mut conn).await
        })
        .await
        .map(drop)
    }

    async fn redis_get(&self, keys: &[String]) -> Result<Vec<i64>, CallError> {
        let mut cmd = redis::cmd("MGET");
        for key in keys {
            cmd.arg(self.key(key));
        }
        let mut conn = self.inner.conn.clone();
        let values: Vec<Option<i64>> = bounded(self.inner.options.timeout, async move {
            cmd.query_async(&mut conn).await
        })
        .await?;
        Ok(values.into_iter().map(Option::unwrap_or_default).collect())
    }
}

/// Runs one Redis call under `timeout`; running out of time counts as an outage.
async fn bounded<T>(
    timeout: Duration,
    call: impl Future<Output = Result<T, RedisError>>,
) -> Result<T, CallError> {
    match tokio::time::timeout(timeout, call).await {
        Ok(result) => result.map_err(CallError::from),
        Err(_) => Err(CallError::Outage(format!(
            "redis call timed out after {} ms",
            timeout.as_millis()
        ))),
    }
}

/// Decodes the reserve script's `{1, values...}` or `{0, index, current}`.
fn parse_reserve(reply: &[i64], len: usize) -> Result<Outcome, CallError> {
    let bad = || CallError::Other(format!("unexpected reserve script reply: {reply:?}"));
    match reply {
        [1, values @ ..] if values.len() == len => Ok(Outcome::Admitted(values.to_vec())),
        [0, index, current] => {
            let index = usize::try_from(*index).map_err(|_| bad())?;
            if index >= len {
                return Err(bad());
            }
            Ok(Outcome::Denied {
                index,
                current: *current,
            })
        }
        _ => Err(bad()),
    }
}

/// Pings until Redis answers, then leaves degraded mode. Ends with the counters.
async fn probe(inner: Weak<Inner>) {
    loop {
        let Some(interval) = inner.upgrade().map(|i| i.options.probe_interval) else {
            return;
        };
        tokio::time::sleep(interval).await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        let counters = RedisCounters { inner };
        if counters.ping().await.is_ok() {
            counters.inner.degraded.store(false, Ordering::Release);
            tracing::info!("redis counters reachable again: leaving degraded mode");
            return;
        }
    }
}

#[async_trait]
impl Counters for RedisCounters {
    async fn reserve(&self, items: &[Reservation]) -> Result<Outcome, CounterError> {
        if items.is_empty() {
            return Ok(Outcome::Admitted(Vec::new()));
        }
        if self.degraded() {
            self.refuse_if_closed()?;
        } else {
            match self.redis_reserve(items).await {
                Ok(outcome) => return Ok(outcome),
                Err(e) => self.on_failure(e)?,
            }
        }
        self.inner.fallback.reserve(&self.shares(items)).await
    }

    async fn adjust(&self, items: &[Adjustment]) -> Result<(), CounterError> {
        if items.is_empty() {
            return Ok(());
        }
        if self.degraded() {
            self.refuse_if_closed()?;
        } else {
            match self.redis_adjust(items).await {
                Ok(()) => return Ok(()),
                Err(e) => self.on_failure(e)?,
            }
        }
        self.inner.fallback.adjust(items).await
    }

    async fn seed(&self, key: &str, value: i64, ttl_ms: u64) -> Result<(), CounterError> {
        if self.degraded() {
            self.refuse_if_closed()?;
        } else {
            match self.redis_seed(key, value, ttl_ms).await {
                Ok(()) => return Ok(()),
                Err(e) => self.on_failure(e)?,
            }
        }
        self.inner.fallback.seed(key, value, ttl_ms).await
    }

    async fn get(&self, keys: &[String]) -> Result<Vec<i64>, CounterError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        if self.degraded() {
            self.refuse_if_closed()?;
        } else {
            match self.redis_get(keys).await {
                Ok(values) => return Ok(values),
                Err(e) => self.on_failure(e)?,
            }
        }
        self.inner.fallback.get(keys).await
    }

    fn backend_name(&self) -> &'static str {
        "redis"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_script_replies() {
        assert!(matches!(
            parse_reserve(&[1, 3, 7], 2),
            Ok(Outcome::Admitted(v)) if v == [3, 7]
        ));
        assert!(matches!(
            parse_reserve(&[0, 1, 9], 2),
            Ok(Outcome::Denied {
                index: 1,
                current: 9
            })
        ));
        // Wrong arity or an index out of range is a bug, never an admission.
        assert!(parse_reserve(&[1, 3], 2).is_err());
        assert!(parse_reserve(&[0, 2, 9], 2).is_err());
        assert!(parse_reserve(&[0, -1, 9], 2).is_err());
        assert!(parse_reserve(&[], 0).is_err());
    }
}
