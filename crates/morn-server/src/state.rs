//! Shared application state handed to every handler.

use std::sync::Arc;

use morn_gateway::Gateway;
use morn_providers::Secret;

/// Everything handlers need. Handlers get it as [`Shared`].
#[derive(Clone)]
pub struct AppState {
    /// Model resolution and upstream calls for the config file's models (the master
    /// key, and organizations without catalog entries).
    pub gateway: Arc<Gateway>,
    /// Per-organization gateways over catalog models; see `tenancy::gateway_for`.
    pub tenancy: Arc<crate::tenancy::Tenancy>,
    /// Identity: the record store, vault, token keys and the API key cache.
    pub identity: Arc<crate::identity::Identity>,
    /// Prices, rate limits, budgets, the usage ledger and metrics.
    pub meter: Arc<crate::metering::Meter>,
    /// Who may call the API.
    pub auth: Arc<AuthSettings>,
    /// Largest request body accepted, in bytes (larger ones get 413).
    pub max_body_bytes: usize,
    /// Re-reads the configuration and reloads routes (admin reload endpoint); returns
    /// the number of models or the problems found. `None` when there is nothing to
    /// reload from.
    pub reload: Option<ReloadHook>,
}

/// See [`AppState::reload`].
pub type ReloadHook = Arc<dyn Fn() -> Result<usize, Vec<String>> + Send + Sync>;

/// Authentication settings.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// The admin key accepted on every endpoint (`MORN_MASTER_KEY`).
    pub master_key: Secret,
}

/// The state as handlers receive it: one `Arc`, so the per-request clones axum makes
/// (one per middleware and handler) cost one atomic increment each.
pub type Shared = Arc<AppState>;
