//! Test harness: the simulator and a real Morn server, both in process on port 0.
//!
//! Morn is assembled exactly as `morn serve` assembles it (providers, registry,
//! gateway, SQLite store in a temp dir, the real router and server loop), with one
//! provider per adapter pointed at the simulator.
#![allow(
    dead_code,
    reason = "each test binary uses a different part of the harness"
)]

use std::sync::Arc;
use std::time::Duration;

use morn_gateway::routing::{HealthConfig, RetryPolicy};
use morn_gateway::{DeploymentSpec, Gateway, RouteSpec};
use morn_providers::{Provider, ProviderKind, ProviderSettings, Secret};
use morn_server::identity::{Identity, KeyCache};
use morn_server::{AppState, AuthSettings, ServeOptions};
use morn_store::SqliteStore;

pub const KEY: &str = "sk-morn-test";

/// Chat models by the adapter that serves them.
pub const CHAT_MODELS: [(&str, &str); 3] = [
    ("openai", "gpt-4o-mini"),
    ("anthropic", "claude-sonnet-4-5"),
    ("gemini", "gemini-2.5-flash"),
];

pub struct TestEnv {
    pub base: String,
    pub mock: String,
    pub http: reqwest::Client,
    /// The server's store, for checking what it recorded.
    pub store: Arc<dyn morn_store::Store>,
    _dir: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl TestEnv {
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with_timeout(Duration::from_secs(10)).await
    }

    /// Like `start`, with every upstream call bounded by `request_timeout`.
    pub async fn start_with_timeout(request_timeout: Duration) -> anyhow::Result<Self> {
        let mock_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let mock = format!("http://{}", mock_listener.local_addr()?);
        tokio::spawn(morn_mock::serve(
            mock_listener,
            morn_mock::MockOptions::default(),
        ));

        morn_providers::install_crypto_provider();
        let mut specs = Vec::new();
        let providers = [
            (
                ProviderKind::OpenAi,
                format!("{mock}/v1"),
                vec!["gpt-4o-mini", "text-embedding-3-small"],
            ),
            (
                ProviderKind::Anthropic,
                mock.clone(),
                vec!["claude-sonnet-4-5"],
            ),
            (
                ProviderKind::Gemini,
                format!("{mock}/v1beta"),
                vec!["gemini-2.5-flash", "gemini-embedding-001"],
            ),
        ];
        let unreachable = (
            ProviderKind::OpenAi,
            "http://127.0.0.1:9/v1".to_owned(),
            vec!["offline-model"],
        );
        for (kind, base_url, models) in providers.into_iter().chain([unreachable]) {
            let provider = Arc::new(
                Provider::new(ProviderSettings {
                    name: if models[0] == "offline-model" {
                        "offline".into()
                    } else {
                        format!("mock_{}", kind.as_str())
                    },
                    kind,
                    base_url,
                    api_key: Some(Secret::new("mock-key")),
                    headers: Vec::new(),
                    connect_timeout: Duration::from_secs(2),
                    request_timeout,
                })
                .map_err(anyhow::Error::msg)?,
            );
            for model in models {
                specs.push(route(model, &provider));
            }
        }
        let (mut env, _) = Self::serve(&specs, transparent_health(), 64 * 1024).await?;
        env.mock = mock;
        Ok(env)
    }

    /// POSTs JSON with the master key as a bearer token.
    pub async fn post(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> anyhow::Result<reqwest::Response> {
        Ok(self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(KEY)
            .json(body)
            .send()
            .await?)
    }
}

impl TestEnv {
    /// Morn with the given routes and breaker settings (no simulator of its own).
    pub async fn with_routes(
        specs: &[RouteSpec],
        health: HealthConfig,
    ) -> anyhow::Result<(Self, Arc<Gateway>)> {
        Self::serve(specs, health, 1024 * 1024).await
    }

