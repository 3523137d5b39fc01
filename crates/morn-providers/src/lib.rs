//! Upstream provider clients behind one interface.
//!
//! A [`Provider`] is one configured upstream (an OpenAI-compatible server, Anthropic, or
//! Gemini) with its base URL, credentials and timeouts. It turns canonical requests into
//! HTTP calls through the protocol codecs of `morn-protocol`, and upstream answers,
//! streams and errors back into canonical form. Transport failures become `ApiError`s
//! with safe messages; details go to the log. Calls go through the outbound proxy that
//! the standard environment variables name, if any ([`ProxySettings`]).

mod client;
mod h1;
mod kind;
mod proxy;
mod secret;
mod stream;
mod transport;

pub use client::{ChatAnswer, Provider, ProviderSettings};
pub use kind::ProviderKind;
pub use proxy::ProxySettings;
pub use secret::Secret;
pub use stream::EventStream;

thread_local! {
    static WORKER_INDEX: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Which server worker this thread is (`morn_server`'s connection workers, each a
/// thread with its own runtime): 1, 2, ... on the workers, 0 on every other thread.
/// Upstream connections are pooled per worker.
pub fn worker_index() -> usize {
    WORKER_INDEX.with(std::cell::Cell::get)
}

/// Marks this thread as server worker `index` (see [`worker_index`]).
pub fn set_worker_index(index: usize) {
    WORKER_INDEX.with(|cell| cell.set(index));
}

/// Installs the process-wide TLS crypto provider (ring). Call once at startup, before
/// the first provider is built; later calls are harmless.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
