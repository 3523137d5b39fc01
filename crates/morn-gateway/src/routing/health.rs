//! Per-deployment health: a circuit breaker plus the live stats balancing reads
//! (requests in flight, smoothed latency).
//!
//! The breaker opens after `consecutive_failures` failures in a row, or when the
//! error rate over the recent window reaches `error_rate` with at least
//! `min_requests` requests in it. Open, it refuses requests until its cooldown is
//! over, then lets exactly one probe through (half-open): success closes it, failure
//! reopens it with a doubled cooldown. Only failures that say something about the
//! deployment (rate limits, unavailability) count; a bad request is the caller's.
//!
//! The window is a sliding window approximated by 10 fixed buckets of `window / 10`:
//! an event stops counting between 0.9 × `window` and `window` after it happened.
//!
//! Concurrency: breaker state and window live behind a `std::sync::Mutex` held for a
//! few field updates, never across an await. The closed-state admission check, the
//! in-flight counter and the latency read are lock-free atomics, so the common path
//! (a healthy deployment) takes no lock before the request and one after it.

use std::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::classify::ErrorClass;

#[cfg(test)]
mod concurrency;
#[cfg(test)]
mod tests;
mod window;

use window::Window;

/// Breaker thresholds and timings.
#[derive(Debug, Clone)]
pub struct HealthConfig {
    /// Failures in a row that open the breaker.
    pub consecutive_failures: u32,
    /// Error rate in the window (0.0–1.0) that opens the breaker...
    pub error_rate: f64,
    /// ...once the window holds at least this many requests.
    pub min_requests: u32,
    /// Length of the sliding window for the error rate.
    pub window: Duration,
    /// First cooldown after opening; doubled on each failed probe.
    pub cooldown: Duration,
    /// Cap on the doubled cooldown. A probe that never reports (its caller was
    /// cancelled) is also presumed lost after this long, and another probe admitted.
    pub max_cooldown: Duration,
    /// `false` turns the breaker off: failures are counted for the health report but
    /// never take the deployment out of rotation (a single-upstream setup that wants
    /// every upstream answer passed through as-is).
    pub enabled: bool,
}

impl Default for HealthConfig {
    fn default() -> Self {
        Self {
            consecutive_failures: 3,
            error_rate: 0.5,
            min_requests: 10,
            window: Duration::from_secs(30),
            cooldown: Duration::from_secs(5),
            max_cooldown: Duration::from_secs(60),
            enabled: true,
        }
    }
}

/// Circuit-breaker state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    /// Healthy: requests flow.
    Closed,
    /// Tripped: requests are refused until the cooldown is over.
    Open,
    /// Cooldown over: one probe request is in flight; others wait for its outcome.
    HalfOpen,
}

impl BreakerState {
    fn to_u8(self) -> u8 {
        match self {
            Self::Closed => 0,
            Self::Open => 1,
            Self::HalfOpen => 2,
        }
    }
}

/// A point-in-time view of one deployment's health, for the admin API and metrics.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HealthSnapshot {
    pub state: BreakerState,
    pub consecutive_failures: u32,
    pub requests_in_window: u32,
    pub errors_in_window: u32,
    /// `errors_in_window / requests_in_window`, 0.0 for an empty window.
    pub error_rate: f64,
    pub cooldown_remaining_ms: u64,
    pub ewma_latency_ms: f64,
    pub outstanding: u32,
    /// Completed requests of every outcome, ever.
    pub total_requests: u64,
    /// Failures that count against health (rate limited, unavailable), ever.
    pub total_failures: u64,
    /// `class:code` of the last failure that counted against health; never a message.
    pub last_error: Option<String>,
}

/// Health of one deployment, shared by all requests routed to it.
#[derive(Debug)]
pub struct DeploymentHealth {
    config: HealthConfig,
    /// Mirror of `Inner::state`, written under the lock, read without it. A stale
    /// read admits one request too many or too few around a transition: harmless.
    state: AtomicU8,
    outstanding: AtomicU32,
    /// `f64` bits of the EWMA latency in microseconds; 0.0 means no sample yet.
    /// Written under the lock (read-modify-write), read without it.
    ewma_us: AtomicU64,
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    state: BreakerState,
    consecutive: u32,
    /// While open: when the cooldown ends. While half-open: when the probe started.
    since_or_until: Instant,
    /// The current cooldown: `config.cooldown`, doubled on each failed probe.
    cooldown: Duration,
    window: Window,
    total_requests: u64,
    total_failures: u64,
    /// `class:code` of the last health failure; empty for none. Reused, so recording
    /// a failure allocates at most once per longer code.
    last_error: String,
}

/// EWMA smoothing factor: the weight of the newest latency sample.
const EWMA_ALPHA: f64 = 0.3;
/// Longest code kept in `last_error`; codes come from upstreams.
const MAX_CODE_LEN: usize = 64;

