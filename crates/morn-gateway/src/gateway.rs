//! The gateway service: what the HTTP handlers call.

use morn_protocol::{
    ApiError, ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse, ErrorKind, ModelInfo,
    StreamEvent,
};
use morn_providers::EventStream;

use crate::registry::{Deployment, ModelRegistry};

/// Resolves models and calls their deployments. Answers name the model as the client
/// asked for it, not the upstream's name, so clients see the names they configured.
#[derive(Debug)]
pub struct Gateway {
    registry: ModelRegistry,
}

/// A stream being relayed, with the model name the client asked for.
pub struct ChatStream {
    pub events: EventStream,
    pub model: String,
    /// The provider that serves it (for logs and the `x-morn-provider` header).
    pub provider: String,
}

impl ChatStream {
    /// The next event, with the model name rewritten to the client's.
    pub async fn next(&mut self) -> Option<StreamEvent> {
        let mut event = self.events.next().await?;
        if let StreamEvent::Start { model, .. } = &mut event {
            model.clone_from(&self.model);
        }
        Some(event)
    }
}

impl Gateway {
    pub fn new(registry: ModelRegistry) -> Self {
        Self { registry }
    }

    pub fn models(&self) -> Vec<ModelInfo> {
        self.registry.list()
    }

    pub fn model(&self, name: &str) -> Option<ModelInfo> {
        self.registry.info(name)
    }

    pub async fn chat(&self, req: &ChatRequest) -> Result<(ChatResponse, &str), ApiError> {
        let deployment = self.resolve(&req.model)?;
        let mut resp = deployment
            .provider
            .chat(req, &deployment.upstream_model)
            .await?;
        resp.model.clone_from(&req.model);
        Ok((resp, deployment.provider.name()))
    }

    pub async fn chat_stream(&self, req: &ChatRequest) -> Result<ChatStream, ApiError> {
        let deployment = self.resolve(&req.model)?;
        let events = deployment
            .provider
            .chat_stream(req, &deployment.upstream_model)
            .await?;
        Ok(ChatStream {
            events,
            model: req.model.clone(),
            provider: deployment.provider.name().to_owned(),
        })
    }

    pub async fn embed(&self, req: &EmbeddingRequest) -> Result<EmbeddingResponse, ApiError> {
        let deployment = self.resolve(&req.model)?;
        let mut resp = deployment
            .provider
            .embed(req, &deployment.upstream_model)
            .await?;
        resp.model.clone_from(&req.model);
        Ok(resp)
    }

    fn resolve(&self, model: &str) -> Result<&Deployment, ApiError> {
        self.registry.get(model).ok_or_else(|| {
            ApiError::new(
                ErrorKind::NotFound,
                format!("The model `{model}` does not exist or you do not have access to it."),
            )
            .with_code("model_not_found")
            .with_param("model")
        })
    }
}
