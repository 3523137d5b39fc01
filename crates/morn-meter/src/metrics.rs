//! Prometheus metrics: counters and histograms kept in atomics, rendered in the text
//! exposition format for `GET /metrics`.
//!
//! Each label set's series live behind an `Arc` in a read-mostly map: recording takes
//! a shared read lock, a hash lookup and a few relaxed atomic adds; the write lock is
//! taken only the first time a label set is seen. Rendering reads the same atomics, so
//! a scrape never blocks the request path for longer than a map clone.
//!
//! Cardinality is bounded: after [`DEFAULT_MAX_MODELS`] distinct models, further
//! models are recorded as `model="other"`, and the small families (limits, budgets,
//! upstream errors) keep at most [`MAX_SMALL_SERIES`] label sets each, so a client
//! sending random model names cannot grow memory or the scrape without bound.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use crate::ledger::LedgerStats;

/// Distinct `model` label values kept before the rest are folded into `other`.
pub const DEFAULT_MAX_MODELS: usize = 500;
/// Label sets kept per small family (and `endpoint` values per model).
pub const MAX_SMALL_SERIES: usize = 64;
/// The label value that stands for everything past a cardinality bound.
pub const OTHER: &str = "other";

/// Histogram upper bounds in microseconds, from 5 ms (a cache hit or a fast embedding)
/// to 120 s (a long reasoning answer). Kept with their `le` text so rendering does not
/// format floats.
const BUCKETS: [(u64, &str); 15] = [
    (5_000, "0.005"),
    (10_000, "0.01"),
    (25_000, "0.025"),
    (50_000, "0.05"),
    (100_000, "0.1"),
    (250_000, "0.25"),
    (500_000, "0.5"),
    (1_000_000, "1"),
    (2_500_000, "2.5"),
    (5_000_000, "5"),
    (10_000_000, "10"),
    (20_000_000, "20"),
    (30_000_000, "30"),
    (60_000_000, "60"),
    (120_000_000, "120"),
];

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
#[derive(Debug)]
pub struct Metrics {
    max_models: usize,
    /// foldhash, not SipHash: looked up on every request, and capped at `max_models`
    /// entries, so a caller cannot grow it.
    models: RwLock<foldhash::HashMap<String, Arc<ModelSeries>>>,
    ratelimit_rejections: SmallFamily,
    budget_blocks: SmallFamily,
    upstream_errors: SmallFamily,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::with_max_models(DEFAULT_MAX_MODELS)
    }
}

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    /// Metrics that keep at most `max_models` distinct `model` values (plus `other`).
    pub fn with_max_models(max_models: usize) -> Self {
        Self {
            max_models,
            models: RwLock::default(),
            ratelimit_rejections: SmallFamily::default(),
            budget_blocks: SmallFamily::default(),
            upstream_errors: SmallFamily::default(),
        }
    }

    /// Records a finished request: its count by status, latency, time to first token,
    /// tokens and cost. `error_class` is not counted here: [`Self::upstream_error`]
    /// counts each failed upstream attempt, retried ones included.
    pub fn observe_request(&self, sample: &RequestSample<'_>) {
        // Record under the shared lock rather than cloning the `Arc` out: an `Arc`
        // clone and drop are two more contended atomic writes per request.
        if let Some(series) = read(&self.models).get(sample.model) {
            series.observe(sample);
            return;
        }
        self.insert_model(sample.model).observe(sample);
    }

    /// A request refused by a rate limit. `scope`: key, user, workspace; `limit`:
    /// requests, tokens, concurrency.
    pub fn limiter_rejection(&self, scope: &str, limit: &str) {
        self.ratelimit_rejections.inc(&[scope, limit]);
    }

    /// A request refused by a hard budget. `scope`: key, user, workspace.
    pub fn budget_block(&self, scope: &str) {
        self.budget_blocks.inc(&[scope]);
    }

    /// A request that failed upstream, by class (`rate_limited`, `unavailable`,
    /// `timeout`, `bad_request`...).
    pub fn upstream_error(&self, class: &str) {
        self.upstream_errors.inc(&[class]);
    }

    /// The text exposition format.
    pub fn render(&self, ledger: &LedgerStats) -> String {
        let mut models: Vec<(String, Arc<ModelSeries>)> = read(&self.models)
            .iter()
            .map(|(name, series)| (name.clone(), series.clone()))
            .collect();
        models.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut out = String::with_capacity(4096 + models.len() * 2048);
        render_requests(&mut out, &models);
        render_tokens(&mut out, &models);
        self.ratelimit_rejections.render(
            &mut out,
            "morn_ratelimit_rejections_total",
            "Requests refused by a rate limit, by scope and limit.",
            &["scope", "limit"],
        );
        self.budget_blocks.render(
            &mut out,
            "morn_budget_blocks_total",
            "Requests refused by a hard budget, by scope.",
            &["scope"],
        );
        self.upstream_errors.render(
            &mut out,
            "morn_upstream_errors_total",
            "Failed upstream attempts (retried ones included), by error class.",
            &["class"],
        );
        render_ledger(&mut out, ledger);
        out
    }

    /// The series of `model`, created on first sight while under the bound.
    fn insert_model(&self, model: &str) -> Arc<ModelSeries> {
        let mut models = self.models.write().unwrap_or_else(PoisonError::into_inner);
        // `other` does not count against the bound, so the bound is exact.
        let named = models.len() - usize::from(models.contains_key(OTHER));
        let key = if models.contains_key(model) || named < self.max_models {
            model
        } else {
            OTHER
        };
        models.entry(key.to_owned()).or_default().clone()
    }
}

