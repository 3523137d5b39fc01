//! Routing and resilience primitives: error classification, per-deployment health
//! (circuit breaker and live stats), load-balancing strategies and retry backoff.
//!
//! Everything here is pure and cheap enough to run on every request: no I/O, no
//! awaits, no allocation on the success path. The request pipeline composes them.

mod balance;
mod classify;
mod health;
mod retry;

pub use balance::{Candidate, Strategy, pick};
pub use classify::{ErrorClass, classify};
pub use health::{
    BreakerState, DeploymentHealth, HealthConfig, HealthSnapshot, Outstanding, OwnedOutstanding,
};
pub use retry::{RetryPolicy, fits};
