//! Routing per tenant: which [`Gateway`] serves a caller.
//!
//! The config file's models are routed by the shared gateway (`AppState::gateway`),
//! which the master key and every organization without catalog entries use. An
//! organization with providers or models stored through the platform API gets its own
//! gateway whose table is its organization-wide models, then the config models; a
//! workspace with its own providers or models gets one more, with its entries between
//! those two. Later entries win on a name, so a workspace model shadows an organization
//! model of the same name and a config model is never shadowed (the API also refuses
//! catalog names a config model uses).
//!
//! Tables are rebuilt from the store every second, and at once after a catalog write on
//! this replica. Only an organization whose records (or the config routes) changed is
//! rebuilt, by [`Gateway::reload`] when it already has a gateway, so deployment health
//! and circuit breakers survive refreshes. A store error, or a record that does not
//! build (undecryptable key, unknown provider), is logged and leaves the last good
//! table in place: the gateway never answers 500 because of it.

mod spec;

pub use spec::ModelSpec;

use std::collections::{BTreeMap, HashMap};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use morn_gateway::routing::HealthConfig;
use morn_gateway::{Gateway, RouteSpec};
use morn_providers::{Provider, ProviderKind, ProviderSettings, Secret};
use morn_store::{ModelRecord, ProviderRecord, StoreError};

use crate::identity::{Identity, Principal};
use crate::state::Shared;

/// How often every replica re-reads the catalog.
const REFRESH_EVERY: Duration = Duration::from_secs(1);
/// Upstream timeouts of catalog providers: the config file's defaults.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(600);

/// The gateway serving `principal`: its organization's (or workspace's) table when it
/// has catalog entries, else the shared config gateway. No I/O: a map lookup.
pub fn gateway_for(state: &Shared, principal: &Principal) -> Arc<Gateway> {
    match principal {
        Principal::Master => state.gateway.clone(),
        Principal::Key(key) => state
            .tenancy
            .lookup(&key.org_id, &key.workspace_id)
            .unwrap_or_else(|| state.gateway.clone()),
    }
}

/// One organization's gateways.
struct OrgTables {
    /// Hash of the records (and config generation) the gateways were built from.
    fingerprint: u64,
    org: Arc<Gateway>,
    /// Only workspaces with catalog entries of their own.
    workspaces: HashMap<String, Arc<Gateway>>,
}

/// Per-organization routing tables, refreshed from the catalog.
pub struct Tenancy {
    identity: Arc<Identity>,
    health: HealthConfig,
    /// The config file's routes with a generation number bumped on every reload.
    config: RwLock<(u64, Arc<Vec<RouteSpec>>)>,
    tables: RwLock<Arc<HashMap<String, Arc<OrgTables>>>>,
    /// One refresh at a time (the ticker and catalog writes both start them).
    refreshing: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Tenancy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tenancy")
            .field("orgs", &self.snapshot().len())
            .finish_non_exhaustive()
    }
}

