//! Live state of one deployment: its provider, health (circuit breaker, latency,
//! outstanding requests) and per-minute capacity use.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use morn_providers::Provider;

use crate::routing::DeploymentHealth;
use crate::spec::DeploymentSpec;

/// A deployment as the router sees it.
#[derive(Debug)]
pub struct Deployment {
    /// Stable id: `<provider>/<upstream model>`. Health is keyed by it, so it
    /// survives config reloads.
    pub id: String,
    pub provider: Arc<Provider>,
    pub upstream_model: String,
    pub weight: u32,
    pub context_window: Option<u64>,
    pub cost: Option<u64>,
    pub health: Arc<DeploymentHealth>,
    pub capacity: Arc<Capacity>,
}

impl Deployment {
    pub(crate) fn new(
        spec: &DeploymentSpec,
        upstream_model: String,
        health: Arc<DeploymentHealth>,
        capacity: Arc<Capacity>,
    ) -> Self {
        Self {
            id: format!("{}/{}", spec.provider.name(), upstream_model),
            provider: spec.provider.clone(),
            upstream_model,
            weight: spec.weight,
            context_window: spec.context_window,
            cost: spec.cost,
            health,
            capacity,
        }
    }

    /// Whether a prompt of about `prompt_tokens` fits this deployment's context.
    pub fn fits_context(&self, prompt_tokens: u64) -> bool {
        self.context_window
            .is_none_or(|window| prompt_tokens < window)
    }
}

/// Requests and tokens used in the current minute, against optional limits.
///
/// A fixed one-minute window: cheap (two atomics) and good enough to keep a
/// deployment under its provider quota on average; the precise, cross-replica limits
/// for Morn's own customers live in the rate limiter.
#[derive(Debug)]
pub struct Capacity {
    rpm: Option<u32>,
    tpm: Option<u64>,
    epoch: Instant,
    /// Minute number (since `epoch`) the counters belong to.
    minute: AtomicU64,
    requests: AtomicU64,
    tokens: AtomicU64,
}

impl Capacity {
    pub fn new(rpm: Option<u32>, tpm: Option<u64>) -> Self {
        Self {
            rpm,
            tpm,
            epoch: Instant::now(),
            minute: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            tokens: AtomicU64::new(0),
        }
    }

    fn roll(&self, now: Instant) {
        let minute = now.saturating_duration_since(self.epoch).as_secs() / 60;
        let seen = self.minute.load(Ordering::Relaxed);
        if minute != seen
            && self
                .minute
                .compare_exchange(seen, minute, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            self.requests.store(0, Ordering::Relaxed);
            self.tokens.store(0, Ordering::Relaxed);
        }
    }

    /// Whether another request fits this minute's limits.
    pub fn has_room(&self, now: Instant) -> bool {
        if self.rpm.is_none() && self.tpm.is_none() {
            return true;
        }
        self.roll(now);
        let requests_ok = self
            .rpm
            .is_none_or(|rpm| self.requests.load(Ordering::Relaxed) < u64::from(rpm));
        let tokens_ok = self
            .tpm
            .is_none_or(|tpm| self.tokens.load(Ordering::Relaxed) < tpm);
        requests_ok && tokens_ok
    }

    pub fn record_request(&self, now: Instant) {
        if self.rpm.is_some() || self.tpm.is_some() {
            self.roll(now);
            self.requests.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn record_tokens(&self, tokens: u64) {
        if self.tpm.is_some() {
            self.tokens.fetch_add(tokens, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn capacity_fills_and_resets_each_minute() {
        let c = Capacity::new(Some(2), Some(100));
        let t0 = Instant::now();
        assert!(c.has_room(t0));
        c.record_request(t0);
        c.record_request(t0);
        assert!(!c.has_room(t0), "two requests fill an rpm of 2");
        assert!(
            c.has_room(t0 + Duration::from_secs(61)),
            "a new minute starts empty"
        );
        c.record_tokens(100);
        assert!(
            !c.has_room(t0 + Duration::from_secs(62)),
            "tokens count too"
        );
        assert!(Capacity::new(None, None).has_room(t0));
    }
}