/// A poisoned lock only means a panic elsewhere mid-insert; the map is still usable
/// and metrics must never take the request path down.
fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

/// Everything labelled by model.
#[derive(Debug, Default)]
struct ModelSeries {
    ttft: Histogram,
    /// input, output, cache_read, reasoning.
    tokens: [AtomicU64; 4],
    cost_micros: AtomicI64,
    /// Few endpoints per model, so a vector scan beats hashing.
    endpoints: RwLock<Vec<Arc<EndpointSeries>>>,
}

const TOKEN_KINDS: [&str; 4] = ["input", "output", "cache_read", "reasoning"];

impl ModelSeries {
    fn observe(&self, sample: &RequestSample<'_>) {
        // The read guard must be gone before `endpoint` takes the write lock: a guard
        // living on in a `match` scrutinee would deadlock this thread. Recording inside
        // the block saves the `Arc` clone and drop (two contended atomic writes).
        let recorded = {
            let endpoints = read(&self.endpoints);
            let known = endpoints.iter().find(|s| s.endpoint == sample.endpoint);
            known.map(|series| series.observe(sample)).is_some()
        };
        if !recorded {
            self.endpoint(sample.endpoint).observe(sample);
        }
        if let Some(ttft) = sample.ttft {
            self.ttft.observe(ttft);
        }
        let tokens = [
            sample.input_tokens,
            sample.output_tokens,
            sample.cache_read_tokens,
            sample.reasoning_tokens,
        ];
        for (counter, n) in self.tokens.iter().zip(tokens) {
            if n > 0 {
                counter.fetch_add(n, Relaxed);
            }
        }
        // A counter never goes down; a negative cost would be a pricing bug, not a
        // refund.
        if sample.cost_micros > 0 {
            self.cost_micros.fetch_add(sample.cost_micros, Relaxed);
        }
    }

    /// The series of `endpoint`, created under the write lock.
    fn endpoint(&self, endpoint: &str) -> Arc<EndpointSeries> {
        let mut endpoints = self
            .endpoints
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let key = if endpoints.len() < MAX_SMALL_SERIES {
            endpoint
        } else {
            OTHER
        };
        if let Some(series) = endpoints.iter().find(|s| s.endpoint == key) {
            return series.clone();
        }
        let series = Arc::new(EndpointSeries {
            endpoint: key.to_owned(),
            ..EndpointSeries::default()
        });
        endpoints.push(series.clone());
        series
    }
}

/// Everything labelled by endpoint and model.
#[derive(Debug, Default)]
struct EndpointSeries {
    endpoint: String,
    duration: Histogram,
    /// Status code → requests; HTTP statuses are few, so a vector scan.
    statuses: RwLock<Vec<(u16, AtomicU64)>>,
}

impl EndpointSeries {
    fn observe(&self, sample: &RequestSample<'_>) {
        self.duration.observe(sample.latency);
        if let Some((_, n)) = read(&self.statuses)
            .iter()
            .find(|(s, _)| *s == sample.status)
        {
            n.fetch_add(1, Relaxed);
            return;
        }
        let mut statuses = self
            .statuses
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        match statuses.iter().find(|(s, _)| *s == sample.status) {
            Some((_, n)) => {
                n.fetch_add(1, Relaxed);
            }
            None => statuses.push((sample.status, AtomicU64::new(1))),
        }
    }
}

