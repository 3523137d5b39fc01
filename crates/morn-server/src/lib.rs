//! The HTTP edge: axum routers for `/v1` (OpenAI- and Anthropic-compatible), health
//! probes, request ids and authentication, and the server loop with graceful shutdown.

mod auth;
mod body;
mod dialect;
mod front;
mod h1;
mod handlers;
pub mod identity;
pub mod metering;
pub mod platform;
mod request_id;
mod routes;
mod serve;
mod state;
mod stream;
pub mod tenancy;

pub use front::{App, app};
pub use serve::{ServeOptions, serve};
pub use state::{AppState, AuthSettings, ReloadHook};
