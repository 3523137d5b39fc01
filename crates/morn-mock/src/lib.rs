//! morn-mock: a simulator of the OpenAI, Anthropic and Gemini HTTP APIs.
//!
//! It speaks each provider's real wire format (JSON bodies, SSE streams, error
//! shapes) and produces deterministic, model-like answers derived from the
//! request, so Morn's adapters, tests and benchmarks run against something that
//! behaves like the real upstreams. Per-request directives (`#mock{...}` in a
//! message or `x-mock-*` headers) inject latency and faults; see README.md.

#![expect(
    clippy::result_large_err,
    reason = "helpers return ready-made provider error responses; only failed requests build them"
)]

mod anthropic;
mod directives;
mod embed;
mod faults;
mod gemini;
mod model;
mod openai;
mod routes;
mod schema;
mod sse;
mod text;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;

use axum::serve::ListenerExt;

pub use routes::router;

/// Defaults applied to every request; a request's own directives override them.
#[derive(Debug, Clone, Default)]
pub struct MockOptions {
    /// Delay before the response headers, in milliseconds.
    pub ttfb_ms: Option<u64>,
    /// Pause between stream events, in milliseconds.
    pub chunk_gap_ms: Option<u64>,
    /// Answer length in tokens (words).
    pub words: Option<usize>,
}

/// State shared by all handlers.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    /// Server-wide defaults.
    pub opts: MockOptions,
    /// Request counters for `fail_first`, keyed by directive text. Only touched
    /// by requests that carry `fail_first`, so the hot path never locks.
    pub fail_counters: Mutex<HashMap<String, u64>>,
    /// Source of unique response ids.
    pub id_counter: AtomicU64,
}

pub(crate) type AppState = Arc<Shared>;

/// Serves the simulator on `listener` until the future is dropped or fails.
/// Accepted sockets get `TCP_NODELAY` so small SSE events are not delayed.
pub async fn serve(listener: tokio::net::TcpListener, opts: MockOptions) -> std::io::Result<()> {
    let listener = listener.tap_io(|tcp| {
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::debug!("failed to set TCP_NODELAY: {err}");
        }
    });
    axum::serve(listener, router(opts)).await
}
