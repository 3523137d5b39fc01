//! The configuration file's shape. Every table rejects unknown keys (through the
//! loader, which reports all of them at once), and every field has a default so an
//! empty file is a valid config.

use std::collections::BTreeMap;
use std::path::PathBuf;

use morn_gateway::routing::{RetryPolicy, Strategy};
use morn_providers::ProviderKind;
use serde::Deserialize;

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Config {
    pub server: ServerConfig,
    pub log: LogConfig,
    /// The admin key accepted on every endpoint. Usually `MORN_MASTER_KEY`.
    pub master_key: Option<SecretRef>,
    /// Upstream providers by name.
    pub providers: BTreeMap<String, ProviderConfig>,
    /// Defaults for how every model is routed.
    pub routing: RoutingConfig,
    /// Where records live: SQLite in the data dir (default) or PostgreSQL.
    pub database: DatabaseConfig,
    /// The credential vault's master key.
    pub vault: VaultConfig,
    /// Accounts and API keys.
    pub identity: IdentityConfig,
    /// First start: create the first organization when the database has none.
    pub bootstrap: BootstrapConfig,
    /// Rate-limit and budget counters, the usage ledger.
    pub metering: MeteringConfig,
    /// Models clients may call.
    pub models: Vec<ModelConfig>,
}

/// `url = "postgres://..."` selects PostgreSQL (cluster mode); unset means the
/// embedded SQLite file `<data_dir>/morn.db`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DatabaseConfig {
    pub url: Option<SecretRef>,
    pub max_connections: Option<u32>,
}

/// The vault master key (32 bytes, base64), from the environment or a file. With
/// neither, Morn creates `<data_dir>/master.key` on first start (back it up: without
/// it, stored provider credentials cannot be decrypted).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct VaultConfig {
    pub master_key: Option<SecretRef>,
    pub master_key_file: Option<PathBuf>,
    /// Keys replaced by `morn admin rotate-master-key`, still accepted for reading.
    pub previous_keys: Vec<SecretRef>,
}

/// With `email` set (e.g. `MORN_BOOTSTRAP__EMAIL`), `morn serve` creates the first
/// organization, workspace, owner and API key when the database has no organization, and
/// prints the owner's password and the key once on stderr. Later starts do nothing.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct BootstrapConfig {
    pub email: Option<String>,
    pub org: String,
    pub workspace: String,
}

impl Default for BootstrapConfig {
    fn default() -> Self {
        Self {
            email: None,
            org: "Default".into(),
            workspace: "Default".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct IdentityConfig {
    /// Let people create their own accounts with `POST /api/v1/auth/signup`.
    pub allow_signup: bool,
    /// How often each replica reloads API keys from the database; a revoked key stops
    /// working everywhere within this interval.
    pub key_refresh_ms: u64,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        Self {
            allow_signup: false,
            key_refresh_ms: 500,
        }
    }
}

/// Counters live in process unless `redis_url` is set (cluster mode: every replica
/// shares them, so limits and budgets hold across replicas).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct MeteringConfig {
    pub redis_url: Option<SecretRef>,
    /// While Redis is unreachable: `open` (each replica counts alone, allowed
    /// `1 / replicas` of every limit) or `closed` (requests under a limit or budget get
    /// 503).
    pub redis_failure: RedisFailureMode,
    /// Replicas sharing the limits, for the fail-open share.
    pub replicas: u32,
    /// Timeout of one Redis call, in milliseconds.
    pub redis_timeout_ms: u64,
    /// Output tokens reserved for a request without `max_tokens` (and imposed on it
    /// when a hard budget applies).
    pub default_max_output_tokens: u32,
    /// How often policies (limits, budgets, prices) are re-read from the database.
    pub policy_refresh_ms: u64,
    /// How often the ledger moves records into the database.
    pub ledger_flush_ms: u64,
    /// Unstored records kept on disk at most before new ones are dropped (and counted).
    pub ledger_max_backlog: u64,
    /// `fsync` every ledger append (survives power loss, costs latency).
    pub ledger_fsync: bool,
}

impl Default for MeteringConfig {
    fn default() -> Self {
        Self {
            redis_url: None,
            redis_failure: RedisFailureMode::Open,
            replicas: 1,
            redis_timeout_ms: 250,
            default_max_output_tokens: 4096,
            policy_refresh_ms: 1000,
            ledger_flush_ms: 200,
            ledger_max_backlog: 1_000_000,
            ledger_fsync: false,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RedisFailureMode {
    #[default]
    Open,
    Closed,
}

/// Routing defaults; each model may override `strategy`, `retry` and `timeouts`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RoutingConfig {
    pub strategy: Strategy,
    pub retry: RetryPolicy,
    pub timeouts: TimeoutConfig,
    pub health: HealthSettings,
}

/// Time limits; unset values fall back to the routing defaults, then to built-ins
/// (time to first byte 120 s, idle gap 60 s, total 600 s).
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(default)]
pub struct TimeoutConfig {
    pub ttfb_secs: Option<f64>,
    pub idle_secs: Option<f64>,
    pub total_secs: Option<f64>,
}

/// Circuit breaker settings, shared by every deployment.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct HealthSettings {
    /// `false` keeps every deployment in rotation whatever it answers.
    pub enabled: bool,
    /// Consecutive failures that take a deployment out of rotation.
    pub consecutive_failures: u32,
    /// Error rate over the window that takes it out (with at least `min_requests`).
    pub error_rate: f64,
    pub min_requests: u32,
    pub window_secs: u64,
    /// First cooldown before a half-open probe; doubles while probes fail.
    pub cooldown_secs: f64,
    pub max_cooldown_secs: f64,
}

impl Default for HealthSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            consecutive_failures: 3,
            error_rate: 0.5,
            min_requests: 10,
            window_secs: 30,
            cooldown_secs: 5.0,
            max_cooldown_secs: 60.0,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct ServerConfig {
    /// Address to listen on.
    pub listen: String,
    /// Where the SQLite database and indexes live.
    pub data_dir: PathBuf,
    /// Seconds in-flight requests and streams get to finish after SIGINT/SIGTERM.
    pub shutdown_grace_secs: u64,
    /// Seconds a kept-alive client connection may sit idle between requests.
    pub idle_timeout_secs: u64,
    /// Seconds a request head may take once begun, and a request body may pause
    /// between two reads.
    pub read_timeout_secs: u64,
    /// Largest accepted request body (images inline as base64 make bodies large).
    pub max_body_bytes: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./morn-data"),
            shutdown_grace_secs: 30,
            idle_timeout_secs: 75,
            read_timeout_secs: 30,
            max_body_bytes: 32 * 1024 * 1024,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A tracing filter: `info`, `debug`, `morn_server=debug,info`, ...
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Pretty,
            level: "info".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    #[default]
    Pretty,
    Json,
}

/// A secret given literally or, better, as the name of an environment variable so the
/// file holds no secret: `api_key = { env = "OPENAI_API_KEY" }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum SecretRef {
    Env {
        env: String,
    },
    Literal(String),
    /// An all-digit value from the environment parses as a number; it is still a secret.
    Number(i64),
}