    /// The real server (router, state, serve loop) on port 0 over `specs`.
    async fn serve(
        specs: &[RouteSpec],
        health: HealthConfig,
        max_body_bytes: usize,
    ) -> anyhow::Result<(Self, Arc<Gateway>)> {
        morn_providers::install_crypto_provider();
        let dir = tempfile::tempdir()?;
        let gateway = Arc::new(Gateway::new(specs, health.clone()));
        let identity = identity(dir.path()).await?;
        let store = identity.store.clone();
        let meter = morn_server::metering::Meter::embedded(identity.store.clone(), dir.path())
            .await
            .map_err(|e| anyhow::anyhow!(e))?;
        meter.spawn_background();
        // As under `morn serve`: keys and catalog routes refresh in the background.
        identity
            .keys
            .spawn_refresher(store.clone(), Duration::from_millis(200));
        let tenancy =
            morn_server::tenancy::Tenancy::start(specs.to_vec(), health, identity.clone());
        let state = AppState {
            gateway: gateway.clone(),
            tenancy,
            reload: None,
            meter,
            identity,
            auth: Arc::new(AuthSettings {
                master_key: Secret::new(KEY),
            }),
            max_body_bytes,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let options = ServeOptions {
            shutdown_grace: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(75),
            read_timeout: Duration::from_secs(30),
        };
        tokio::spawn(morn_server::serve(listener, state, options, async {
            let _ = rx.await;
        }));
        let env = Self {
            base,
            mock: String::new(),
            http: reqwest::Client::new(),
            store: store.clone(),
            _dir: dir,
            shutdown: Some(tx),
        };
        Ok((env, gateway))
    }
}

/// Identity services over a fresh SQLite store in `dir`.
pub async fn identity(dir: &std::path::Path) -> anyhow::Result<Arc<Identity>> {
    let store: Arc<dyn morn_store::Store> = Arc::new(SqliteStore::open(dir).await?);
    let (key, _) = morn_auth::MasterKey::generate();
    Ok(Arc::new(Identity {
        store,
        jwt: Arc::new(morn_auth::JwtKeys::from_master(&key)),
        vault: Arc::new(morn_auth::Vault::new(key, Vec::new())),
        keys: Arc::new(KeyCache::new()),
        allow_signup: true,
    }))
}

/// A simulator on `addr` (use `127.0.0.1:0` for a free port); returns its URL and the
/// task serving it (abort it to take the "provider" down).
pub async fn spawn_mock(
    addr: &str,
) -> anyhow::Result<(String, tokio::task::JoinHandle<std::io::Result<()>>)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let url = format!("http://{}", listener.local_addr()?);
    Ok((
        url,
        tokio::spawn(morn_mock::serve(
            listener,
            morn_mock::MockOptions::default(),
        )),
    ))
}

/// An OpenAI-kind provider at `base` (a simulator URL) sending `headers` on every call
/// (`x-mock-*` headers steer the simulator per provider).
pub fn provider(name: &str, base: &str, headers: &[(&str, &str)]) -> anyhow::Result<Arc<Provider>> {
    morn_providers::install_crypto_provider();
    Ok(Arc::new(
        Provider::new(ProviderSettings {
            name: name.to_owned(),
            kind: ProviderKind::OpenAi,
            base_url: format!("{base}/v1"),
            api_key: Some(Secret::new("mock-key")),
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            connect_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(10),
        })
        .map_err(anyhow::Error::msg)?,
    ))
}

/// A deployment of `provider` with a weight.
pub fn deployment(provider: &Arc<Provider>, upstream_model: &str, weight: u32) -> DeploymentSpec {
    DeploymentSpec {
        provider: provider.clone(),
        upstream_model: upstream_model.to_owned(),
        weight,
        rpm: None,
        tpm: None,
        context_window: None,
        cost: None,
    }
}

/// A route over `deployments` with routing defaults (3 attempts, default timeouts).
pub fn routed(name: &str, deployments: Vec<DeploymentSpec>) -> RouteSpec {
    RouteSpec {
        name: name.to_owned(),
        aliases: Vec::new(),
        deployments,
        strategy: Default::default(),
        fallbacks: Default::default(),
        retry: RetryPolicy::default(),
        timeouts: Default::default(),
        continue_on_failure: false,
    }
}

/// A breaker that reacts fast enough for tests: out after 3 failures, back after
/// `cooldown`.
pub fn fast_health(cooldown: Duration) -> HealthConfig {
    HealthConfig {
        cooldown,
        max_cooldown: cooldown * 4,
        ..Default::default()
    }
}

impl TestEnv {
    /// Begins a graceful shutdown of the server, as SIGTERM would.
    pub fn begin_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A circuit breaker that never opens, so every upstream answer reaches the client
/// as-is (routing behaviour has its own suite).
pub fn transparent_health() -> HealthConfig {
    HealthConfig {
        enabled: false,
        ..Default::default()
    }
}

/// A single-deployment route with default routing settings.
pub fn route(model: &str, provider: &Arc<Provider>) -> RouteSpec {
    RouteSpec {
        name: model.to_owned(),
        aliases: Vec::new(),
        deployments: vec![DeploymentSpec {
            provider: provider.clone(),
            upstream_model: model.to_owned(),
            weight: 1,
            rpm: None,
            tpm: None,
            context_window: None,
            cost: None,
        }],
        strategy: Default::default(),
        fallbacks: Default::default(),
        // One attempt: these suites check what a single upstream answer becomes.
        retry: RetryPolicy {
            max_attempts: 1,
            ..Default::default()
        },
        timeouts: Default::default(),
        continue_on_failure: false,
    }
}

/// Parses an SSE body into `(event, data)` pairs.
pub fn sse_events(body: &str) -> Vec<(Option<String>, String)> {
    morn_protocol::sse::parse_all(body.as_bytes())
        .into_iter()
        .map(|e| (e.event, e.data))
        .collect()
}

/// The data of each event parsed as JSON (`[DONE]` kept as a string).
pub fn sse_json(body: &str) -> Vec<serde_json::Value> {
    sse_events(body)
        .into_iter()
        .map(|(_, data)| serde_json::from_str(&data).unwrap_or(serde_json::Value::String(data)))
        .collect()
}