impl DeploymentHealth {
    pub fn new(config: HealthConfig) -> Self {
        let now = Instant::now();
        Self {
            state: AtomicU8::new(BreakerState::Closed.to_u8()),
            outstanding: AtomicU32::new(0),
            ewma_us: AtomicU64::new(0f64.to_bits()),
            inner: Mutex::new(Inner {
                state: BreakerState::Closed,
                consecutive: 0,
                since_or_until: now,
                cooldown: config.cooldown,
                window: Window::new(config.window),
                total_requests: 0,
                total_failures: 0,
                last_error: String::new(),
            }),
            config,
        }
    }

    /// May a request be sent now? Closed: yes. Open with the cooldown running: no.
    /// Open with the cooldown over: becomes half-open and says yes to exactly one
    /// caller (the probe); the others get no until the probe reports.
    pub fn admit(&self, now: Instant) -> bool {
        if self.is_closed_fast() {
            return true;
        }
        let mut inner = self.lock();
        match inner.state {
            BreakerState::Closed => true,
            BreakerState::Open | BreakerState::HalfOpen if self.probe_due(&inner, now) => {
                inner.state = BreakerState::HalfOpen;
                inner.since_or_until = now;
                self.state
                    .store(BreakerState::HalfOpen.to_u8(), Ordering::Relaxed);
                true
            }
            BreakerState::Open | BreakerState::HalfOpen => false,
        }
    }

    /// A last-resort probe before the cooldown is over: used when every deployment of a
    /// model is out of rotation, so a recovered upstream is found by the next request
    /// instead of after its (possibly long, doubled) cooldown. Moves the breaker to
    /// half-open; the request's outcome closes or reopens it as for any probe. Only one
    /// probe at a time: `false` when one is already in flight (the caller fails fast).
    pub fn force_probe(&self, now: Instant) -> bool {
        if self.is_closed_fast() {
            return true;
        }
        let mut inner = self.lock();
        match inner.state {
            BreakerState::Closed => true,
            BreakerState::Open => {
                inner.state = BreakerState::HalfOpen;
                inner.since_or_until = now;
                self.state
                    .store(BreakerState::HalfOpen.to_u8(), Ordering::Relaxed);
                true
            }
            BreakerState::HalfOpen => false,
        }
    }

    /// Whether `admit` would say yes, without claiming the half-open probe slot (for
    /// ranking candidates before choosing one).
    pub fn is_available(&self, now: Instant) -> bool {
        if self.is_closed_fast() {
            return true;
        }
        let inner = self.lock();
        inner.state == BreakerState::Closed || self.probe_due(&inner, now)
    }

    /// Records a successful request: closes a half-open breaker (cooldown back to its
    /// base, window cleared so old errors cannot reopen it at once) and updates the
    /// latency EWMA and the window.
    pub fn on_success(&self, now: Instant, latency: Duration) {
        let mut inner = self.lock();
        inner.total_requests += 1;
        inner.consecutive = 0;
        inner.window.record(now, false);
        if inner.state == BreakerState::HalfOpen {
            self.close(&mut inner);
        }
        let sample = latency.as_secs_f64() * 1e6;
        let old = f64::from_bits(self.ewma_us.load(Ordering::Relaxed));
        let new = if old > 0.0 {
            EWMA_ALPHA * sample + (1.0 - EWMA_ALPHA) * old
        } else {
            sample
        };
        self.ewma_us.store(new.to_bits(), Ordering::Relaxed);
    }

    /// Records a failed request. Only classes that count against health change the
    /// breaker: N failures in a row, or the error rate over the window, opens it; a
    /// failed probe reopens it with a doubled cooldown (capped); a rate limit with a
    /// Retry-After opens it for at least that long. Other classes (the request's own
    /// fault) count as a completed request, not an error, and reset nothing, except
    /// that an answered probe proves the deployment reachable and closes the breaker.
    pub fn on_failure(
        &self,
        now: Instant,
        class: ErrorClass,
        code: &str,
        retry_after: Option<Duration>,
    ) {
        let mut inner = self.lock();
        inner.total_requests += 1;
        let counts = class.counts_against_health();
        inner.window.record(now, counts);
        if !counts {
            if inner.state == BreakerState::HalfOpen {
                self.close(&mut inner);
            }
            return;
        }
        inner.total_failures += 1;
        inner.consecutive = inner.consecutive.saturating_add(1);
        set_last_error(&mut inner.last_error, class, code);
        // "Come back in N seconds" from the provider; 0 says nothing.
        let told = retry_after.filter(|d| class == ErrorClass::RateLimited && !d.is_zero());
        if !self.config.enabled {
            return;
        }

        match inner.state {
            BreakerState::HalfOpen => {
                inner.cooldown = inner
                    .cooldown
                    .saturating_mul(2)
                    .min(self.config.max_cooldown);
                let open_for = inner.cooldown.max(told.unwrap_or_default());
                self.open(&mut inner, now, open_for);
            }
            BreakerState::Open => {
                // A straggler admitted before the breaker opened. The cooldown runs on,
                // extended only if the provider asked for longer.
                if let Some(d) = told {
                    let until = later(now, d);
                    inner.since_or_until = inner.since_or_until.max(until);
                }
            }
            BreakerState::Closed => {
                let (requests, errors) = inner.window.counts(now);
                let tripped = inner.consecutive >= self.config.consecutive_failures
                    || (requests >= self.config.min_requests
                        && f64::from(errors) >= self.config.error_rate * f64::from(requests));
                if tripped {
                    let open_for = inner.cooldown.max(told.unwrap_or_default());
                    self.open(&mut inner, now, open_for);
                } else if let Some(d) = told {
                    self.open(&mut inner, now, d);
                }
            }
        }
    }