/// A histogram over [`BUCKETS`], in microseconds.
#[derive(Debug, Default)]
struct Histogram {
    /// Per-bucket (not cumulative) counts; the last is above the largest bound.
    counts: [AtomicU64; BUCKETS.len() + 1],
    sum_micros: AtomicU64,
}

impl Histogram {
    fn observe(&self, value: Duration) {
        let micros = u64::try_from(value.as_micros()).unwrap_or(u64::MAX);
        let bucket = BUCKETS.partition_point(|(bound, _)| *bound < micros);
        self.counts[bucket].fetch_add(1, Relaxed);
        self.sum_micros.fetch_add(micros, Relaxed);
    }

    /// Writes `_bucket`, `_sum` and `_count` lines. `_count` is the sum of the buckets
    /// as read, so it always equals the `+Inf` bucket even mid-update.
    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0;
        for (i, count) in self.counts.iter().enumerate() {
            cumulative += count.load(Relaxed);
            let le = BUCKETS.get(i).map_or("+Inf", |(_, le)| le);
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{sep}le=\"{le}\"}} {cumulative}"
            );
        }
        // Seconds as a float only here, at the edge, as the format requires.
        let sum = self.sum_micros.load(Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum{{{labels}}} {sum}");
        let _ = writeln!(out, "{name}_count{{{labels}}} {cumulative}");
    }
}

/// A counter family with a few label sets, bounded by [`MAX_SMALL_SERIES`].
#[derive(Debug, Default)]
struct SmallFamily {
    series: RwLock<Vec<(Vec<String>, AtomicU64)>>,
}

impl SmallFamily {
    fn inc(&self, labels: &[&str]) {
        let matches = |stored: &[String], wanted: &[&str]| {
            stored.len() == wanted.len() && stored.iter().zip(wanted).all(|(a, b)| a == b)
        };
        if let Some((_, n)) = read(&self.series).iter().find(|(l, _)| matches(l, labels)) {
            n.fetch_add(1, Relaxed);
            return;
        }
        let mut series = self.series.write().unwrap_or_else(PoisonError::into_inner);
        let other = [OTHER; 4];
        let labels = if series.len() < MAX_SMALL_SERIES {
            labels
        } else {
            &other[..labels.len().min(4)]
        };
        match series.iter().find(|(l, _)| matches(l, labels)) {
            Some((_, n)) => {
                n.fetch_add(1, Relaxed);
            }
            None => series.push((
                labels.iter().map(|l| (*l).to_owned()).collect(),
                AtomicU64::new(1),
            )),
        }
    }

    fn render(&self, out: &mut String, name: &str, help: &str, names: &[&str]) {
        header(out, name, help, "counter");
        let mut rows: Vec<(String, u64)> = read(&self.series)
            .iter()
            .map(|(values, n)| {
                let pairs: Vec<(&str, &str)> = names
                    .iter()
                    .copied()
                    .zip(values.iter().map(String::as_str))
                    .collect();
                (label_set(&pairs), n.load(Relaxed))
            })
            .collect();
        rows.sort_unstable();
        for (labels, n) in rows {
            let _ = writeln!(out, "{name}{{{labels}}} {n}");
        }
    }
}

fn render_requests(out: &mut String, models: &[(String, Arc<ModelSeries>)]) {
    // Each model's endpoints, sorted, read once for the three families below.
    let endpoints: Vec<(&str, Vec<Arc<EndpointSeries>>)> = models
        .iter()
        .map(|(model, series)| {
            let mut eps = read(&series.endpoints).clone();
            eps.sort_unstable_by(|a, b| a.endpoint.cmp(&b.endpoint));
            (model.as_str(), eps)
        })
        .collect();

    header(
        out,
        "morn_requests_total",
        "Requests finished, by endpoint, model and HTTP status.",
        "counter",
    );
    for (model, eps) in &endpoints {
        for ep in eps {
            let mut statuses: Vec<(u16, u64)> = read(&ep.statuses)
                .iter()
                .map(|(s, n)| (*s, n.load(Relaxed)))
                .collect();
            statuses.sort_unstable();
            for (status, n) in statuses {
                let status = status.to_string();
                let labels = label_set(&[
                    ("endpoint", &ep.endpoint),
                    ("model", model),
                    ("status", &status),
                ]);
                let _ = writeln!(out, "morn_requests_total{{{labels}}} {n}");
            }
        }
    }

    header(
        out,
        "morn_request_duration_seconds",
        "Time from request received to response finished, by endpoint and model.",
        "histogram",
    );
    for (model, eps) in &endpoints {
        for ep in eps {
            let labels = label_set(&[("endpoint", &ep.endpoint), ("model", model)]);
            ep.duration
                .render(out, "morn_request_duration_seconds", &labels);
        }
    }

    header(
        out,
        "morn_time_to_first_token_seconds",
        "Time from request received to the first streamed token, by model.",
        "histogram",
    );
    for (model, series) in models {
        // A model never streamed has no samples; an all-zero histogram is noise.
        if series.ttft.counts.iter().any(|c| c.load(Relaxed) > 0) {
            let labels = label_set(&[("model", model)]);
            series
                .ttft
                .render(out, "morn_time_to_first_token_seconds", &labels);
        }
    }
}

