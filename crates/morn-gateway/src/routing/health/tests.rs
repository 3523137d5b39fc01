//! Circuit-breaker and live-stats tests, driven by explicit instants.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;

const RL: ErrorClass = ErrorClass::RateLimited;
const DOWN: ErrorClass = ErrorClass::Unavailable;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn health() -> DeploymentHealth {
    DeploymentHealth::new(HealthConfig::default())
}

fn fail(h: &DeploymentHealth, at: Instant) {
    h.on_failure(at, DOWN, "service_unavailable", None);
}

fn state(h: &DeploymentHealth, at: Instant) -> BreakerState {
    h.snapshot(at).state
}

/// Opens the breaker at `t0` with three consecutive failures.
fn tripped(t0: Instant) -> DeploymentHealth {
    let h = health();
    for _ in 0..3 {
        fail(&h, t0);
    }
    assert_eq!(state(&h, t0), BreakerState::Open);
    h
}

#[test]
fn opens_after_consecutive_failures() {
    let t0 = Instant::now();
    let h = health();
    fail(&h, t0);
    fail(&h, t0 + ms(10));
    assert!(h.admit(t0 + ms(20)), "two failures are not enough");
    assert_eq!(state(&h, t0 + ms(20)), BreakerState::Closed);
    fail(&h, t0 + ms(30));
    let snap = h.snapshot(t0 + ms(30));
    assert_eq!(snap.state, BreakerState::Open);
    assert_eq!(snap.consecutive_failures, 3);
    assert_eq!(snap.cooldown_remaining_ms, 5000);
    assert_eq!(
        snap.last_error.as_deref(),
        Some("unavailable:service_unavailable")
    );
    assert!(!h.admit(t0 + ms(40)));
    assert!(!h.is_available(t0 + secs(5)));
}

#[test]
fn success_resets_the_consecutive_count() {
    let t0 = Instant::now();
    let h = health();
    fail(&h, t0);
    fail(&h, t0);
    h.on_success(t0, ms(100));
    fail(&h, t0);
    fail(&h, t0);
    assert_eq!(state(&h, t0), BreakerState::Closed);
    assert_eq!(h.snapshot(t0).consecutive_failures, 2);
}

#[test]
fn opens_on_error_rate() {
    let t0 = Instant::now();
    let h = health();
    // Alternate success and failure: never 3 in a row, but 50 % errors.
    for i in 0..9 {
        let at = t0 + ms(i * 100);
        if i % 2 == 0 {
            h.on_success(at, ms(50));
        } else {
            fail(&h, at);
        }
    }
    // 9 requests, 4 errors: below min_requests.
    assert_eq!(state(&h, t0 + secs(1)), BreakerState::Closed);
    fail(&h, t0 + secs(1));
    let snap = h.snapshot(t0 + secs(1));
    assert_eq!((snap.requests_in_window, snap.errors_in_window), (10, 5));
    assert!((snap.error_rate - 0.5).abs() < 1e-9);
    assert_eq!(snap.state, BreakerState::Open);
    assert_eq!(snap.consecutive_failures, 1);
}

#[test]
fn low_error_rate_stays_closed() {
    let t0 = Instant::now();
    let h = health();
    for i in 0..40 {
        if i % 3 == 0 {
            fail(&h, t0);
        } else {
            h.on_success(t0, ms(10));
        }
    }
    assert_eq!(state(&h, t0), BreakerState::Closed);
}

#[test]
fn client_errors_do_not_open() {
    let t0 = Instant::now();
    let h = health();
    for class in [
        ErrorClass::Client,
        ErrorClass::ContextWindow,
        ErrorClass::ContentPolicy,
    ] {
        for _ in 0..20 {
            h.on_failure(t0, class, "invalid_request", None);
        }
    }
    let snap = h.snapshot(t0);
    assert_eq!(snap.state, BreakerState::Closed);
    assert_eq!((snap.requests_in_window, snap.errors_in_window), (60, 0));
    assert_eq!((snap.total_requests, snap.total_failures), (60, 0));
    assert_eq!(snap.last_error, None);
    // They dilute the error rate but reset nothing: the streak continues.
    fail(&h, t0);
    fail(&h, t0);
    h.on_failure(t0, ErrorClass::Client, "invalid_api_key", None);
    fail(&h, t0);
    assert_eq!(state(&h, t0), BreakerState::Open);
}

#[test]
fn half_open_admits_exactly_one_probe() {
    let t0 = Instant::now();
    let h = tripped(t0);
    assert!(!h.admit(t0 + ms(4999)));
    let after = t0 + secs(5);
    assert!(h.is_available(after));
    assert!(
        h.is_available(after),
        "is_available does not claim the probe"
    );
    assert!(h.admit(after), "the probe");
    assert_eq!(state(&h, after), BreakerState::HalfOpen);
    assert!(!h.admit(after));
    assert!(!h.admit(after + secs(10)));
    assert!(!h.is_available(after + secs(10)));
}

