//! Route specifications: what the configuration (or, later, the platform API) says a
//! model name means. Plain data; [`crate::Gateway`] turns it into live routing state.

use std::sync::Arc;
use std::time::Duration;

use morn_providers::Provider;
use serde::Serialize;

use crate::routing::{RetryPolicy, Strategy};

/// One model name clients can call.
#[derive(Debug, Clone)]
pub struct RouteSpec {
    /// The name clients use. A name ending in `/*` is a wildcard: `openai/*` serves
    /// `openai/<anything>` with `<anything>` as the upstream model name.
    pub name: String,
    /// Other names for the same route.
    pub aliases: Vec<String>,
    /// Where the model is served, in preference order.
    pub deployments: Vec<DeploymentSpec>,
    pub strategy: Strategy,
    pub fallbacks: Fallbacks,
    pub retry: RetryPolicy,
    pub timeouts: Timeouts,
    /// Continue a stream that broke after output reached the client on another
    /// deployment, sending the partial answer as an assistant prefix.
    pub continue_on_failure: bool,
}

/// One upstream serving a model.
#[derive(Debug, Clone)]
pub struct DeploymentSpec {
    pub provider: Arc<Provider>,
    /// The model's name at the provider (ignored for wildcard routes).
    pub upstream_model: String,
    /// Share of traffic under weighted strategies.
    pub weight: u32,
    /// Requests per minute this deployment may take (its quota at the provider).
    pub rpm: Option<u32>,
    /// Tokens per minute this deployment may take.
    pub tpm: Option<u64>,
    /// Largest prompt + completion the model accepts, in tokens.
    pub context_window: Option<u64>,
    /// Price rank for the `cheapest` strategy: input + output price per million tokens,
    /// in micro-units.
    pub cost: Option<u64>,
}

/// Models to try next, by the class of error the route ended with.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Fallbacks {
    pub rate_limited: Vec<String>,
    pub unavailable: Vec<String>,
    pub context_window: Vec<String>,
    pub content_policy: Vec<String>,
}

impl Fallbacks {
    pub fn for_class(&self, class: crate::routing::ErrorClass) -> &[String] {
        use crate::routing::ErrorClass;
        match class {
            ErrorClass::RateLimited => &self.rate_limited,
            ErrorClass::Unavailable => &self.unavailable,
            ErrorClass::ContextWindow => &self.context_window,
            ErrorClass::ContentPolicy => &self.content_policy,
            ErrorClass::Client => &[],
        }
    }
}

/// Time limits for one client request.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Timeouts {
    /// Until the upstream's first response event (headers and, for streams, the first
    /// chunk), per attempt.
    pub ttfb: Duration,
    /// Longest silence between two stream chunks.
    pub idle: Duration,
    /// The whole request: every attempt, backoff and fallback included.
    pub total: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            ttfb: Duration::from_secs(60),
            idle: Duration::from_secs(60),
            total: Duration::from_secs(600),
        }
    }
}
