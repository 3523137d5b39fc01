//! Atomic check-and-add counters: the one primitive rate limits and budgets need.
//!
//! A request's admission is one [`Counters::reserve`] call covering every counter it
//! touches (its key's requests this minute, its workspace's tokens, its budget's spend,
//! its concurrency slot...): either every amount fits under its limit and all are added,
//! or none is. One call is one Redis round trip in cluster mode, however many limits
//! apply. After the request, [`Counters::adjust`] reconciles estimates with actuals and
//! releases concurrency slots.
//!
//! Counter names carry their window (`rl:key:<id>:rpm:<window start>`), chosen by the
//! caller; a counter expires `ttl_ms` after it is first written, so windows clean up
//! after themselves.

mod local;
mod redis;

pub use local::LocalCounters;
pub use redis::{RedisCounters, RedisFailure, RedisOptions};

use async_trait::async_trait;
use std::sync::Arc;

/// Add `amount` to counter `key` if the result stays at or under `limit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    /// Shared: a request's keys travel from its plan to reservation, settlement and
    /// the counters' map without being copied.
    pub key: Arc<str>,
    pub amount: i64,
    pub limit: i64,
    /// Expiry of a newly created counter; 0 for none.
    pub ttl_ms: u64,
}

/// Add `delta` (possibly negative) to counter `key` unconditionally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adjustment {
    pub key: Arc<str>,
    pub delta: i64,
    /// Expiry if this creates the counter; 0 for none.
    pub ttl_ms: u64,
}

/// The outcome of a [`Counters::reserve`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every amount was added; the counters' values afterwards, in order.
    Admitted(Vec<i64>),
    /// Nothing was added: reservation `index` would have gone over its limit, with the
    /// counter at `current`.
    Denied { index: usize, current: i64 },
}

/// The counter backend could not be reached (cluster mode, fail-closed).
#[derive(Debug, thiserror::Error)]
#[error("counter store unavailable: {0}")]
pub struct CounterError(pub String);

/// Counters shared by everyone who must agree on a limit.
#[async_trait]
pub trait Counters: Send + Sync {
    /// All or nothing: see [`Outcome`].
    async fn reserve(&self, items: &[Reservation]) -> Result<Outcome, CounterError>;

    /// Adds every delta.
    async fn adjust(&self, items: &[Adjustment]) -> Result<(), CounterError>;

    /// Sets `key` to `value` unless it exists (seeding a budget's spend from the ledger).
    async fn seed(&self, key: &str, value: i64, ttl_ms: u64) -> Result<(), CounterError>;

    /// Current values (0 for missing counters).
    async fn get(&self, keys: &[String]) -> Result<Vec<i64>, CounterError>;

    /// `"local"` or `"redis"`.
    fn backend_name(&self) -> &'static str;
}