#[test]
fn probe_success_closes() {
    let t0 = Instant::now();
    let h = tripped(t0);
    let t1 = t0 + secs(5);
    assert!(h.admit(t1));
    h.on_success(t1 + ms(200), ms(200));
    let snap = h.snapshot(t1 + ms(200));
    assert_eq!(snap.state, BreakerState::Closed);
    assert_eq!(snap.consecutive_failures, 0);
    assert!(h.admit(t1 + ms(201)) && h.admit(t1 + ms(202)));
    // The old errors were cleared with the close: one failure does not reopen.
    fail(&h, t1 + ms(300));
    assert_eq!(state(&h, t1 + ms(300)), BreakerState::Closed);
    // And the cooldown is back to its base after a later trip.
    fail(&h, t1 + ms(300));
    fail(&h, t1 + ms(300));
    assert_eq!(h.snapshot(t1 + ms(300)).cooldown_remaining_ms, 5000);
}

#[test]
fn probe_failure_reopens_with_doubled_cooldown() {
    let t0 = Instant::now();
    let h = tripped(t0);
    let mut t = t0;
    // 5 s base: 10, 20, 40, then capped at 60.
    for (cooldown, want) in [
        (5, 10_000),
        (10, 20_000),
        (20, 40_000),
        (40, 60_000),
        (60, 60_000),
    ] {
        t += secs(cooldown);
        assert!(!h.admit(t - ms(1)), "cooldown {cooldown} s still running");
        assert!(h.admit(t), "probe after {cooldown} s");
        fail(&h, t);
        let snap = h.snapshot(t);
        assert_eq!(snap.state, BreakerState::Open);
        assert_eq!(snap.cooldown_remaining_ms, want);
    }
}

#[test]
fn answered_probe_with_client_error_closes() {
    let t0 = Instant::now();
    let h = tripped(t0);
    assert!(h.admit(t0 + secs(5)));
    h.on_failure(
        t0 + secs(6),
        ErrorClass::ContextWindow,
        "context_length_exceeded",
        None,
    );
    assert_eq!(state(&h, t0 + secs(6)), BreakerState::Closed);
}

#[test]
fn lost_probe_is_replaced_after_max_cooldown() {
    let t0 = Instant::now();
    let h = tripped(t0);
    let t1 = t0 + secs(5);
    assert!(h.admit(t1));
    assert!(!h.admit(t1 + secs(59)));
    // The probe's caller went away without reporting: another probe is let through.
    assert!(h.is_available(t1 + secs(60)));
    assert!(h.admit(t1 + secs(60)));
    assert!(!h.admit(t1 + secs(60)));
}

#[test]
fn retry_after_is_honoured() {
    let t0 = Instant::now();
    let h = health();
    // One 429 with Retry-After: the provider said when to come back.
    h.on_failure(t0, RL, "rate_limit_exceeded", Some(secs(20)));
    let snap = h.snapshot(t0);
    assert_eq!(snap.state, BreakerState::Open);
    assert_eq!(snap.cooldown_remaining_ms, 20_000);
    assert_eq!(
        snap.last_error.as_deref(),
        Some("rate_limited:rate_limit_exceeded")
    );
    assert!(!h.admit(t0 + secs(19)));
    assert!(h.admit(t0 + secs(20)));

    // When the breaker trips anyway, the longer of cooldown and Retry-After wins.
    let h = health();
    fail(&h, t0);
    fail(&h, t0);
    h.on_failure(t0, RL, "rate_limit_exceeded", Some(secs(1)));
    assert_eq!(h.snapshot(t0).cooldown_remaining_ms, 5000);

    // A failed probe with a long Retry-After stays out for the Retry-After.
    let h = tripped(t0);
    assert!(h.admit(t0 + secs(5)));
    h.on_failure(t0 + secs(5), RL, "rate_limit_exceeded", Some(secs(45)));
    assert_eq!(h.snapshot(t0 + secs(5)).cooldown_remaining_ms, 45_000);

    // A straggler's Retry-After extends an open breaker, never shortens it.
    let h = tripped(t0);
    h.on_failure(t0, RL, "rate_limit_exceeded", Some(secs(2)));
    assert_eq!(h.snapshot(t0).cooldown_remaining_ms, 5000);
    h.on_failure(t0, RL, "rate_limit_exceeded", Some(secs(9)));
    assert_eq!(h.snapshot(t0).cooldown_remaining_ms, 9000);
}

