//! The request pipeline between the HTTP edge and the upstream providers: model
//! resolution (names, aliases, wildcards), deployment choice, retries with backoff,
//! fallbacks by error class, circuit breakers, timeouts and streaming failover.
//!
//! - [`spec`]: what a model name means, as configured.
//! - [`routing`]: the primitives (balancing, health, retry policy, error classes).
//! - `pipeline`: the one retry/fallback executor every call goes through.
//! - `stream`: relaying a stream with idle timeouts and continuation.

mod deployment;
mod gateway;
mod pipeline;
mod routes;
pub mod routing;
mod spec;
mod stream;

pub use deployment::Deployment;
pub use gateway::{DeploymentStatus, Gateway};
pub use pipeline::Served;
pub use spec::{DeploymentSpec, Fallbacks, RouteSpec, Timeouts};
pub use stream::ChatStream;
