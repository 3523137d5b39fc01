//! Model names → deployments, served from memory.

use std::collections::HashMap;
use std::sync::Arc;

use morn_protocol::ModelInfo;
use morn_providers::Provider;

/// Where a model name is served: one provider and the model's name there.
#[derive(Debug, Clone)]
pub struct Deployment {
    pub provider: Arc<Provider>,
    pub upstream_model: String,
}

/// The models Morn exposes, by the name clients use.
#[derive(Debug, Default)]
pub struct ModelRegistry {
    models: HashMap<String, Deployment>,
    /// Listing order: as configured.
    order: Vec<String>,
    created: i64,
}

impl ModelRegistry {
    /// `created` is the timestamp shown in `/v1/models` (the time config was loaded).
    pub fn new(created: i64) -> Self {
        Self {
            created,
            ..Self::default()
        }
    }

    /// Adds a model. A later entry with the same name replaces the earlier one.
    pub fn insert(&mut self, name: String, deployment: Deployment) {
        if self.models.insert(name.clone(), deployment).is_none() {
            self.order.push(name);
        }
    }

    pub fn get(&self, name: &str) -> Option<&Deployment> {
        self.models.get(name)
    }

    pub fn list(&self) -> Vec<ModelInfo> {
        self.order
            .iter()
            .filter_map(|name| self.info(name))
            .collect()
    }

    pub fn info(&self, name: &str) -> Option<ModelInfo> {
        let deployment = self.models.get(name)?;
        Some(ModelInfo {
            id: name.to_owned(),
            created: self.created,
            owned_by: deployment.provider.name().to_owned(),
        })
    }
}
