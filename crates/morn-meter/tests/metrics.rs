//! The `/metrics` text as Prometheus reads it: parsed back, every series checked.
#![expect(clippy::unwrap_used, reason = "tests")]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use morn_meter::ledger::LedgerStats;
use morn_meter::metrics::{Metrics, RequestSample};

fn sample<'a>(model: &'a str, status: u16, latency_ms: u64) -> RequestSample<'a> {
    RequestSample {
        endpoint: "chat",
        model,
        status,
        stream: true,
        latency: Duration::from_millis(latency_ms),
        ttft: Some(Duration::from_millis(latency_ms / 2)),
        input_tokens: 100,
        output_tokens: 20,
        cache_read_tokens: 40,
        reasoning_tokens: 5,
        cost_micros: 1_234,
        error_class: None,
    }
}

/// Parsed exposition: `name{labels}` → value, and metric name → TYPE.
struct Scrape {
    samples: BTreeMap<String, f64>,
    types: BTreeMap<String, String>,
    helps: BTreeSet<String>,
}

impl Scrape {
    fn parse(text: &str) -> Self {
        let mut scrape = Scrape {
            samples: BTreeMap::new(),
            types: BTreeMap::new(),
            helps: BTreeSet::new(),
        };
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').unwrap();
                scrape.types.insert(name.into(), kind.into());
            } else if let Some(rest) = line.strip_prefix("# HELP ") {
                scrape.helps.insert(rest.split_once(' ').unwrap().0.into());
            } else {
                assert!(
                    !line.starts_with('#') && !line.is_empty(),
                    "stray line {line:?}"
                );
                // The value follows the last space (label values may contain spaces).
                let (series, value) = line.rsplit_once(' ').unwrap();
                let value: f64 = value.parse().unwrap_or_else(|_| panic!("{line}"));
                assert!(
                    scrape.samples.insert(series.into(), value).is_none(),
                    "dup {series}"
                );
            }
        }
        scrape
    }

    fn get(&self, series: &str) -> f64 {
        *self
            .samples
            .get(series)
            .unwrap_or_else(|| panic!("no series {series}"))
    }
}