fn render_tokens(out: &mut String, models: &[(String, Arc<ModelSeries>)]) {
    header(
        out,
        "morn_tokens_total",
        "Tokens by model and kind; input includes cache_read, output includes reasoning.",
        "counter",
    );
    for (model, series) in models {
        for (kind, n) in TOKEN_KINDS.iter().zip(&series.tokens) {
            let labels = label_set(&[("model", model), ("kind", kind)]);
            let _ = writeln!(out, "morn_tokens_total{{{labels}}} {}", n.load(Relaxed));
        }
    }
    header(
        out,
        "morn_cost_micros_total",
        "Cost of requests in micro-units of the currency (1 = 0.000001), by model.",
        "counter",
    );
    for (model, series) in models {
        let labels = label_set(&[("model", model)]);
        let n = series.cost_micros.load(Relaxed);
        let _ = writeln!(out, "morn_cost_micros_total{{{labels}}} {n}");
    }
}

fn render_ledger(out: &mut String, ledger: &LedgerStats) {
    let rows = [
        (
            "morn_ledger_queue_depth",
            "Usage records acknowledged but not yet stored.",
            "gauge",
            ledger.backlog,
        ),
        (
            "morn_ledger_records_appended_total",
            "Usage records acknowledged (appended to the write-ahead file).",
            "counter",
            ledger.appended,
        ),
        (
            "morn_ledger_records_written_total",
            "Usage records stored.",
            "counter",
            ledger.written,
        ),
        (
            "morn_ledger_records_dropped_total",
            "Usage records refused because the backlog was full.",
            "counter",
            ledger.dropped,
        ),
        (
            "morn_ledger_failed_batches_total",
            "Store batches that failed and will be retried.",
            "counter",
            ledger.failed_batches,
        ),
        (
            "morn_ledger_records_recovered_total",
            "Usage records an earlier process left on disk, found on replay.",
            "counter",
            ledger.recovered,
        ),
        (
            "morn_ledger_lines_skipped_total",
            "Unreadable write-ahead lines skipped on replay (writes torn by a crash).",
            "counter",
            ledger.skipped,
        ),
        (
            "morn_ledger_records_reread_total",
            "Usage records read back from write-ahead files instead of stored from memory.",
            "counter",
            ledger.reread,
        ),
    ];
    for (name, help, kind, value) in rows {
        header(out, name, help, kind);
        let _ = writeln!(out, "{name} {value}");
    }
}

fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {}", escape(help, false));
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// `a="x",b="y"` with values escaped.
fn label_set(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{name}=\"{}\"", escape(value, true));
    }
    out
}

/// Escapes backslash and newline (and, in label values, the double quote), as the
/// text format requires.
fn escape(text: &str, quote: bool) -> std::borrow::Cow<'_, str> {
    if !text.contains(['\\', '\n', '"']) {
        return text.into();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if quote => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_inclusive_upper_bounds() {
        let h = Histogram::default();
        h.observe(Duration::from_millis(5));
        h.observe(Duration::from_micros(5_001));
        h.observe(Duration::from_secs(500));
        assert_eq!(h.counts[0].load(Relaxed), 1);
        assert_eq!(h.counts[1].load(Relaxed), 1);
        assert_eq!(h.counts[BUCKETS.len()].load(Relaxed), 1);
    }

    #[test]
    fn escapes_label_values() {
        assert_eq!(
            label_set(&[("model", "a\"b\\c\nd")]),
            r#"model="a\"b\\c\nd""#
        );
        assert_eq!(escape("say \"hi\"", false), "say \"hi\"");
    }
}
