//! Semantic checks and secret resolution: a loaded [`Config`] becomes [`Settings`], or
//! every problem found is reported.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use morn_gateway::routing::HealthConfig;
use morn_providers::{ProviderSettings, Secret};

pub use super::routes::ModelSettings;

use super::load::{Locator, Problem};
use super::schema::{Config, LogFormat, SecretRef};

/// Validated runtime settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub shutdown_grace: Duration,
    pub idle_timeout: Duration,
    /// `server.read_timeout_secs`.
    pub read_timeout: Duration,
    pub max_body_bytes: usize,
    pub log_format: LogFormat,
    pub log_level: String,
    pub master_key: Option<Secret>,
    pub providers: Vec<ProviderSettings>,
    pub models: Vec<ModelSettings>,
    pub health: HealthConfig,
    /// PostgreSQL URL when configured; SQLite in `data_dir` otherwise.
    pub database_url: Option<Secret>,
    pub database_max_connections: u32,
    pub vault_key: Option<Secret>,
    pub vault_key_file: Option<PathBuf>,
    pub vault_previous: Vec<Secret>,
    pub allow_signup: bool,
    pub key_refresh: Duration,
    /// Counters, ledger and admission settings.
    pub metering: super::schema::MeteringConfig,
    /// Redis for shared counters (cluster mode).
    pub redis_url: Option<Secret>,
    /// `(email, org, workspace)` for a first-start bootstrap.
    pub bootstrap: Option<(String, String, String)>,
}

