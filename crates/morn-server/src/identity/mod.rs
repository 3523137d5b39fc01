//! Identity on the hot path and in the platform API: who is calling (a [`Principal`]),
//! the in-memory API key cache, and the shared services (store, vault, token keys)
//! the platform handlers use.

mod key_cache;
mod principal;

use std::sync::Arc;

use morn_auth::{JwtKeys, Vault};
use morn_store::Store;

pub use key_cache::{CachedKey, KeyCache, now_ms as key_cache_now};
pub use principal::{Principal, Scope};

/// Identity services shared by the gateway edge and the platform API.
pub struct Identity {
    /// Tenants, users, keys, sessions, audit, vault, catalog.
    pub store: Arc<dyn Store>,
    /// Encrypts provider credentials and other secrets at rest.
    pub vault: Arc<Vault>,
    /// Signs and checks user access tokens.
    pub jwt: Arc<JwtKeys>,
    /// API keys by hash, refreshed from the store in the background.
    pub keys: Arc<KeyCache>,
    /// Whether people may create their own accounts (`POST /api/v1/auth/signup`).
    pub allow_signup: bool,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("backend", &self.store.backend_name())
            .finish_non_exhaustive()
    }
}
