//! The one retry/fallback helper every call goes through.
//!
//! For a model: pick a healthy deployment with the route's strategy, call it under a
//! per-attempt timeout, and on a retryable failure (rate limited, unavailable) fail over
//! to another deployment at once or, when none is left, back off (honouring
//! `Retry-After`) and retry, never past the request's total deadline. When the route
//! gives up, its fallbacks for the final error's class are tried in order. Every
//! outcome feeds the deployment's circuit breaker.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use morn_protocol::{ApiError, ErrorKind};

use crate::deployment::Deployment;
use crate::routes::ModelRoute;
use crate::routing::{Candidate, classify, fits, pick};

/// Who served a request, for headers and logs.
#[derive(Debug, Clone)]
pub struct Served {
    /// The Morn model name that answered (a fallback's name when one did).
    pub model: String,
    /// `<provider>/<upstream model>`.
    pub deployment: String,
    pub provider: String,
    /// Upstream calls made, the successful one included.
    pub attempts: u32,
    /// The model the client asked for, when a fallback answered instead.
    pub fallback_from: Option<String>,
}

/// What a call site needs from the executor: a route lookup for fallbacks.
pub(crate) trait RouteSource: Sync {
    fn route(&self, name: &str) -> Option<Arc<ModelRoute>>;
}

/// Runs `call` for `route`, then its fallbacks. `call` gets the route and deployment
/// and returns the upstream's answer or error; `prompt_tokens` (an estimate) skips
/// deployments whose context window is too small.
pub(crate) async fn execute<T, F, Fut>(
    source: &dyn RouteSource,
    route: Arc<ModelRoute>,
    prompt_tokens: u64,
    mut call: F,
) -> Result<(T, Arc<Deployment>, Served), ApiError>
where
    F: FnMut(Arc<ModelRoute>, Arc<Deployment>) -> Fut,
    Fut: Future<Output = Result<T, ApiError>>,
{
    let requested = route.clone();
    let deadline = Instant::now() + route.timeouts.total;
    let fallbacks = route.fallbacks.clone();
    // Models fallen back to (the requested one is never retried); allocated only when
    // a fallback happens.
    let mut tried: Vec<String> = Vec::new();
    let mut attempts = 0;
    let mut current = route;
    loop {
        match run_route(&current, deadline, prompt_tokens, &mut attempts, &mut call).await {
            Ok((value, deployment)) => {
                let served = Served {
                    model: current.name.clone(),
                    deployment: deployment.id.clone(),
                    provider: deployment.provider.name().to_owned(),
                    attempts,
                    fallback_from: (current.name != requested.name).then(|| requested.name.clone()),
                };
                return Ok((value, deployment, served));
            }
            Err(err) => {
                let class = classify(&err);
                let next = fallbacks
                    .for_class(class)
                    .iter()
                    .filter(|name| **name != requested.name && !tried.contains(name))
                    .find_map(|name| source.route(name).map(|r| (name.clone(), r)));
                match next {
                    Some((name, route)) if Instant::now() < deadline => {
                        tracing::info!(from = %current.name, to = %name, class = class.as_str(), "falling back to another model");
                        tried.push(name);
                        current = route;
                    }
                    _ => return Err(err),
                }
            }
        }
    }
}