/// Checks `config` and resolves environment references through `lookup`.
pub fn resolve(
    config: &Config,
    locator: &Locator,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Settings, Vec<Problem>> {
    let mut problems = Vec::new();
    let listen = config.server.listen.parse::<SocketAddr>().map_err(|_| {
        problems.push(locator.problem(
            "server.listen",
            format!(
                "`{}` is not an address like 127.0.0.1:8080",
                config.server.listen
            ),
        ));
    });
    if config.server.idle_timeout_secs == 0 {
        problems.push(locator.problem("server.idle_timeout_secs", "must be at least 1"));
    }
    if config.server.read_timeout_secs == 0 {
        problems.push(locator.problem("server.read_timeout_secs", "must be at least 1"));
    }
    if config.server.max_body_bytes < 1024 {
        problems.push(locator.problem("server.max_body_bytes", "must be at least 1024"));
    }
    if tracing_subscriber::EnvFilter::try_new(&config.log.level).is_err() {
        problems.push(locator.problem(
            "log.level",
            format!("`{}` is not a valid log filter", config.log.level),
        ));
    }
    let master_key = config
        .master_key
        .as_ref()
        .and_then(|s| secret(s, "master_key", locator, lookup, &mut problems));
    let mut providers = Vec::new();
    for (name, p) in &config.providers {
        let key = format!("providers.{name}");
        let base_url = p
            .base_url
            .clone()
            .unwrap_or_else(|| p.kind.default_base_url().to_owned());
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            problems.push(locator.problem(
                format!("{key}.base_url"),
                "must start with http:// or https://",
            ));
        }
        if p.timeout_secs == 0 || p.connect_timeout_secs == 0 {
            problems.push(locator.problem(key.clone(), "timeouts must be at least 1 second"));
        }
        let api_key = p
            .api_key
            .as_ref()
            .and_then(|s| secret(s, &format!("{key}.api_key"), locator, lookup, &mut problems));
        for header in p.headers.keys() {
            if http_header_name_invalid(header) {
                problems.push(locator.problem(
                    format!("{key}.headers"),
                    format!("`{header}` is not a valid header name"),
                ));
            }
        }
        providers.push(ProviderSettings {
            name: name.clone(),
            kind: p.kind,
            base_url: base_url.trim_end_matches('/').to_owned(),
            api_key,
            headers: p
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            connect_timeout: Duration::from_secs(p.connect_timeout_secs),
            request_timeout: Duration::from_secs(p.timeout_secs),
        });
    }
    let models = super::routes::resolve_models(config, locator, &mut problems);
    let database_url = config
        .database
        .url
        .as_ref()
        .and_then(|s| secret(s, "database.url", locator, lookup, &mut problems));
    if let Some(url) = &database_url
        && !(url.expose().starts_with("postgres://") || url.expose().starts_with("postgresql://"))
    {
        problems.push(locator.problem(
            "database.url",
            "must be a postgres:// URL (leave it unset for the embedded SQLite)",
        ));
    }
    let redis_url = config
        .metering
        .redis_url
        .as_ref()
        .and_then(|s| secret(s, "metering.redis_url", locator, lookup, &mut problems));
    if let Some(url) = &redis_url
        && !(url.expose().starts_with("redis://") || url.expose().starts_with("rediss://"))
    {
        problems.push(locator.problem("metering.redis_url", "must be a redis:// URL"));
    }
    if config.metering.replicas == 0 {
        problems.push(locator.problem("metering.replicas", "must be at least 1"));
    }
    let vault_key = config
        .vault
        .master_key
        .as_ref()
        .and_then(|s| secret(s, "vault.master_key", locator, lookup, &mut problems));
    if let Some(key) = &vault_key
        && morn_auth::MasterKey::from_base64(key.expose()).is_err()
    {
        problems.push(locator.problem(
            "vault.master_key",
            "must be 32 bytes, base64-encoded (`morn admin generate-master-key` makes one)",
        ));
    }
    let vault_previous: Vec<Secret> = config
        .vault
        .previous_keys
        .iter()
        .filter_map(|s| secret(s, "vault.previous_keys", locator, lookup, &mut problems))
        .collect();
    let health = super::routes::health_config(&config.routing.health, locator, &mut problems);
    let Ok(listen) = listen else {
        return Err(problems);
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Settings {
        listen,
        data_dir: config.server.data_dir.clone(),
        shutdown_grace: Duration::from_secs(config.server.shutdown_grace_secs),
        idle_timeout: Duration::from_secs(config.server.idle_timeout_secs),
        read_timeout: Duration::from_secs(config.server.read_timeout_secs),
        max_body_bytes: config.server.max_body_bytes,
        log_format: config.log.format,
        log_level: config.log.level.clone(),
        master_key,
        providers,
        models,
        health,
        database_url,
        database_max_connections: config.database.max_connections.unwrap_or(16).max(1),
        vault_key,
        vault_key_file: config.vault.master_key_file.clone(),
        vault_previous,
        allow_signup: config.identity.allow_signup,
        key_refresh: Duration::from_millis(config.identity.key_refresh_ms.clamp(50, 60_000)),
        metering: config.metering.clone(),
        redis_url,
        bootstrap: config.bootstrap.email.clone().map(|email| {
            (
                email,
                config.bootstrap.org.clone(),
                config.bootstrap.workspace.clone(),
            )
        }),
    })
}

fn secret(
    reference: &SecretRef,
    key: &str,
    locator: &Locator,
    lookup: &dyn Fn(&str) -> Option<String>,
    problems: &mut Vec<Problem>,
) -> Option<Secret> {
    match reference {
        SecretRef::Literal(value) if value.is_empty() => {
            problems.push(locator.problem(key, "must not be empty"));
            None
        }
        SecretRef::Literal(value) => Some(Secret::new(value.clone())),
        SecretRef::Number(n) => Some(Secret::new(n.to_string())),
        SecretRef::Env { env } => match lookup(env).filter(|v| !v.is_empty()) {
            Some(value) => Some(Secret::new(value)),
            None => {
                // Names the variable, never a value.
                problems
                    .push(locator.problem(key, format!("environment variable `{env}` is not set")));
                None
            }
        },
    }
}

fn http_header_name_invalid(name: &str) -> bool {
    name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_!#$%&'*+.^`|~".contains(&b))
}
