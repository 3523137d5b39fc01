//! The route table, plus the small pipeline every provider handler shares:
//! merging defaults, message directives and header directives.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::HeaderMap;
use axum::routing::{get, post};

use crate::directives::{Directives, HeaderDirectives, MessageDirectives};
use crate::text::mix;
use crate::{AppState, MockOptions, Shared, anthropic, gemini, openai};

/// Large enough for base64 images and documents in one request.
const BODY_LIMIT: usize = 64 * 1024 * 1024;

/// All provider surfaces on one router.
pub fn router(opts: MockOptions) -> Router {
    // Seeded from the clock so ids differ between runs of the simulator.
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let state: AppState = Arc::new(Shared {
        opts,
        id_counter: AtomicU64::new(seed),
        ..Shared::default()
    });
    Router::new()
        .route("/v1/chat/completions", post(openai::chat::handle))
        .route("/v1/embeddings", post(openai::embeddings::handle))
        .route("/v1/models", get(models_list))
        .route("/v1/models/{id}", get(model_get))
        .route("/v1/messages", post(anthropic::messages::handle))
        .route(
            "/v1/messages/count_tokens",
            post(anthropic::messages::count_tokens),
        )
        .route("/v1beta/models", get(gemini::list_models))
        .route(
            "/v1beta/models/{*rest}",
            post(gemini::action).get(gemini::get_model),
        )
        .route("/healthz", get(|| async { "ok" }))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

/// `GET /v1/models` is shared by OpenAI and Anthropic; Anthropic clients
/// always send `anthropic-version`, OpenAI clients never do.
async fn models_list(headers: HeaderMap) -> axum::response::Response {
    if headers.contains_key("anthropic-version") {
        anthropic::list_models(&headers)
    } else {
        openai::list_models(&headers)
    }
}

async fn model_get(
    headers: HeaderMap,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> axum::response::Response {
    if headers.contains_key("anthropic-version") {
        anthropic::get_model(&headers, &id)
    } else {
        openai::get_model(&headers, &id)
    }
}

/// The directives that apply to a request and the `fail_first` counter key.
pub fn effective(
    state: &Shared,
    found: &MessageDirectives,
    hdr: HeaderDirectives,
) -> (Directives, String) {
    let mut d = Directives::from_options(&state.opts);
    d.overlay(found.directives.clone());
    d.overlay(hdr.directives);
    let mut key = found.key.clone();
    key.push_str(&hdr.key);
    (d, key)
}

impl Shared {
    /// A fresh id suffix: unique per process, not guessable as a sequence.
    pub fn next_id(&self) -> u64 {
        mix(self.id_counter.fetch_add(1, Ordering::Relaxed) ^ 0x6d6f_726e)
    }
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
