//! Criterion benchmarks of the metering functions on the request path: cost of a
//! usage record, catalog lookup, prompt token counts (exact and fast) and recording a
//! request in the metrics.
//!
//! `cargo bench -p morn-meter --bench hot -- --quick`

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use morn_meter::ledger::LedgerStats;
use morn_meter::metrics::{Metrics, RequestSample};
use morn_meter::prices::PriceCatalog;
use morn_meter::tokens::{count_prompt, estimate_prompt_fast, warm_up};
use morn_protocol::{ChatRequest, Message, Role, Usage};

fn prices(c: &mut Criterion) {
    let catalog = PriceCatalog::builtin();
    let Some(price) = catalog.get("claude-sonnet-4-5").cloned() else {
        return;
    };
    let usage = Usage {
        input_tokens: 12_000,
        output_tokens: 800,
        cache_read_tokens: 10_000,
        cache_write_tokens: 500,
        reasoning_tokens: 200,
    };
    c.bench_function("price_cost", |b| {
        b.iter(|| black_box(&price).cost(black_box(&usage)))
    });
    c.bench_function("catalog_get_exact", |b| {
        b.iter(|| catalog.get(black_box("gpt-4o-mini")).is_some())
    });
    c.bench_function("catalog_get_normalised", |b| {
        b.iter(|| {
            catalog
                .get(black_box("mock_openai/gpt-4o-mini-2024-07-18"))
                .is_some()
        })
    });
    c.bench_function("catalog_get_unknown", |b| {
        b.iter(|| {
            catalog
                .get(black_box("provider/some-local-model"))
                .is_none()
        })
    });
}

/// A request of roughly `words` words of English in the user turn, after a system
/// prompt.
fn chat(words: usize) -> ChatRequest {
    const TEXT: &str = "The gateway meters every request, prices its tokens and records \
                        the usage so that nothing is lost even when the process dies. ";
    let per = TEXT.split_whitespace().count();
    ChatRequest {
        model: "gpt-4o-mini".into(),
        messages: vec![
            Message::text(Role::System, "You are a helpful assistant."),
            Message::text(Role::User, TEXT.repeat(words.div_ceil(per))),
        ],
        ..ChatRequest::default()
    }
}

fn tokens(c: &mut Criterion) {
    warm_up();
    let small = chat(20);
    let large = chat(3_000);
    println!(
        "small prompt: {} tokens; large prompt: {} tokens ({} bytes)",
        count_prompt(&small),
        count_prompt(&large),
        large.messages[1].joined_text().len()
    );
    c.bench_function("count_prompt_small", |b| {
        b.iter(|| count_prompt(black_box(&small)))
    });
    c.bench_function("count_prompt_4k", |b| {
        b.iter(|| count_prompt(black_box(&large)))
    });
    c.bench_function("estimate_prompt_fast_small", |b| {
        b.iter(|| estimate_prompt_fast(black_box(&small)))
    });
    c.bench_function("estimate_prompt_fast_4k", |b| {
        b.iter(|| estimate_prompt_fast(black_box(&large)))
    });
}

fn metrics(c: &mut Criterion) {
    let metrics = Metrics::new();
    let sample = RequestSample {
        endpoint: "chat",
        model: "gpt-4o-mini",
        status: 200,
        stream: true,
        latency: Duration::from_millis(420),
        ttft: Some(Duration::from_millis(180)),
        input_tokens: 1_200,
        output_tokens: 300,
        cache_read_tokens: 1_024,
        reasoning_tokens: 0,
        cost_micros: 360,
        error_class: None,
    };
    c.bench_function("metrics_observe_request", |b| {
        b.iter(|| metrics.observe_request(black_box(&sample)))
    });
    // A scrape with 50 models, to show it stays cheap.
    for i in 0..50 {
        let model = format!("model-{i}");
        metrics.observe_request(&RequestSample {
            model: &model,
            ..sample
        });
    }
    c.bench_function("metrics_render_50_models", |b| {
        b.iter(|| metrics.render(black_box(&LedgerStats::default())).len())
    });
}

criterion_group!(hot, prices, tokens, metrics);
criterion_main!(hot);
