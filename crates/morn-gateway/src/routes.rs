//! The routing table: model names (exact, aliases, wildcards) → live routes.
//!
//! Built from [`RouteSpec`]s and swapped whole on reload. Deployment health and
//! capacity live in a [`StateRegistry`] keyed by deployment id, outside the table, so a
//! reload keeps what the gateway learnt about each upstream.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use morn_protocol::ModelInfo;

use crate::deployment::{Capacity, Deployment};
use crate::routing::{DeploymentHealth, HealthConfig, RetryPolicy, Strategy};
use crate::spec::{Fallbacks, RouteSpec, Timeouts};

/// A model name and how to serve it.
#[derive(Debug)]
pub struct ModelRoute {
    pub name: String,
    pub deployments: Vec<Arc<Deployment>>,
    pub strategy: Strategy,
    pub fallbacks: Fallbacks,
    pub retry: RetryPolicy,
    pub timeouts: Timeouts,
    pub continue_on_failure: bool,
}

/// A deployment's health and capacity, shared by every table that routes to it.
type SharedState = (Arc<DeploymentHealth>, Arc<Capacity>);

/// Health and capacity per deployment id, shared by every routing table.
#[derive(Debug)]
pub struct StateRegistry {
    config: HealthConfig,
    states: Mutex<HashMap<String, SharedState>>,
}

impl StateRegistry {
    pub fn new(config: HealthConfig) -> Self {
        Self {
            config,
            states: Mutex::new(HashMap::new()),
        }
    }

    fn get(
        &self,
        id: &str,
        rpm: Option<u32>,
        tpm: Option<u64>,
    ) -> (Arc<DeploymentHealth>, Arc<Capacity>) {
        let mut states = self
            .states
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = states.entry(id.to_owned()).or_insert_with(|| {
            (
                Arc::new(DeploymentHealth::new(self.config.clone())),
                Arc::new(Capacity::new(rpm, tpm)),
            )
        });
        (entry.0.clone(), entry.1.clone())
    }
}

/// Everything routable, by name.
#[derive(Debug, Default)]
pub struct Routes {
    /// foldhash, not SipHash: built from the configuration and only read per request,
    /// so a caller's model name cannot grow it.
    exact: foldhash::HashMap<String, Arc<ModelRoute>>,
    /// `(prefix, template)` for names like `openai/*` (prefix `openai/`).
    wildcards: Vec<(String, RouteSpec)>,
    /// Listing order for `/v1/models`: as configured, aliases after their model.
    listed: Vec<(String, String)>,
    created: i64,
}

impl Routes {
    /// Builds the table. Later specs with an already used name replace earlier ones.
    pub fn build(specs: &[RouteSpec], states: &StateRegistry, created: i64) -> Self {
        let mut routes = Self {
            created,
            ..Self::default()
        };
        for spec in specs {
            if let Some(prefix) = spec.name.strip_suffix('*') {
                routes.wildcards.push((prefix.to_owned(), spec.clone()));
                continue;
            }
            let route = Arc::new(live_route(spec, &spec.name, None, states));
            let owner = spec
                .deployments
                .first()
                .map(|d| d.provider.name().to_owned())
                .unwrap_or_default();
            for name in std::iter::once(&spec.name).chain(&spec.aliases) {
                if routes.exact.insert(name.clone(), route.clone()).is_none() {
                    routes.listed.push((name.clone(), owner.clone()));
                }
            }
        }
        routes
    }

    /// The route for a model name: exact names and aliases first, then the longest
    /// matching wildcard prefix.
    pub fn resolve(&self, name: &str, states: &StateRegistry) -> Option<Arc<ModelRoute>> {
        if let Some(route) = self.exact.get(name) {
            return Some(route.clone());
        }
        let (prefix, spec) = self
            .wildcards
            .iter()
            .filter(|(prefix, _)| name.len() > prefix.len() && name.starts_with(prefix.as_str()))
            .max_by_key(|(prefix, _)| prefix.len())?;
        let upstream = &name[prefix.len()..];
        Some(Arc::new(live_route(spec, name, Some(upstream), states)))
    }

    pub fn list(&self) -> Vec<ModelInfo> {
        self.listed
            .iter()
            .map(|(id, owner)| ModelInfo {
                id: id.clone(),
                created: self.created,
                owned_by: owner.clone(),
            })
            .collect()
    }

    pub fn info(&self, name: &str) -> Option<ModelInfo> {
        self.listed
            .iter()
            .find(|(id, _)| id == name)
            .map(|(id, owner)| ModelInfo {
                id: id.clone(),
                created: self.created,
                owned_by: owner.clone(),
            })
    }

    /// Every configured route with its deployments (for the health endpoint).
    pub fn routes(&self) -> impl Iterator<Item = &Arc<ModelRoute>> {
        let mut seen = std::collections::HashSet::new();
        self.listed
            .iter()
            .filter_map(|(name, _)| self.exact.get(name))
            .filter(move |route| seen.insert(Arc::as_ptr(route)))
    }
}

/// A live route for `spec` under `name`; `upstream` replaces every deployment's
/// upstream model (wildcards pass the requested name through).
fn live_route(
    spec: &RouteSpec,
    name: &str,
    upstream: Option<&str>,
    states: &StateRegistry,
) -> ModelRoute {
    let deployments = spec
        .deployments
        .iter()
        .map(|d| {
            let upstream_model = upstream.map_or_else(|| d.upstream_model.clone(), str::to_owned);
            let id = format!("{}/{}", d.provider.name(), upstream_model);
            let (health, capacity) = states.get(&id, d.rpm, d.tpm);
            Arc::new(Deployment::new(d, upstream_model, health, capacity))
        })
        .collect();
    ModelRoute {
        name: name.to_owned(),
        deployments,
        strategy: spec.strategy,
        fallbacks: spec.fallbacks.clone(),
        retry: spec.retry.clone(),
        timeouts: spec.timeouts,
        continue_on_failure: spec.continue_on_failure,
    }
}
