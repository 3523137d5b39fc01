//! Checking and resolving `[[models]]` and `[routing]`: deployments, strategies,
//! fallbacks, timeouts and circuit-breaker settings.

use std::collections::HashSet;
use std::time::Duration;

use morn_gateway::routing::{HealthConfig, RetryPolicy, Strategy};
use morn_gateway::{Fallbacks, Timeouts};

use super::load::{Locator, Problem};
use super::schema::{Config, HealthSettings, ModelConfig, TimeoutConfig};

/// A model as the gateway will route it; providers still by name.
#[derive(Debug, Clone)]
pub struct ModelSettings {
    pub name: String,
    pub aliases: Vec<String>,
    pub deployments: Vec<DeploymentSettings>,
    pub strategy: Strategy,
    pub retry: RetryPolicy,
    pub timeouts: Timeouts,
    pub fallbacks: Fallbacks,
    pub continue_on_failure: bool,
}

#[derive(Debug, Clone)]
pub struct DeploymentSettings {
    pub provider: String,
    pub upstream_model: String,
    pub weight: u32,
    pub rpm: Option<u32>,
    pub tpm: Option<u64>,
    pub context_window: Option<u64>,
    pub cost: Option<u64>,
}

pub fn resolve_models(
    config: &Config,
    locator: &Locator,
    problems: &mut Vec<Problem>,
) -> Vec<ModelSettings> {
    let mut names = HashSet::new();
    for (i, m) in config.models.iter().enumerate() {
        for (j, name) in std::iter::once(&m.name).chain(&m.aliases).enumerate() {
            let key = if j == 0 {
                format!("models[{i}].name")
            } else {
                format!("models[{i}].aliases")
            };
            if name.trim().is_empty() {
                problems.push(locator.problem(key, "must not be empty"));
            } else if !names.insert(name.clone()) {
                problems.push(locator.problem(key, format!("model name `{name}` is used twice")));
            } else if name.contains('*')
                && !(j == 0 && name.ends_with("/*") && name.matches('*').count() == 1)
            {
                problems.push(locator.problem(
                    key,
                    "a wildcard must be a prefix ending in `/*`, like `openai/*`",
                ));
            }
        }
    }
    let wildcards: Vec<&str> = config
        .models
        .iter()
        .filter_map(|m| m.name.strip_suffix('*'))
        .collect();
    let known = |name: &str| {
        names.contains(name)
            || wildcards
                .iter()
                .any(|p| name.starts_with(p) && name.len() > p.len())
    };
    config
        .models
        .iter()
        .enumerate()
        .map(|(i, m)| resolve_model(config, m, i, locator, problems, &known))
        .collect()
}

fn resolve_model(
    config: &Config,
    m: &ModelConfig,
    i: usize,
    locator: &Locator,
    problems: &mut Vec<Problem>,
    known: &dyn Fn(&str) -> bool,
) -> ModelSettings {
    let key = format!("models[{i}]");
    let mut deployments = Vec::new();
    match (&m.provider, m.deployments.is_empty()) {
        (Some(_), false) => problems.push(locator.problem(
            format!("{key}.provider"),
            "give either `provider` (one deployment) or `[[models.deployments]]`, not both",
        )),
        (None, true) => problems.push(locator.problem(
            key.clone(),
            "needs a `provider` or at least one `[[models.deployments]]`",
        )),
        _ => {}
    }
    if let Some(provider) = &m.provider {
        deployments.push(DeploymentSettings {
            provider: provider.clone(),
            upstream_model: m.upstream_model.clone().unwrap_or_else(|| m.name.clone()),
            weight: 1,
            rpm: None,
            tpm: None,
            context_window: None,
            cost: None,
        });
        check_provider(
            config,
            provider,
            &format!("{key}.provider"),
            locator,
            problems,
        );
    }
    for (j, d) in m.deployments.iter().enumerate() {
        check_provider(
            config,
            &d.provider,
            &format!("{key}.deployments[{j}].provider"),
            locator,
            problems,
        );
        deployments.push(DeploymentSettings {
            provider: d.provider.clone(),
            upstream_model: d.upstream_model.clone().unwrap_or_else(|| m.name.clone()),
            weight: d.weight,
            rpm: d.rpm,
            tpm: d.tpm,
            context_window: d.context_window,
            cost: match (d.input_price, d.output_price) {
                (None, None) => None,
                (a, b) => Some(a.unwrap_or(0).saturating_add(b.unwrap_or(0))),
            },
        });
    }
    if !deployments.is_empty() && deployments.iter().all(|d| d.weight == 0) {
        problems.push(locator.problem(
            format!("{key}.deployments"),
            "at least one deployment needs a weight above 0",
        ));
    }
    let fallbacks = Fallbacks {
        rate_limited: m.fallbacks.rate_limited.clone(),
        unavailable: m.fallbacks.unavailable.clone(),
        context_window: m.fallbacks.context_window.clone(),
        content_policy: m.fallbacks.content_policy.clone(),
    };
    for (class, list) in [
        ("rate_limited", &fallbacks.rate_limited),
        ("unavailable", &fallbacks.unavailable),
        ("context_window", &fallbacks.context_window),
        ("content_policy", &fallbacks.content_policy),
    ] {
        for name in list {
            if !known(name) {
                problems.push(locator.problem(
                    format!("{key}.fallbacks.{class}"),
                    format!("no model named `{name}`"),
                ));
            } else if *name == m.name {
                problems.push(locator.problem(
                    format!("{key}.fallbacks.{class}"),
                    "a model cannot fall back to itself",
                ));
            }
        }
    }
    let timeouts = timeouts(
        &m.timeouts,
        &config.routing.timeouts,
        &format!("{key}.timeouts"),
        locator,
        problems,
    );
    let retry = m
        .retry
        .clone()
        .unwrap_or_else(|| config.routing.retry.clone());
    if retry.max_attempts == 0 {
        problems.push(locator.problem(format!("{key}.retry.max_attempts"), "must be at least 1"));
    }
    ModelSettings {
        name: m.name.clone(),
        aliases: m.aliases.clone(),
        deployments,
        strategy: m.strategy.unwrap_or(config.routing.strategy),
        retry,
        timeouts,
        fallbacks,
        continue_on_failure: m.continue_on_failure,
    }
}