#[derive(Debug, Clone, Deserialize)]
pub struct ProviderConfig {
    /// `openai` (any OpenAI-compatible server), `anthropic` or `gemini`.
    pub kind: ProviderKind,
    /// Defaults to the provider's public API.
    #[serde(default)]
    pub base_url: Option<String>,
    #[serde(default)]
    pub api_key: Option<SecretRef>,
    /// Extra headers sent on every upstream call.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_secs: u64,
    /// Upper bound on one whole upstream call, streams included.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
}

fn default_connect_timeout() -> u64 {
    10
}

fn default_timeout() -> u64 {
    600
}

#[derive(Debug, Clone, Deserialize)]
pub struct ModelConfig {
    /// The name clients use. `prefix/*` is a wildcard: `openai/*` serves
    /// `openai/<model>` as `<model>` at the provider.
    pub name: String,
    /// Other names for this model.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Shorthand for a single deployment: a key of `[providers]`.
    #[serde(default)]
    pub provider: Option<String>,
    /// With `provider`: the model's name there; defaults to `name`.
    #[serde(default)]
    pub upstream_model: Option<String>,
    /// Where the model is served, in preference order.
    #[serde(default)]
    pub deployments: Vec<DeploymentConfig>,
    #[serde(default)]
    pub strategy: Option<Strategy>,
    #[serde(default)]
    pub retry: Option<RetryPolicy>,
    #[serde(default)]
    pub timeouts: TimeoutConfig,
    #[serde(default)]
    pub fallbacks: FallbackConfig,
    /// Continue a broken stream on another deployment (see docs/routing.md).
    #[serde(default)]
    pub continue_on_failure: bool,
}

/// One deployment of a model.
#[derive(Debug, Clone, Deserialize)]
pub struct DeploymentConfig {
    /// A key of `[providers]`.
    pub provider: String,
    /// The model's name at the provider; defaults to the model's name.
    #[serde(default)]
    pub upstream_model: Option<String>,
    #[serde(default = "default_weight")]
    pub weight: u32,
    /// Requests per minute this deployment may take.
    #[serde(default)]
    pub rpm: Option<u32>,
    /// Tokens per minute this deployment may take.
    #[serde(default)]
    pub tpm: Option<u64>,
    /// Context window in tokens; prompts that do not fit skip this deployment.
    #[serde(default)]
    pub context_window: Option<u64>,
    /// Price per million input tokens, in micro-units (1 = 0.000001 of the currency).
    #[serde(default)]
    pub input_price: Option<u64>,
    /// Price per million output tokens, in micro-units.
    #[serde(default)]
    pub output_price: Option<u64>,
}

fn default_weight() -> u32 {
    1
}

/// Models to try next, by error class.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct FallbackConfig {
    /// After 429s from every deployment.
    pub rate_limited: Vec<String>,
    /// After 5xx, timeouts, unreachable upstreams, broken streams.
    pub unavailable: Vec<String>,
    /// When the prompt is too long for this model.
    pub context_window: Vec<String>,
    /// When the upstream refuses under its content policy.
    pub content_policy: Vec<String>,
}
