//! Prometheus metrics: counters and histograms kept in atomics, rendered in the text
//! exposition format for `GET /metrics`.

use std::time::Duration;

use crate::ledger::LedgerStats;

/// One finished request, as metrics see it.
#[derive(Debug, Clone, Copy)]
pub struct RequestSample<'a> {
    /// `chat`, `messages` or `embeddings`.
    pub endpoint: &'a str,
    pub model: &'a str,
    pub status: u16,
    pub stream: bool,
    pub latency: Duration,
    pub ttft: Option<Duration>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_read_tokens: u64,
    pub reasoning_tokens: u64,
    pub cost_micros: i64,
    /// The error class when the request failed.
    pub error_class: Option<&'a str>,
}

/// Every metric Morn exports.
#[derive(Debug, Default)]
pub struct Metrics {}

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn observe_request(&self, _sample: &RequestSample<'_>) {}

    /// A request refused by a rate limit. `scope`: key, user, workspace; `limit`:
    /// requests, tokens, concurrency.
    pub fn limiter_rejection(&self, _scope: &str, _limit: &str) {}

    /// A request refused by a hard budget. `scope`: key, user, workspace.
    pub fn budget_block(&self, _scope: &str) {}

    /// A request that failed upstream, by class (`rate_limited`, `unavailable`,
    /// `timeout`, `bad_request`...).
    pub fn upstream_error(&self, _class: &str) {}

    /// The text exposition format.
    pub fn render(&self, _ledger: &LedgerStats) -> String {
        String::new()
    }
}