fn check_provider(
    config: &Config,
    provider: &str,
    key: &str,
    locator: &Locator,
    problems: &mut Vec<Problem>,
) {
    if !config.providers.contains_key(provider) {
        problems.push(locator.problem(
            key,
            format!("no provider named `{provider}` in [providers]"),
        ));
    }
}

fn timeouts(
    model: &TimeoutConfig,
    defaults: &TimeoutConfig,
    key: &str,
    locator: &Locator,
    problems: &mut Vec<Problem>,
) -> Timeouts {
    let built_in = Timeouts::default();
    let mut pick =
        |own: Option<f64>, default: Option<f64>, fallback: Duration, field: &str| match own
            .or(default)
        {
            Some(secs) if secs.is_finite() && secs > 0.0 => Duration::from_secs_f64(secs),
            Some(_) => {
                problems.push(locator.problem(
                    format!("{key}.{field}"),
                    "must be a positive number of seconds",
                ));
                fallback
            }
            None => fallback,
        };
    Timeouts {
        ttfb: pick(
            model.ttfb_secs,
            defaults.ttfb_secs,
            built_in.ttfb,
            "ttfb_secs",
        ),
        idle: pick(
            model.idle_secs,
            defaults.idle_secs,
            built_in.idle,
            "idle_secs",
        ),
        total: pick(
            model.total_secs,
            defaults.total_secs,
            built_in.total,
            "total_secs",
        ),
    }
}

pub fn health_config(
    h: &HealthSettings,
    locator: &Locator,
    problems: &mut Vec<Problem>,
) -> HealthConfig {
    if !(0.0..=1.0).contains(&h.error_rate) || h.error_rate == 0.0 {
        problems.push(locator.problem("routing.health.error_rate", "must be in (0, 1]"));
    }
    if h.consecutive_failures == 0 {
        problems.push(locator.problem("routing.health.consecutive_failures", "must be at least 1"));
    }
    let secs = |v: f64| Duration::from_secs_f64(if v.is_finite() && v > 0.0 { v } else { 1.0 });
    if h.cooldown_secs <= 0.0 || h.max_cooldown_secs < h.cooldown_secs {
        problems.push(locator.problem(
            "routing.health.cooldown_secs",
            "must be positive and at most max_cooldown_secs",
        ));
    }
    HealthConfig {
        enabled: h.enabled,
        consecutive_failures: h.consecutive_failures.max(1),
        error_rate: h.error_rate,
        min_requests: h.min_requests,
        window: Duration::from_secs(h.window_secs.max(1)),
        cooldown: secs(h.cooldown_secs),
        max_cooldown: secs(h.max_cooldown_secs),
    }
}