#[test]
fn retry_after_only_counts_for_rate_limits() {
    let t0 = Instant::now();
    let h = health();
    h.on_failure(t0, DOWN, "service_unavailable", Some(secs(30)));
    h.on_failure(t0, RL, "rate_limit_exceeded", None);
    h.on_failure(t0, RL, "rate_limit_exceeded", Some(Duration::ZERO));
    // Three failures in a row open it, for the base cooldown.
    assert_eq!(h.snapshot(t0).cooldown_remaining_ms, 5000);
    let h = health();
    h.on_failure(t0, RL, "rate_limit_exceeded", None);
    assert_eq!(state(&h, t0), BreakerState::Closed);
}

#[test]
fn window_expiry_forgets_old_errors() {
    let t0 = Instant::now();
    let h = health();
    // 10 requests, 4 errors at t0 (never 3 in a row).
    for i in 0..10 {
        if i % 5 < 2 {
            fail(&h, t0);
        } else {
            h.on_success(t0, ms(10));
        }
    }
    assert_eq!(h.snapshot(t0).errors_in_window, 4);
    // 27 s later (0.9 × window) they may already be gone; at 30 s they must be.
    let t1 = t0 + secs(30);
    let snap = h.snapshot(t1);
    assert_eq!((snap.requests_in_window, snap.errors_in_window), (0, 0));
    // Still counted shortly before 0.9 × window.
    assert_eq!(h.snapshot(t0 + secs(26)).errors_in_window, 4);
    // With the old errors forgotten, one failure is far below `min_requests`.
    fail(&h, t1);
    assert_eq!(state(&h, t1), BreakerState::Closed);
    assert_eq!(h.snapshot(t1).total_requests, 11);
}

#[test]
fn window_slides_bucket_by_bucket() {
    let t0 = Instant::now();
    let h = health();
    for s in 0..10 {
        // One success every 3 s: one per 3 s bucket.
        h.on_success(t0 + secs(s * 3), ms(10));
    }
    assert_eq!(h.snapshot(t0 + secs(27)).requests_in_window, 10);
    assert_eq!(h.snapshot(t0 + secs(30)).requests_in_window, 9);
    assert_eq!(h.snapshot(t0 + secs(45)).requests_in_window, 4);
    assert_eq!(h.snapshot(t0 + secs(60)).requests_in_window, 0);
}

#[test]
fn outstanding_guard_counts() {
    let h = Arc::new(health());
    assert_eq!(h.outstanding(), 0);
    let a = h.begin();
    let b = h.begin();
    assert_eq!(h.outstanding(), 2);
    drop(a);
    assert_eq!(h.outstanding(), 1);
    let owned = h.begin_owned();
    let moved = std::thread::spawn(move || {
        let _keep = owned;
    });
    assert!(moved.join().is_ok());
    assert_eq!(h.outstanding(), 1);
    assert_eq!(h.snapshot(Instant::now()).outstanding, 1);
    drop(b);
    assert_eq!(h.outstanding(), 0);
}

#[test]
fn ewma_moves_towards_recent_latency() {
    let t0 = Instant::now();
    let h = health();
    assert_eq!(h.ewma_latency_us(), 0.0);
    h.on_success(t0, ms(100));
    assert!(
        (h.ewma_latency_us() - 100_000.0).abs() < 1e-6,
        "first sample is taken as is"
    );
    h.on_success(t0, ms(200));
    // 0.3 × 200 ms + 0.7 × 100 ms = 130 ms.
    assert!((h.ewma_latency_us() - 130_000.0).abs() < 1e-6);
    for _ in 0..30 {
        h.on_success(t0, ms(10));
    }
    assert!(
        (h.ewma_latency_us() - 10_000.0).abs() < 100.0,
        "{}",
        h.ewma_latency_us()
    );
    assert!((h.snapshot(t0).ewma_latency_ms - 10.0).abs() < 0.1);
    // Failures do not move it.
    let before = h.ewma_latency_us();
    fail(&h, t0);
    assert_eq!(h.ewma_latency_us(), before);
}

#[test]
fn last_error_keeps_the_code_short() {
    let t0 = Instant::now();
    let h = health();
    let long = "é".repeat(100);
    h.on_failure(t0, RL, &long, None);
    let last = h.snapshot(t0).last_error.unwrap_or_default();
    assert!(last.starts_with("rate_limited:é"));
    assert!(last.len() <= "rate_limited:".len() + MAX_CODE_LEN);
}

#[test]
fn snapshot_serializes() {
    let t0 = Instant::now();
    let h = tripped(t0);
    let json = serde_json::to_value(h.snapshot(t0)).unwrap_or_default();
    assert_eq!(json["state"], "open");
    assert_eq!(json["consecutive_failures"], 3);
    assert_eq!(json["last_error"], "unavailable:service_unavailable");
}