    /// Counts a request in flight until the returned guard is dropped.
    pub fn begin(&self) -> Outstanding<'_> {
        self.outstanding.fetch_add(1, Ordering::Relaxed);
        Outstanding {
            counter: &self.outstanding,
        }
    }

    /// Like [`Self::begin`], for a guard that must outlive a borrow: one moved into a
    /// spawned task or a `'static` response stream.
    pub fn begin_owned(self: &Arc<Self>) -> OwnedOutstanding {
        self.outstanding.fetch_add(1, Ordering::Relaxed);
        OwnedOutstanding {
            health: Arc::clone(self),
        }
    }

    /// Requests in flight now.
    pub fn outstanding(&self) -> u32 {
        self.outstanding.load(Ordering::Relaxed)
    }

    /// Smoothed latency of successful requests in microseconds; 0.0 with no sample yet.
    pub fn ewma_latency_us(&self) -> f64 {
        f64::from_bits(self.ewma_us.load(Ordering::Relaxed))
    }

    pub fn snapshot(&self, now: Instant) -> HealthSnapshot {
        let inner = self.lock();
        let (requests, errors) = inner.window.counts(now);
        let cooldown_remaining = match inner.state {
            BreakerState::Open => inner.since_or_until.saturating_duration_since(now),
            BreakerState::Closed | BreakerState::HalfOpen => Duration::ZERO,
        };
        HealthSnapshot {
            state: inner.state,
            consecutive_failures: inner.consecutive,
            requests_in_window: requests,
            errors_in_window: errors,
            error_rate: if requests == 0 {
                0.0
            } else {
                f64::from(errors) / f64::from(requests)
            },
            cooldown_remaining_ms: u64::try_from(cooldown_remaining.as_millis())
                .unwrap_or(u64::MAX),
            ewma_latency_ms: self.ewma_latency_us() / 1000.0,
            outstanding: self.outstanding(),
            total_requests: inner.total_requests,
            total_failures: inner.total_failures,
            last_error: (!inner.last_error.is_empty()).then(|| inner.last_error.clone()),
        }
    }

    fn is_closed_fast(&self) -> bool {
        self.state.load(Ordering::Relaxed) == BreakerState::Closed.to_u8()
    }

    /// Whether the next caller may be the probe: the cooldown is over (open), or the
    /// current probe has been out for `max_cooldown` without reporting (half-open).
    fn probe_due(&self, inner: &Inner, now: Instant) -> bool {
        match inner.state {
            BreakerState::Closed => false,
            BreakerState::Open => now >= inner.since_or_until,
            BreakerState::HalfOpen => {
                now.saturating_duration_since(inner.since_or_until) >= self.config.max_cooldown
            }
        }
    }

    fn open(&self, inner: &mut Inner, now: Instant, open_for: Duration) {
        inner.state = BreakerState::Open;
        inner.since_or_until = later(now, open_for);
        self.state
            .store(BreakerState::Open.to_u8(), Ordering::Relaxed);
    }

    fn close(&self, inner: &mut Inner) {
        inner.state = BreakerState::Closed;
        inner.consecutive = 0;
        inner.cooldown = self.config.cooldown;
        inner.window.clear();
        self.state
            .store(BreakerState::Closed.to_u8(), Ordering::Relaxed);
    }

    /// The lock is only held for field updates that cannot panic halfway, so a
    /// poisoned lock still guards consistent data.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// `now + d`, saturating at a day out rather than overflowing `Instant`.
fn later(now: Instant, d: Duration) -> Instant {
    const DAY: Duration = Duration::from_secs(24 * 3600);
    now.checked_add(d.min(DAY)).unwrap_or(now)
}

fn set_last_error(buf: &mut String, class: ErrorClass, code: &str) {
    buf.clear();
    buf.push_str(class.as_str());
    buf.push(':');
    let mut end = code.len().min(MAX_CODE_LEN);
    while !code.is_char_boundary(end) {
        end -= 1;
    }
    buf.push_str(code.get(..end).unwrap_or_default());
}

/// RAII guard for a request in flight: decrements the deployment's count on drop.
#[derive(Debug)]
#[must_use = "the request counts as in flight only while the guard is alive"]
pub struct Outstanding<'a> {
    counter: &'a AtomicU32,
}

impl Drop for Outstanding<'_> {
    fn drop(&mut self) {
        self.counter.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Owned form of [`Outstanding`], from [`DeploymentHealth::begin_owned`].
#[derive(Debug)]
#[must_use = "the request counts as in flight only while the guard is alive"]
pub struct OwnedOutstanding {
    health: Arc<DeploymentHealth>,
}

impl Drop for OwnedOutstanding {
    fn drop(&mut self) {
        self.health.outstanding.fetch_sub(1, Ordering::Relaxed);
    }
}
