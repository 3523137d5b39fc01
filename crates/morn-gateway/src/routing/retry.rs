//! How long to wait before a retry, and whether a retry still fits the request's
//! deadline.
//!
//! Backoff is exponential with "equal jitter" (half of the delay fixed, half random),
//! so synchronized clients spread out without any retry becoming near-instant. An
//! upstream's Retry-After is a floor: retrying sooner would only be refused again.

use std::time::{Duration, Instant};

/// Retry settings for a route.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryPolicy {
    /// Total tries including the first one (so 1 means no retry; 0 is treated as 1).
    pub max_attempts: u32,
    /// Delay before the first retry, before jitter.
    pub base_backoff_ms: u64,
    /// Upper bound on the exponential delay, before the Retry-After floor.
    pub max_backoff_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_backoff_ms: 100,
            max_backoff_ms: 2000,
        }
    }
}

impl RetryPolicy {
    /// Delay before retry number `retry` (1 = first retry): exponential
    /// (`base * 2^(retry-1)`) capped at `max_backoff_ms`, with equal jitter (the delay is
    /// in `[d/2, d)` for the capped `d`, `jitter` in `[0, 1)` picking where). A
    /// `retry_after` from the upstream is a floor. `retry` 0 is treated as 1; a jitter
    /// outside `[0, 1)` or not finite is clamped (NaN counts as 0).
    pub fn backoff(&self, retry: u32, retry_after: Option<Duration>, jitter: f64) -> Duration {
        let exponent = retry.max(1) - 1;
        let factor = 1u64.checked_shl(exponent).unwrap_or(u64::MAX);
        let capped_ms = self
            .base_backoff_ms
            .saturating_mul(factor)
            .min(self.max_backoff_ms);
        let capped_us = capped_ms.saturating_mul(1000);
        let fixed_us = capped_us / 2;
        let jitter = if jitter.is_nan() {
            0.0
        } else {
            jitter.clamp(0.0, 1.0)
        };
        // `as` saturates for floats; the product is below `capped_us - fixed_us`.
        let random_us = ((capped_us - fixed_us) as f64 * jitter) as u64;
        let delay = Duration::from_micros(fixed_us.saturating_add(random_us));
        match retry_after {
            Some(floor) => delay.max(floor),
            None => delay,
        }
    }

    /// `max_attempts`, with 0 read as 1 (the first try always happens).
    pub fn attempts(&self) -> u32 {
        self.max_attempts.max(1)
    }
}

/// Whether a retry that waits `delay` still fits before `deadline`, leaving at least
/// `min_remaining` for the call itself. False on `Instant` overflow.
pub fn fits(now: Instant, delay: Duration, deadline: Instant, min_remaining: Duration) -> bool {
    now.checked_add(delay)
        .and_then(|t| t.checked_add(min_remaining))
        .is_some_and(|t| t <= deadline)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn defaults_and_config() {
        let p = RetryPolicy::default();
        assert_eq!(
            (p.max_attempts, p.base_backoff_ms, p.max_backoff_ms),
            (3, 100, 2000)
        );
        let partial: RetryPolicy =
            serde_json::from_str(r#"{"max_attempts": 5}"#).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(partial.max_attempts, 5);
        assert_eq!(partial.base_backoff_ms, 100);
        assert!(serde_json::from_str::<RetryPolicy>(r#"{"max_attempt": 5}"#).is_err());
        let none = RetryPolicy {
            max_attempts: 0,
            ..RetryPolicy::default()
        };
        assert_eq!(none.attempts(), 1);
    }

    #[test]
    fn grows_exponentially() {
        let p = RetryPolicy::default();
        // jitter 0 gives the fixed half: 50, 100, 200, 400 ms.
        let fixed: Vec<_> = (1..=4).map(|r| p.backoff(r, None, 0.0)).collect();
        assert_eq!(fixed, vec![ms(50), ms(100), ms(200), ms(400)]);
        assert_eq!(p.backoff(0, None, 0.0), ms(50), "retry 0 reads as 1");
    }

    #[test]
    fn capped_at_max() {
        let p = RetryPolicy::default();
        // 100 * 2^5 = 3200 > 2000: capped, so the delay is in [1000, 2000).
        assert_eq!(p.backoff(6, None, 0.0), ms(1000));
        assert!(p.backoff(6, None, 0.999_999) < ms(2000));
        // Absurd retry numbers neither overflow nor panic.
        assert_eq!(p.backoff(u32::MAX, None, 0.0), ms(1000));
        assert_eq!(p.backoff(64, None, 0.0), ms(1000));
        let huge = RetryPolicy {
            max_attempts: 3,
            base_backoff_ms: u64::MAX,
            max_backoff_ms: u64::MAX,
        };
        let _ = huge.backoff(40, None, 0.5);
    }

    #[test]
    fn jitter_stays_within_equal_jitter_bounds() {
        let p = RetryPolicy::default();
        let mut rng = fastrand::Rng::with_seed(7);
        for retry in 1..=8 {
            let full = ms((100u64 << (retry - 1)).min(2000));
            let (mut lo, mut hi) = (Duration::MAX, Duration::ZERO);
            for _ in 0..1000 {
                let d = p.backoff(retry, None, rng.f64());
                assert!(d >= full / 2 && d < full, "retry {retry}: {d:?}");
                lo = lo.min(d);
                hi = hi.max(d);
            }
            // The random half is actually used.
            assert!(hi - lo > full / 4, "retry {retry}: spread {lo:?}..{hi:?}");
        }
        // Out-of-range jitter is clamped rather than escaping the bounds.
        assert_eq!(p.backoff(1, None, -3.0), ms(50));
        assert_eq!(p.backoff(1, None, f64::NAN), ms(50));
        assert!(p.backoff(1, None, 7.0) <= ms(100));
    }

    #[test]
    fn retry_after_is_a_floor() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.backoff(1, Some(Duration::from_secs(3)), 0.5),
            Duration::from_secs(3)
        );
        // Above the cap too: the upstream said so.
        assert_eq!(
            p.backoff(6, Some(Duration::from_secs(30)), 0.9),
            Duration::from_secs(30)
        );
        // A shorter Retry-After does not shorten the backoff.
        assert_eq!(p.backoff(3, Some(ms(10)), 0.0), ms(200));
        assert_eq!(p.backoff(3, Some(Duration::ZERO), 0.0), ms(200));
    }

    #[test]
    fn fits_before_deadline() {
        let now = Instant::now();
        let deadline = now + Duration::from_secs(10);
        let call = Duration::from_secs(2);
        assert!(fits(now, Duration::from_secs(1), deadline, call));
        assert!(
            fits(now, Duration::from_secs(8), deadline, call),
            "exactly fits"
        );
        assert!(!fits(now, Duration::from_secs(9), deadline, call));
        assert!(!fits(now, Duration::ZERO, now, call));
        assert!(fits(now, Duration::ZERO, now, Duration::ZERO));
        // Past the deadline already.
        assert!(!fits(
            deadline + ms(1),
            Duration::ZERO,
            deadline,
            Duration::ZERO
        ));
        // Overflowing durations do not panic.
        assert!(!fits(now, Duration::MAX, deadline, call));
        assert!(!fits(now, call, deadline, Duration::MAX));
    }
}