/// Tries one route's deployments with retries.
async fn run_route<T, F, Fut>(
    route: &Arc<ModelRoute>,
    deadline: Instant,
    prompt_tokens: u64,
    attempts: &mut u32,
    call: &mut F,
) -> Result<(T, Arc<Deployment>), ApiError>
where
    F: FnMut(Arc<ModelRoute>, Arc<Deployment>) -> Fut,
    Fut: Future<Output = Result<T, ApiError>>,
{
    let mut rng = fastrand::Rng::new();
    let mut failed: Vec<usize> = Vec::new();
    let mut last_err: Option<ApiError> = None;
    let max = route.retry.max_attempts.max(1);
    for retry in 0..max {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        let (index, forced) = match choose(route, &failed, now, prompt_tokens, &mut rng) {
            Ok(index) => (index, false),
            // Everything is out of rotation: probe the one closest to coming back
            // rather than fail while it may already have recovered; while another
            // request's probe is in flight, wait briefly for its verdict.
            Err(err) => match last_resort(route, &failed, now, prompt_tokens) {
                Some(index) if route.deployments[index].health.force_probe(now) => (index, true),
                Some(index) => match await_probe(&route.deployments[index], deadline).await {
                    true => (index, false),
                    false => return Err(last_err.unwrap_or(err)),
                },
                None => return Err(last_err.unwrap_or(err)),
            },
        };
        let deployment = route.deployments[index].clone();
        if !forced && !deployment.health.admit(now) {
            // Another request holds the half-open probe; treat like a failure here.
            failed.push(index);
            continue;
        }
        *attempts += 1;
        deployment.capacity.record_request(now);
        let limit = route
            .timeouts
            .ttfb
            .min(deadline.saturating_duration_since(now));
        let outcome = {
            let _outstanding = deployment.health.begin();
            tokio::time::timeout(limit, call(route.clone(), deployment.clone())).await
        };
        let err = match outcome {
            Ok(Ok(value)) => {
                let done = Instant::now();
                deployment
                    .health
                    .on_success(done, done.saturating_duration_since(now));
                return Ok((value, deployment));
            }
            Ok(Err(err)) => err,
            Err(_) => ApiError::new(
                ErrorKind::GatewayTimeout,
                "The upstream provider did not answer in time.",
            )
            .with_code("upstream_timeout"),
        };
        let class = classify(&err);
        let retry_after = err.retry_after.map(Duration::from_secs);
        deployment
            .health
            .on_failure(Instant::now(), class, &err.code, retry_after);
        tracing::warn!(deployment = %deployment.id, class = class.as_str(), code = %err.code, attempt = *attempts, "upstream attempt failed");
        if !class.is_retryable() {
            return Err(err);
        }
        failed.push(index);
        last_err = Some(err);
        if retry + 1 == max {
            break;
        }
        // Another deployment is ready: fail over at once. Otherwise wait, then let the
        // failed ones be tried again.
        let now = Instant::now();
        let another = choose(route, &failed, now, prompt_tokens, &mut rng).is_ok()
            || last_resort(route, &failed, now, prompt_tokens).is_some();
        if !another {
            // A Retry-After longer than the longest backoff is not waited out here:
            // the route gives up (to a fallback model, or to the client with the
            // upstream's Retry-After) instead of holding the request.
            let max_wait = Duration::from_millis(route.retry.max_backoff_ms);
            if retry_after.is_some_and(|wait| wait > max_wait) {
                break;
            }
            let delay = route.retry.backoff(retry + 1, retry_after, rng.f64());
            if !fits(now, delay, deadline, Duration::from_millis(5)) {
                break;
            }
            tokio::time::sleep(delay).await;
            failed.clear();
        }
    }
    Err(last_err.unwrap_or_else(|| no_deployment(route, Instant::now(), prompt_tokens)))
}

/// Picks among deployments that are not in `failed`, healthy, under capacity and big
/// enough for the prompt.
fn choose(
    route: &ModelRoute,
    failed: &[usize],
    now: Instant,
    prompt_tokens: u64,
    rng: &mut fastrand::Rng,
) -> Result<usize, ApiError> {
    let candidates: Vec<Candidate> = route
        .deployments
        .iter()
        .enumerate()
        .filter(|(i, d)| {
            !failed.contains(i)
                && d.fits_context(prompt_tokens)
                && d.health.is_available(now)
                && d.capacity.has_room(now)
        })
        .map(|(i, d)| Candidate {
            index: i,
            weight: d.weight,
            outstanding: d.health.outstanding(),
            ewma_latency_us: d.health.ewma_latency_us(),
            cost: d.cost.unwrap_or(u64::MAX),
            order: i,
        })
        .collect();
    pick(route.strategy, &candidates, rng).ok_or_else(|| no_deployment(route, now, prompt_tokens))
}

/// Longest a request waits for another request's probe of the only candidate.
const PROBE_WAIT: Duration = Duration::from_secs(2);

