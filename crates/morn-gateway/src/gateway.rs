//! The gateway service: what the HTTP handlers call.

use std::sync::{Arc, RwLock};
use std::time::Instant;

use morn_protocol::{
    ApiError, ChatRequest, EmbeddingRequest, EmbeddingResponse, ErrorKind, FinishReason, ModelInfo,
};
use morn_providers::ChatAnswer;
use serde::Serialize;

use crate::pipeline::{RouteSource, Served, estimate_tokens, execute};
use crate::routes::{ModelRoute, Routes, StateRegistry};
use crate::routing::{HealthConfig, HealthSnapshot};
use crate::spec::RouteSpec;
use crate::stream::{ChatStream, Continuation};

/// Resolves models and serves them through their deployments.
///
/// The routing table is swapped whole on reload (`reload`); requests in flight keep
/// the table (and providers) they started with, so a reload never drops them.
#[derive(Debug)]
pub struct Gateway {
    table: RwLock<Arc<Routes>>,
    states: Arc<StateRegistry>,
}

/// One deployment's health, for the admin endpoint.
#[derive(Debug, Clone, Serialize)]
pub struct DeploymentStatus {
    pub model: String,
    pub deployment: String,
    pub provider: String,
    pub upstream_model: String,
    pub weight: u32,
    #[serde(flatten)]
    pub health: HealthSnapshot,
}

struct Source<'a> {
    table: &'a Routes,
    states: &'a StateRegistry,
}

impl RouteSource for Source<'_> {
    fn route(&self, name: &str) -> Option<Arc<ModelRoute>> {
        self.table.resolve(name, self.states)
    }
}

impl Gateway {
    pub fn new(specs: &[RouteSpec], health: HealthConfig) -> Self {
        let states = Arc::new(StateRegistry::new(health));
        let table = Routes::build(specs, &states, unix_now());
        Self {
            table: RwLock::new(Arc::new(table)),
            states,
        }
    }

    /// Replaces the routing table. Deployment health carries over by deployment id.
    pub fn reload(&self, specs: &[RouteSpec]) {
        let table = Arc::new(Routes::build(specs, &self.states, unix_now()));
        *self
            .table
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = table;
    }

    fn table(&self) -> Arc<Routes> {
        self.table
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub fn models(&self) -> Vec<ModelInfo> {
        self.table().list()
    }

    pub fn model(&self, name: &str) -> Option<ModelInfo> {
        self.table().info(name)
    }

    /// Health of every deployment of every configured model.
    pub fn health(&self) -> Vec<DeploymentStatus> {
        let table = self.table();
        let now = Instant::now();
        table
            .routes()
            .flat_map(|route| {
                route.deployments.iter().map(move |d| DeploymentStatus {
                    model: route.name.clone(),
                    deployment: d.id.clone(),
                    provider: d.provider.name().to_owned(),
                    upstream_model: d.upstream_model.clone(),
                    weight: d.weight,
                    health: d.health.snapshot(now),
                })
            })
            .collect()
    }

    /// A non-streamed chat call. With `relay` (the client speaks OpenAI), an OpenAI
    /// upstream's answer may come back as its own bytes (see
    /// [`morn_providers::Provider::chat_answer`]); the caller then names the model
    /// from [`Served::model`]. A decoded answer already carries that name.
    pub async fn chat_answer(
        &self,
        req: &ChatRequest,
        relay: bool,
    ) -> Result<(ChatAnswer, Served), ApiError> {
        let table = self.table();
        let source = Source {
            table: &table,
            states: &self.states,
        };
        let route = resolve(&source, &req.model)?;
        let policy_fallback = !route.fallbacks.content_policy.is_empty();
        let (mut answer, deployment, served) =
            execute(&source, route, estimate_tokens(req), |_, d| async move {
                let answer = d
                    .provider
                    .chat_answer(req, &d.upstream_model, relay)
                    .await?;
                if policy_fallback && filtered(&answer) {
                    return Err(ApiError::invalid(
                        "messages",
                        "The upstream refused the request under its content policy.",
                    )
                    .with_code("content_policy_violation"));
                }
                Ok(answer)
            })
            .await?;
        let tokens = match &mut answer {
            ChatAnswer::Decoded(resp) => {
                resp.model.clone_from(&served.model);
                resp.usage.total_tokens()
            }
            ChatAnswer::Relayed { relay, .. } => relay.usage.total_tokens(),
        };
        deployment.capacity.record_tokens(tokens);
        Ok((answer, served))
    }

    pub async fn chat_stream(&self, req: &ChatRequest) -> Result<ChatStream, ApiError> {
        let table = self.table();
        let source = Source {
            table: &table,
            states: &self.states,
        };
        let route = resolve(&source, &req.model)?;
        let continue_on_failure = route.continue_on_failure;
        let (events, deployment, served) = execute(
            &source,
            route.clone(),
            estimate_tokens(req),
            |_, d| async move { d.provider.chat_stream(req, &d.upstream_model).await },
        )
        .await?;
        let served_route = if served.model == route.name {
            route
        } else {
            resolve(&source, &served.model)?
        };
        let continuation =
            continue_on_failure.then(|| Continuation::new(served_route.clone(), req.clone()));
        Ok(ChatStream::new(
            events,
            served,
            deployment,
            served_route.timeouts,
            continuation,
        ))
    }

    pub async fn embed(
        &self,
        req: &EmbeddingRequest,
    ) -> Result<(EmbeddingResponse, Served), ApiError> {
        let table = self.table();
        let source = Source {
            table: &table,
            states: &self.states,
        };
        let route = resolve(&source, &req.model)?;
        let (mut resp, deployment, served) = execute(&source, route, 0, |_, d| async move {
            d.provider.embed(req, &d.upstream_model).await
        })
        .await?;
        deployment.capacity.record_tokens(resp.usage.input_tokens);
        resp.model.clone_from(&served.model);
        Ok((resp, served))
    }
}

/// Whether some choice of `answer` was stopped by the upstream's content filter.
fn filtered(answer: &ChatAnswer) -> bool {
    match answer {
        ChatAnswer::Decoded(resp) => resp
            .choices
            .iter()
            .any(|c| c.finish_reason == FinishReason::ContentFilter),
        ChatAnswer::Relayed { relay, .. } => relay.content_filtered,
    }
}

fn resolve(source: &Source<'_>, model: &str) -> Result<Arc<ModelRoute>, ApiError> {
    source.route(model).ok_or_else(|| {
        ApiError::new(
            ErrorKind::NotFound,
            format!("The model `{model}` does not exist or you do not have access to it."),
        )
        .with_code("model_not_found")
        .with_param("model")
    })
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
