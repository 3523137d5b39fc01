//! In-process counters (embedded mode): one mutex-guarded map, so a reservation over
//! several counters is atomic without a script.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use foldhash::fast::RandomState;

use super::{Adjustment, CounterError, Counters, Outcome, Reservation};

/// The counters. foldhash, not SipHash: keys are ours (policy ids and windows), not
/// attacker-chosen, and every governed request hashes several of them.
type Map = HashMap<Arc<str>, Entry, RandomState>;

#[derive(Debug, Clone, Copy)]
struct Entry {
    value: i64,
    expires: Option<Instant>,
}

/// How often expired counters are dropped. Every window has a name of its own, so a
/// map that kept expired entries would grow by a few per policy every minute.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Counters in this process.
#[derive(Debug)]
pub struct LocalCounters {
    inner: Mutex<Inner>,
    sweep_every: Duration,
}

impl Default for LocalCounters {
    fn default() -> Self {
        Self::with_sweep_every(SWEEP_EVERY)
    }
}

#[derive(Debug, Default)]
struct Inner {
    map: Map,
    next_sweep: Option<Instant>,
}

impl LocalCounters {
    pub fn new() -> Self {
        Self::default()
    }

    /// Counters that drop expired entries at most this often.
    pub fn with_sweep_every(sweep_every: Duration) -> Self {
        Self {
            inner: Mutex::default(),
            sweep_every,
        }
    }

    /// The map, with expired counters dropped if a sweep is due.
    fn map(&self, now: Instant) -> MutexGuard<'_, Inner> {
        let mut inner = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if inner.next_sweep.is_none_or(|t| now >= t) {
            inner.map.retain(|_, e| live(e, now));
            inner.next_sweep = Some(now + self.sweep_every);
        }
        inner
    }

    /// How many counters are held (expired ones not yet swept included).
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .map
            .len()
    }

    /// Whether no counter is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Runs `f` on the live entry of `key` (created, or restarted if it expired, with
/// `ttl_ms`), with what the entry held before (`None`: it was missing). The key is
/// copied only the first time it is seen, and looked up once: this runs for every
/// hold of every governed request.
fn with_live<R>(
    map: &mut Map,
    key: &Arc<str>,
    ttl_ms: u64,
    now: Instant,
    f: impl FnOnce(&mut Entry, Option<Entry>) -> R,
) -> R {
    let fresh = Entry {
        value: 0,
        expires: expiry(now, ttl_ms),
    };
    match map.get_mut(&**key) {
        Some(entry) => {
            let prior = *entry;
            if !live(entry, now) {
                *entry = fresh;
            }
            f(entry, Some(prior))
        }
        None => f(map.entry(key.clone()).or_insert(fresh), None),
    }
}

/// Adds `delta` to `key` (starting from 0 when it is missing or expired) and returns
/// the new value.
fn add(map: &mut Map, key: &Arc<str>, delta: i64, ttl_ms: u64, now: Instant) -> i64 {
    with_live(map, key, ttl_ms, now, |entry, _| {
        entry.value = entry.value.saturating_add(delta);
        entry.value
    })
}

/// Puts entries back as they were before a refused reservation touched them, latest
/// first, so a key listed twice ends as it began.
fn restore<'a>(
    map: &mut Map,
    touched: impl DoubleEndedIterator<Item = (&'a Arc<str>, Option<Entry>)>,
) {
    for (key, prior) in touched.rev() {
        match prior {
            Some(prior) => {
                if let Some(entry) = map.get_mut(&**key) {
                    *entry = prior;
                }
            }
            None => {
                map.remove(&**key);
            }
        }
    }
}

fn live(entry: &Entry, now: Instant) -> bool {
    entry.expires.is_none_or(|t| now < t)
}

fn expiry(now: Instant, ttl_ms: u64) -> Option<Instant> {
    (ttl_ms > 0).then(|| now + Duration::from_millis(ttl_ms))
}

#[async_trait]
impl Counters for LocalCounters {
    async fn reserve(&self, items: &[Reservation]) -> Result<Outcome, CounterError> {
        let now = Instant::now();
        let mut inner = self.map(now);
        let map = &mut inner.map;
        // One lookup per item: each amount is added as it is checked (so a key listed
        // twice is checked against the sum of its amounts), and a refusal puts back
        // what was there. Saturating: an absurd amount is refused, never a panic or a
        // wrap-around.
        let mut values = Vec::with_capacity(items.len());
        let mut priors = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let (value, prior, fits) =
                with_live(map, &item.key, item.ttl_ms, now, |entry, prior| {
                    let value = entry.value;
                    let fits = value.saturating_add(item.amount) <= item.limit;
                    if fits {
                        entry.value = value.saturating_add(item.amount);
                    }
                    (value, prior, fits)
                });
            priors.push(prior);
            if !fits {
                restore(map, items.iter().map(|i| &i.key).zip(priors));
                return Ok(Outcome::Denied {
                    index,
                    current: value,
                });
            }
            values.push(value.saturating_add(item.amount));
        }
        Ok(Outcome::Admitted(values))
    }

    async fn adjust(&self, items: &[Adjustment]) -> Result<(), CounterError> {
        let now = Instant::now();
        let mut inner = self.map(now);
        let map = &mut inner.map;
        for item in items {
            add(map, &item.key, item.delta, item.ttl_ms, now);
        }
        Ok(())
    }

    async fn seed(&self, key: &str, value: i64, ttl_ms: u64) -> Result<(), CounterError> {
        let now = Instant::now();
        let mut inner = self.map(now);
        let map = &mut inner.map;
        let fresh = map.get(key).is_none_or(|e| !live(e, now));
        if fresh {
            map.insert(
                key.into(),
                Entry {
                    value,
                    expires: expiry(now, ttl_ms),
                },
            );
        }
        Ok(())
    }

    async fn get(&self, keys: &[String]) -> Result<Vec<i64>, CounterError> {
        let now = Instant::now();
        let inner = self.map(now);
        let map = &inner.map;
        Ok(keys
            .iter()
            .map(|k| {
                map.get(k.as_str())
                    .filter(|e| live(e, now))
                    .map_or(0, |e| e.value)
            })
            .collect())
    }

    fn backend_name(&self) -> &'static str {
        "local"
    }
}
