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

/// Installs the process-wide TLS crypto provider (ring). Call once at startup, before
/// the first provider is built; later calls are harmless.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