/// Waits until a probe in flight closes `deployment`'s breaker (`true`), or it fails,
/// or `PROBE_WAIT` or the deadline passes (`false`).
pub(crate) async fn await_probe(deployment: &Deployment, deadline: Instant) -> bool {
    let until = deadline.min(Instant::now() + PROBE_WAIT);
    while Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(5)).await;
        let snapshot = deployment.health.snapshot(Instant::now());
        match snapshot.state {
            crate::routing::BreakerState::Closed => return true,
            crate::routing::BreakerState::Open => return false,
            crate::routing::BreakerState::HalfOpen => {}
        }
    }
    false
}

/// When no deployment is in rotation: the one whose cooldown ends first, among those
/// not yet failed in this request that fit the prompt. Deployments resting because the
/// provider asked for a longer pause (`Retry-After` beyond the route's longest backoff)
/// are left alone: that pause is honoured.
pub(crate) fn last_resort(
    route: &ModelRoute,
    failed: &[usize],
    now: Instant,
    prompt_tokens: u64,
) -> Option<usize> {
    let max_wait = route.retry.max_backoff_ms;
    route
        .deployments
        .iter()
        .enumerate()
        .filter(|(i, d)| !failed.contains(i) && d.fits_context(prompt_tokens))
        .map(|(i, d)| (i, d.health.snapshot(now)))
        .filter(|(_, s)| {
            let rate_limited = s
                .last_error
                .as_deref()
                .is_some_and(|e| e.starts_with("rate_limited"));
            !(rate_limited && s.cooldown_remaining_ms > max_wait)
        })
        .min_by_key(|(_, s)| s.cooldown_remaining_ms)
        .map(|(i, _)| i)
}

/// The error when no deployment can take the request, by why.
fn no_deployment(route: &ModelRoute, now: Instant, prompt_tokens: u64) -> ApiError {
    if !route.deployments.is_empty()
        && route
            .deployments
            .iter()
            .all(|d| !d.fits_context(prompt_tokens))
    {
        return ApiError::invalid(
            "messages",
            format!("The prompt (about {prompt_tokens} tokens) exceeds the context window of every deployment of `{}`.", route.name),
        )
        .with_code("context_length_exceeded");
    }
    if route
        .deployments
        .iter()
        .any(|d| d.health.is_available(now) && !d.capacity.has_room(now))
    {
        return ApiError::new(
            ErrorKind::RateLimited,
            format!(
                "Every deployment of `{}` is at its capacity for this minute.",
                route.name
            ),
        )
        .with_code("deployment_capacity")
        .with_retry_after(Some(60));
    }
    let snapshots: Vec<_> = route
        .deployments
        .iter()
        .map(|d| d.health.snapshot(now))
        .collect();
    let wait_ms = snapshots
        .iter()
        .map(|s| s.cooldown_remaining_ms)
        .min()
        .unwrap_or(1000);
    let retry_after = Some(wait_ms.div_ceil(1000).max(1));
    // Out of rotation because the provider said "slow down": that is a 429 for the
    // client too, with the provider's wait.
    if snapshots.iter().all(|s| {
        s.last_error
            .as_deref()
            .is_some_and(|e| e.starts_with("rate_limited"))
    }) {
        return ApiError::new(
            ErrorKind::RateLimited,
            format!(
                "Every deployment of `{}` is rate limited upstream.",
                route.name
            ),
        )
        .with_code("rate_limit_exceeded")
        .with_retry_after(retry_after);
    }
    ApiError::new(
        ErrorKind::Unavailable,
        format!(
            "No healthy deployment of `{}` is available right now.",
            route.name
        ),
    )
    .with_code("no_healthy_deployment")
    .with_retry_after(Some(wait_ms.div_ceil(1000).max(1)))
}

/// A rough prompt size for context-window checks: about four bytes per token.
pub(crate) fn estimate_tokens(req: &morn_protocol::ChatRequest) -> u64 {
    let bytes: usize = req
        .messages
        .iter()
        .flat_map(|m| &m.content)
        .map(|p| match p {
            morn_protocol::Part::Text { text } | morn_protocol::Part::Thinking { text, .. } => {
                text.len()
            }
            morn_protocol::Part::ToolCall(call) => call.arguments.len() + call.name.len(),
            morn_protocol::Part::ToolResult { content, .. } => content.len() * 64,
            morn_protocol::Part::Image { .. } => 1_000,
        })
        .sum();
    (bytes as u64).div_ceil(4)
}