#[test]
fn renders_every_metric_with_help_and_type() {
    let metrics = Metrics::new();
    metrics.observe_request(&sample("gpt-4o", 200, 30));
    metrics.observe_request(&sample("gpt-4o", 200, 3_000));
    metrics.observe_request(&sample("gpt-4o", 429, 1));
    metrics.observe_request(&RequestSample {
        endpoint: "embeddings",
        ttft: None,
        ..sample("text-embedding-3-small", 200, 7)
    });
    metrics.limiter_rejection("key", "requests");
    metrics.limiter_rejection("key", "requests");
    metrics.limiter_rejection("workspace", "tokens");
    metrics.budget_block("user");
    metrics.upstream_error("timeout");
    metrics.upstream_error("timeout");
    metrics.upstream_error("rate_limited");
    let ledger = LedgerStats {
        appended: 10,
        written: 7,
        dropped: 1,
        backlog: 3,
        failed_batches: 2,
        recovered: 4,
        skipped: 5,
        reread: 6,
    };
    let text = metrics.render(&ledger);
    let s = Scrape::parse(&text);

    let expected_types = [
        ("morn_requests_total", "counter"),
        ("morn_request_duration_seconds", "histogram"),
        ("morn_time_to_first_token_seconds", "histogram"),
        ("morn_tokens_total", "counter"),
        ("morn_cost_micros_total", "counter"),
        ("morn_ratelimit_rejections_total", "counter"),
        ("morn_budget_blocks_total", "counter"),
        ("morn_upstream_errors_total", "counter"),
        ("morn_ledger_queue_depth", "gauge"),
        ("morn_ledger_records_appended_total", "counter"),
        ("morn_ledger_records_written_total", "counter"),
        ("morn_ledger_records_dropped_total", "counter"),
        ("morn_ledger_failed_batches_total", "counter"),
        ("morn_ledger_records_recovered_total", "counter"),
        ("morn_ledger_lines_skipped_total", "counter"),
        ("morn_ledger_records_reread_total", "counter"),
    ];
    for (name, kind) in expected_types {
        assert_eq!(s.types.get(name).map(String::as_str), Some(kind), "{name}");
        assert!(s.helps.contains(name), "HELP for {name}");
    }
    // Every sample belongs to a declared family.
    for series in s.samples.keys() {
        let name = series.split('{').next().unwrap();
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| {
                name.strip_suffix(suffix)
                    .filter(|f| s.types.contains_key(*f))
            })
            .unwrap_or(name);
        assert!(s.types.contains_key(family), "undeclared {series}");
    }

    assert_eq!(
        s.get(r#"morn_requests_total{endpoint="chat",model="gpt-4o",status="200"}"#),
        2.0
    );
    assert_eq!(
        s.get(r#"morn_requests_total{endpoint="chat",model="gpt-4o",status="429"}"#),
        1.0
    );
    assert_eq!(
        s.get(r#"morn_requests_total{endpoint="embeddings",model="text-embedding-3-small",status="200"}"#),
        1.0
    );

    // Latencies 1 ms, 30 ms, 3 s: cumulative buckets.
    let bucket = |le: &str| {
        s.get(&format!(
            r#"morn_request_duration_seconds_bucket{{endpoint="chat",model="gpt-4o",le="{le}"}}"#
        ))
    };
    assert_eq!(bucket("0.005"), 1.0);
    assert_eq!(bucket("0.025"), 1.0);
    assert_eq!(bucket("0.05"), 2.0);
    assert_eq!(bucket("2.5"), 2.0);
    assert_eq!(bucket("5"), 3.0);
    assert_eq!(bucket("+Inf"), 3.0);
    assert_eq!(
        s.get(r#"morn_request_duration_seconds_count{endpoint="chat",model="gpt-4o"}"#),
        3.0
    );
    let sum = s.get(r#"morn_request_duration_seconds_sum{endpoint="chat",model="gpt-4o"}"#);
    assert!((sum - 3.031).abs() < 1e-9, "{sum}");

    // TTFT only for samples that had one; none recorded for the embeddings model.
    assert_eq!(
        s.get(r#"morn_time_to_first_token_seconds_count{model="gpt-4o"}"#),
        3.0
    );
    assert!(
        !text.contains(r#"morn_time_to_first_token_seconds_count{model="text-embedding-3-small"}"#)
    );

    for (kind, per_request) in [
        ("input", 100.0),
        ("output", 20.0),
        ("cache_read", 40.0),
        ("reasoning", 5.0),
    ] {
        let series = format!(r#"morn_tokens_total{{model="gpt-4o",kind="{kind}"}}"#);
        assert_eq!(s.get(&series), per_request * 3.0, "{kind}");
    }
    assert_eq!(
        s.get(r#"morn_cost_micros_total{model="gpt-4o"}"#),
        3.0 * 1_234.0
    );

    assert_eq!(
        s.get(r#"morn_ratelimit_rejections_total{scope="key",limit="requests"}"#),
        2.0
    );
    assert_eq!(
        s.get(r#"morn_ratelimit_rejections_total{scope="workspace",limit="tokens"}"#),
        1.0
    );
    assert_eq!(s.get(r#"morn_budget_blocks_total{scope="user"}"#), 1.0);
    assert_eq!(s.get(r#"morn_upstream_errors_total{class="timeout"}"#), 2.0);
    assert_eq!(
        s.get(r#"morn_upstream_errors_total{class="rate_limited"}"#),
        1.0
    );

    assert_eq!(s.get("morn_ledger_queue_depth"), 3.0);
    assert_eq!(s.get("morn_ledger_records_appended_total"), 10.0);
    assert_eq!(s.get("morn_ledger_records_written_total"), 7.0);
    assert_eq!(s.get("morn_ledger_records_dropped_total"), 1.0);
    assert_eq!(s.get("morn_ledger_failed_batches_total"), 2.0);
    assert_eq!(s.get("morn_ledger_records_recovered_total"), 4.0);
    assert_eq!(s.get("morn_ledger_lines_skipped_total"), 5.0);
    assert_eq!(s.get("morn_ledger_records_reread_total"), 6.0);
}

#[test]
fn an_empty_registry_still_renders_every_family() {
    let text = Metrics::new().render(&LedgerStats::default());
    let s = Scrape::parse(&text);
    assert_eq!(s.types.len(), 16);
    assert_eq!(s.get("morn_ledger_queue_depth"), 0.0);
}

#[test]
fn a_model_served_on_several_endpoints_keeps_one_series_each() {
    let metrics = Metrics::new();
    for endpoint in ["chat", "messages", "chat", "embeddings", "messages"] {
        metrics.observe_request(&RequestSample {
            endpoint,
            ..sample("m", 200, 10)
        });
    }
    let s = Scrape::parse(&metrics.render(&LedgerStats::default()));
    for (endpoint, n) in [("chat", 2.0), ("messages", 2.0), ("embeddings", 1.0)] {
        let series =
            format!(r#"morn_requests_total{{endpoint="{endpoint}",model="m",status="200"}}"#);
        assert_eq!(s.get(&series), n, "{endpoint}");
    }
}

#[test]
fn model_cardinality_is_bounded() {
    let metrics = Metrics::with_max_models(2);
    for model in ["a", "b", "c", "d", "a"] {
        metrics.observe_request(&sample(model, 200, 10));
    }
    let s = Scrape::parse(&metrics.render(&LedgerStats::default()));
    let requests = |model: &str| {
        s.samples
            .get(&format!(
                r#"morn_requests_total{{endpoint="chat",model="{model}",status="200"}}"#
            ))
            .copied()
    };
    assert_eq!(requests("a"), Some(2.0));
    assert_eq!(requests("b"), Some(1.0));
    assert_eq!(requests("c"), None);
    assert_eq!(requests("other"), Some(2.0));
    assert_eq!(
        s.get(r#"morn_cost_micros_total{model="other"}"#),
        2.0 * 1_234.0
    );
}

#[test]
fn label_values_are_escaped() {
    let metrics = Metrics::new();
    metrics.observe_request(&sample("evil\"model\\with\nnewline", 500, 10));
    let text = metrics.render(&LedgerStats::default());
    assert!(
        text.contains(r#"morn_requests_total{endpoint="chat",model="evil\"model\\with\nnewline",status="500"} 1"#),
        "{text}"
    );
    // The raw newline never reaches the output: every line still parses.
    Scrape::parse(&text);
}

#[test]
fn concurrent_observations_are_all_counted() {
    let metrics = Arc::new(Metrics::new());
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let metrics = metrics.clone();
            std::thread::spawn(move || {
                let models = ["m0", "m1", "m2"];
                for i in 0..5_000 {
                    metrics.observe_request(&sample(models[(i + t) % 3], 200, 1));
                    if i % 100 == 0 {
                        metrics.upstream_error("timeout");
                    }
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let s = Scrape::parse(&metrics.render(&LedgerStats::default()));
    let total: f64 = ["m0", "m1", "m2"]
        .iter()
        .map(|m| {
            s.get(&format!(
                r#"morn_requests_total{{endpoint="chat",model="{m}",status="200"}}"#
            ))
        })
        .sum();
    assert_eq!(total, 40_000.0);
    assert_eq!(
        s.get(r#"morn_upstream_errors_total{class="timeout"}"#),
        400.0
    );
}
