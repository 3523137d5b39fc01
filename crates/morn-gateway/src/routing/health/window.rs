//! Request and error counts over a sliding time window, approximated by fixed buckets.
//!
//! The window is cut into `BUCKETS` buckets of `window / BUCKETS`, indexed by their
//! number since the first event. A bucket counts while it is one of the last
//! `BUCKETS` ones, so an event stops counting between 0.9 × `window` and `window`
//! after it happened. Fixed size, no allocation per event.

use std::time::{Duration, Instant};

const BUCKETS: usize = 10;

#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    /// Which bucket number (since `origin`) the counts belong to.
    epoch: u64,
    requests: u32,
    errors: u32,
}

#[derive(Debug)]
pub(super) struct Window {
    /// Width of one bucket in nanoseconds, at least 1.
    width_ns: u128,
    /// Set by the first event; bucket numbers count from here.
    origin: Option<Instant>,
    buckets: [Bucket; BUCKETS],
}

impl Window {
    pub(super) fn new(window: Duration) -> Self {
        Self {
            width_ns: (window.as_nanos() / BUCKETS as u128).max(1),
            origin: None,
            buckets: [Bucket::default(); BUCKETS],
        }
    }

    pub(super) fn record(&mut self, now: Instant, error: bool) {
        let epoch = self.epoch(now);
        let slot = (epoch % BUCKETS as u64) as usize;
        if let Some(b) = self.buckets.get_mut(slot) {
            if b.epoch > epoch {
                return; // older than the window: the slot already holds newer counts
            }
            if b.epoch != epoch {
                *b = Bucket {
                    epoch,
                    ..Bucket::default()
                };
            }
            b.requests = b.requests.saturating_add(1);
            b.errors = b.errors.saturating_add(u32::from(error));
        }
    }

    /// `(requests, errors)` in the window ending at `now`.
    pub(super) fn counts(&self, now: Instant) -> (u32, u32) {
        if self.origin.is_none() {
            return (0, 0);
        }
        let current = self.epoch_of(now);
        self.buckets
            .iter()
            // An event recorded "after" `now` (callers' clocks differ by a little)
            // counts as current.
            .filter(|b| b.epoch > current || current - b.epoch < BUCKETS as u64)
            .fold((0u32, 0u32), |(r, e), b| {
                (r.saturating_add(b.requests), e.saturating_add(b.errors))
            })
    }

    pub(super) fn clear(&mut self) {
        self.buckets = [Bucket::default(); BUCKETS];
        self.origin = None;
    }

    fn epoch(&mut self, now: Instant) -> u64 {
        if self.origin.is_none() {
            self.origin = Some(now);
        }
        self.epoch_of(now)
    }

    fn epoch_of(&self, now: Instant) -> u64 {
        let Some(origin) = self.origin else { return 0 };
        let elapsed = now.saturating_duration_since(origin).as_nanos();
        u64::try_from(elapsed / self.width_ns).unwrap_or(u64::MAX)
    }
}