impl Tenancy {
    /// Tables over `config` routes, refreshed every second by a background task that
    /// ends when the returned value is dropped. Outside a Tokio runtime nothing is
    /// spawned and tables change only through [`Tenancy::refresh`].
    pub fn start(
        config: Vec<RouteSpec>,
        health: HealthConfig,
        identity: Arc<Identity>,
    ) -> Arc<Self> {
        // Catalog providers build HTTP clients, which need a TLS crypto provider; `morn
        // serve` installs it at start, but embedders and tests may not have.
        morn_providers::install_crypto_provider();
        let tenancy = Arc::new(Self {
            identity,
            health,
            config: RwLock::new((0, Arc::new(config))),
            tables: RwLock::default(),
            refreshing: tokio::sync::Mutex::new(()),
        });
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(refresh_loop(Arc::downgrade(&tenancy)));
        }
        tenancy
    }

    /// Replaces the config routes (after a config reload); every organization table is
    /// rebuilt on the next refresh.
    pub fn set_config_routes(&self, config: Vec<RouteSpec>) {
        let mut guard = self
            .config
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *guard = (guard.0 + 1, Arc::new(config));
    }

    /// The config file's routes (read-only through the platform API).
    pub fn config_routes(&self) -> Arc<Vec<RouteSpec>> {
        self.config
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .1
            .clone()
    }

    /// Whether a config route (or alias) is called `name`.
    pub fn is_config_name(&self, name: &str) -> bool {
        self.config_routes()
            .iter()
            .any(|r| r.name == name || r.aliases.iter().any(|a| a == name))
    }

    fn snapshot(&self) -> Arc<HashMap<String, Arc<OrgTables>>> {
        self.tables
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn lookup(&self, org_id: &str, workspace_id: &str) -> Option<Arc<Gateway>> {
        let tables = self.tables.read().ok()?;
        let org = tables.get(org_id)?;
        Some(org.workspaces.get(workspace_id).unwrap_or(&org.org).clone())
    }

    /// Re-reads the catalog and rebuilds the tables of organizations whose records
    /// changed. Never fails: problems are logged and the last good tables kept.
    pub async fn refresh(&self) {
        let _one = self.refreshing.lock().await;
        let store = &self.identity.store;
        let records = tokio::try_join!(store.list_all_providers(), store.list_all_models());
        let (providers, models) = match records {
            Ok(records) => records,
            Err(err) => {
                tracing::warn!(error = %err, "catalog refresh failed; keeping the last routing tables");
                return;
            }
        };
        let mut by_org: BTreeMap<String, (Vec<ProviderRecord>, Vec<ModelRecord>)> = BTreeMap::new();
        for p in providers {
            by_org.entry(p.org_id.clone()).or_default().0.push(p);
        }
        for m in models {
            by_org.entry(m.org_id.clone()).or_default().1.push(m);
        }
        let (generation, config) = self
            .config
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let old = self.snapshot();
        let mut next = HashMap::with_capacity(by_org.len());
        let mut changed = old.len() != by_org.len();
        for (org_id, (providers, models)) in by_org {
            let fingerprint = fingerprint(generation, &providers, &models);
            let previous = old.get(&org_id);
            if let Some(kept) = previous.filter(|t| t.fingerprint == fingerprint) {
                next.insert(org_id, kept.clone());
                continue;
            }
            changed = true;
            match self
                .build(&org_id, &providers, &models, &config, previous, fingerprint)
                .await
            {
                Ok(tables) => {
                    next.insert(org_id, Arc::new(tables));
                }
                Err(err) => {
                    tracing::warn!(org = %org_id, error = %err, "cannot load the organization's catalog; keeping its last routing table");
                    if let Some(previous) = previous {
                        next.insert(org_id, previous.clone());
                    }
                }
            }
        }
        if changed {
            *self
                .tables
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(next);
        }
    }

    /// One organization's gateways, reusing `previous` ones so health carries over.
    async fn build(
        &self,
        org_id: &str,
        providers: &[ProviderRecord],
        models: &[ModelRecord],
        config: &[RouteSpec],
        previous: Option<&Arc<OrgTables>>,
        fingerprint: u64,
    ) -> Result<OrgTables, StoreError> {
        // Providers by scope (`None`: organization-wide), then by name.
        let mut scoped: HashMap<Option<&str>, HashMap<String, Arc<Provider>>> = HashMap::new();
        for record in providers {
            if let Some(provider) = self.provider(record).await? {
                scoped
                    .entry(record.workspace_id.as_deref())
                    .or_default()
                    .insert(record.name.clone(), Arc::new(provider));
            }
        }
        let org_providers = scoped.get(&None).cloned().unwrap_or_default();
        let org_routes = routes(org_id, models, None, &org_providers);
        let mut workspace_ids: Vec<&str> = providers
            .iter()
            .filter_map(|p| p.workspace_id.as_deref())
            .chain(models.iter().filter_map(|m| m.workspace_id.as_deref()))
            .collect();
        workspace_ids.sort_unstable();
        workspace_ids.dedup();
        let table = |own: &[RouteSpec]| -> Vec<RouteSpec> {
            let mut specs = org_routes.clone();
            specs.extend_from_slice(own);
            specs.extend_from_slice(config);
            specs
        };
        let gateway = |old: Option<&Arc<Gateway>>, specs: &[RouteSpec]| match old {
            Some(gateway) => {
                gateway.reload(specs);
                gateway.clone()
            }
            None => Arc::new(Gateway::new(specs, self.health.clone())),
        };
        let org = gateway(previous.map(|p| &p.org), &table(&[]));
        let mut workspaces = HashMap::new();
        for ws in workspace_ids {
            // Workspace providers shadow organization ones of the same name.
            let mut visible = org_providers.clone();
            visible.extend(scoped.get(&Some(ws)).cloned().unwrap_or_default());
            let own = routes(org_id, models, Some(ws), &visible);
            let old = previous.and_then(|p| p.workspaces.get(ws));
            workspaces.insert(ws.to_owned(), gateway(old, &table(&own)));
        }
        Ok(OrgTables {
            fingerprint,
            org,
            workspaces,
        })
    }

    /// A live provider for `record`, its key opened from the vault. `Ok(None)` (logged)
    /// when the record cannot be used; `Err` only when the store failed.
    async fn provider(&self, record: &ProviderRecord) -> Result<Option<Provider>, StoreError> {
        let skip = |why: &dyn std::fmt::Display| {
            tracing::warn!(org = %record.org_id, provider = %record.name, error = %why, "catalog provider skipped");
        };
        let Ok(kind) = serde_json::from_value::<ProviderKind>(serde_json::json!(record.kind))
        else {
            skip(&"unknown kind");
            return Ok(None);
        };
        let api_key = match &record.secret_id {
            None => None,
            Some(id) => {
                let Some(secret) = self.identity.store.get_secret(&record.org_id, id).await? else {
                    skip(&"its stored API key is missing");
                    return Ok(None);
                };
                // The binding `catalog.rs` sealed it under: owner and name.
                let aad = format!(
                    "{}/{}/{}",
                    secret.org_id,
                    secret.workspace_id.as_deref().unwrap_or(""),
                    secret.name
                );
                let sealed = morn_auth::Sealed {
                    key_id: secret.key_id,
                    nonce: secret.nonce,
                    ciphertext: secret.ciphertext,
                };
                match self.identity.vault.open(&sealed, &aad) {
                    Ok(key) => Some(Secret::new(key.expose())),
                    Err(err) => {
                        skip(&err);
                        return Ok(None);
                    }
                }
            }
        };
        let headers = record
            .headers
            .as_object()
            .map(|h| {
                h.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default();
        let base_url = record
            .base_url
            .as_deref()
            .unwrap_or(kind.default_base_url())
            .trim_end_matches('/')
            .to_owned();
        match Provider::new(ProviderSettings {
            name: record.name.clone(),
            kind,
            base_url,
            api_key,
            headers,
            connect_timeout: CONNECT_TIMEOUT,
            request_timeout: REQUEST_TIMEOUT,
        }) {
            Ok(provider) => Ok(Some(provider)),
            Err(err) => {
                skip(&err);
                Ok(None)
            }
        }
    }
}

/// The routes of the models of exactly one scope; models that do not build are logged
/// and left out.
fn routes(
    org_id: &str,
    models: &[ModelRecord],
    workspace_id: Option<&str>,
    providers: &HashMap<String, Arc<Provider>>,
) -> Vec<RouteSpec> {
    models
        .iter()
        .filter(|m| m.workspace_id.as_deref() == workspace_id)
        .filter_map(|m| {
            match ModelSpec::parse(&m.spec).and_then(|spec| spec.route(&m.name, providers)) {
                Ok(route) => Some(route),
                Err(err) => {
                    tracing::warn!(org = %org_id, model = %m.name, error = %err, "catalog model skipped");
                    None
                }
            }
        })
        .collect()
}

/// Changes whenever a record of the organization, or the config routes, change.
fn fingerprint(generation: u64, providers: &[ProviderRecord], models: &[ModelRecord]) -> u64 {
    let mut hasher = DefaultHasher::new();
    generation.hash(&mut hasher);
    for p in providers {
        (&p.id, &p.workspace_id, &p.name, &p.kind, &p.base_url).hash(&mut hasher);
        (&p.secret_id, p.headers.to_string(), p.updated_at).hash(&mut hasher);
    }
    for m in models {
        (
            &m.id,
            &m.workspace_id,
            &m.name,
            m.spec.to_string(),
            m.updated_at,
        )
            .hash(&mut hasher);
    }
    hasher.finish()
}

async fn refresh_loop(tenancy: Weak<Tenancy>) {
    let mut ticker = tokio::time::interval(REFRESH_EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let Some(tenancy) = tenancy.upgrade() else {
            return;
        };
        tenancy.refresh().await;
    }
}
