//! The configuration file's shape. Every table rejects unknown keys (through the
//! loader, which reports all of them at once), and every field has a default so an
//! empty file is a valid config.

use std::collections::BTreeMap;
use std::path::PathBuf;

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
    /// Models clients may call, each served by one provider.
    pub models: Vec<ModelConfig>,
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
    /// Largest accepted request body (images inline as base64 make bodies large).
    pub max_body_bytes: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./morn-data"),
            shutdown_grace_secs: 30,
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
    /// The name clients use.
    pub name: String,
    /// A key of `[providers]`.
    pub provider: String,
    /// The model's name at the provider; defaults to `name`.
    #[serde(default)]
    pub upstream_model: Option<String>,
}
