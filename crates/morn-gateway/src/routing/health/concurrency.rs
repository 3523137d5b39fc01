//! Circuit-breaker tests under contention: many threads admitting and reporting.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Opens the breaker at `t0` with three consecutive failures.
fn tripped(t0: Instant) -> DeploymentHealth {
    let h = DeploymentHealth::new(HealthConfig::default());
    for _ in 0..3 {
        h.on_failure(t0, ErrorClass::Unavailable, "service_unavailable", None);
    }
    h
}

#[test]
fn concurrent_hammering_stays_consistent() {
    let h = DeploymentHealth::new(HealthConfig::default());
    let t0 = Instant::now();
    let admitted = AtomicU32::new(0);
    let threads = 8u64;
    let per_thread = 5_000u64;
    std::thread::scope(|s| {
        for th in 0..threads {
            let (h, admitted) = (&h, &admitted);
            s.spawn(move || {
                for i in 0..per_thread {
                    let at = t0 + ms(i);
                    if h.admit(at) {
                        admitted.fetch_add(1, Ordering::Relaxed);
                    }
                    let _guard = h.begin();
                    match (i + th) % 4 {
                        0 => h.on_success(at, ms(5)),
                        1 => h.on_failure(at, ErrorClass::Client, "invalid_request", None),
                        _ => h.on_failure(at, ErrorClass::Unavailable, "service_unavailable", None),
                    }
                    let _ = h.is_available(at);
                }
            });
        }
    });
    let end = t0 + ms(per_thread);
    let snap = h.snapshot(end);
    assert_eq!(snap.total_requests, threads * per_thread);
    assert_eq!(snap.total_failures, threads * per_thread / 2);
    assert_eq!(snap.outstanding, 0);
    assert!(admitted.load(Ordering::Relaxed) > 0);
    assert!(snap.cooldown_remaining_ms <= 60_000);
    assert!(snap.errors_in_window <= snap.requests_in_window);
    // The lock-free mirror agrees with the locked state.
    let closed = h.state.load(Ordering::Relaxed) == BreakerState::Closed.to_u8();
    assert_eq!(closed, snap.state == BreakerState::Closed);
}

#[test]
fn concurrent_probe_is_admitted_once() {
    let t0 = Instant::now();
    for _ in 0..20 {
        let h = tripped(t0);
        let after = t0 + Duration::from_secs(5);
        let admitted = AtomicU32::new(0);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..100 {
                        if h.admit(after) {
                            admitted.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                });
            }
        });
        assert_eq!(admitted.load(Ordering::Relaxed), 1);
    }
}
