//! Catalog records as routes: the JSON a model's `spec` holds, and the turning of
//! provider and model records into [`RouteSpec`]s.
//!
//! The `spec` mirrors a `[[models]]` entry of the config file, so one vocabulary serves
//! both: `provider` + `upstream_model` (one deployment) or `deployments`, `aliases`,
//! `strategy`, `retry`, `timeouts` (`ttfb_secs`, `idle_secs`, `total_secs`), `fallbacks`
//! and `continue_on_failure`. What the config takes from `[routing]` defaults comes from
//! the gateway's defaults here.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use morn_gateway::routing::{RetryPolicy, Strategy};
use morn_gateway::{DeploymentSpec, Fallbacks, RouteSpec, Timeouts};
use morn_providers::Provider;
use serde::Deserialize;

/// A model record's `spec`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelSpec {
    aliases: Vec<String>,
    /// Shorthand for one deployment: a provider name.
    provider: Option<String>,
    /// With `provider`: the model's name there; defaults to the model's name.
    upstream_model: Option<String>,
    deployments: Vec<DeploymentJson>,
    strategy: Option<Strategy>,
    retry: Option<RetryPolicy>,
    timeouts: TimeoutsJson,
    fallbacks: FallbacksJson,
    continue_on_failure: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeploymentJson {
    provider: String,
    #[serde(default)]
    upstream_model: Option<String>,
    #[serde(default = "one")]
    weight: u32,
    #[serde(default)]
    rpm: Option<u32>,
    #[serde(default)]
    tpm: Option<u64>,
    #[serde(default)]
    context_window: Option<u64>,
    /// Per million input tokens, in micro-units (ranks `cheapest`).
    #[serde(default)]
    input_price: Option<u64>,
    #[serde(default)]
    output_price: Option<u64>,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct TimeoutsJson {
    ttfb_secs: Option<f64>,
    idle_secs: Option<f64>,
    total_secs: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct FallbacksJson {
    rate_limited: Vec<String>,
    unavailable: Vec<String>,
    context_window: Vec<String>,
    content_policy: Vec<String>,
}

impl ModelSpec {
    /// Parses and checks what can be checked without the providers: the shape, and
    /// timeouts that are positive numbers. The message is safe to show the caller.
    pub fn parse(spec: &serde_json::Value) -> Result<Self, String> {
        let parsed = Self::deserialize(spec).map_err(|e| format!("Invalid model spec: {e}."))?;
        parsed.timeouts()?;
        if parsed.provider.is_some() && !parsed.deployments.is_empty() {
            return Err("Give either `provider` or `deployments`, not both.".to_owned());
        }
        Ok(parsed)
    }

    fn timeouts(&self) -> Result<Timeouts, String> {
        let default = Timeouts::default();
        let secs = |value: Option<f64>, fallback: Duration, name: &str| match value {
            None => Ok(fallback),
            Some(s) if s > 0.0 => Duration::try_from_secs_f64(s)
                .map_err(|_| format!("`timeouts.{name}` is out of range.")),
            Some(_) => Err(format!("`timeouts.{name}` must be above 0.")),
        };
        Ok(Timeouts {
            ttfb: secs(self.timeouts.ttfb_secs, default.ttfb, "ttfb_secs")?,
            idle: secs(self.timeouts.idle_secs, default.idle, "idle_secs")?,
            total: secs(self.timeouts.total_secs, default.total, "total_secs")?,
        })
    }

    /// The route for model `name`, its providers looked up in `providers`. Fails (with
    /// a message for the log) when a provider is missing or nothing is left to route to.
    pub fn route(
        self,
        name: &str,
        providers: &HashMap<String, Arc<Provider>>,
    ) -> Result<RouteSpec, String> {
        let timeouts = self.timeouts()?;
        let mut deployments = Vec::new();
        if let Some(provider) = &self.provider {
            deployments.push(DeploymentJson {
                provider: provider.clone(),
                upstream_model: self.upstream_model.clone(),
                weight: 1,
                rpm: None,
                tpm: None,
                context_window: None,
                input_price: None,
                output_price: None,
            });
        }
        deployments.extend(self.deployments);
        let deployments = deployments
            .into_iter()
            .map(|d| {
                let provider = providers
                    .get(&d.provider)
                    .ok_or_else(|| format!("unknown provider `{}`", d.provider))?;
                Ok(DeploymentSpec {
                    provider: provider.clone(),
                    upstream_model: d.upstream_model.unwrap_or_else(|| name.to_owned()),
                    weight: d.weight,
                    rpm: d.rpm,
                    tpm: d.tpm,
                    context_window: d.context_window,
                    cost: match (d.input_price, d.output_price) {
                        (None, None) => None,
                        (a, b) => Some(a.unwrap_or(0).saturating_add(b.unwrap_or(0))),
                    },
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        if deployments.iter().all(|d| d.weight == 0) {
            return Err("no deployment with a weight above 0".to_owned());
        }
        Ok(RouteSpec {
            name: name.to_owned(),
            aliases: self.aliases,
            deployments,
            strategy: self.strategy.unwrap_or_default(),
            fallbacks: Fallbacks {
                rate_limited: self.fallbacks.rate_limited,
                unavailable: self.fallbacks.unavailable,
                context_window: self.fallbacks.context_window,
                content_policy: self.fallbacks.content_policy,
            },
            retry: self.retry.unwrap_or_default(),
            timeouts,
            continue_on_failure: self.continue_on_failure,
        })
    }
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests")]

    use super::*;
    use serde_json::json;

    fn providers() -> HashMap<String, Arc<Provider>> {
        morn_providers::install_crypto_provider();
        let provider = Provider::new(morn_providers::ProviderSettings {
            name: "sim".into(),
            kind: morn_providers::ProviderKind::OpenAi,
            base_url: "http://127.0.0.1:9/v1".into(),
            api_key: None,
            headers: Vec::new(),
            connect_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(1),
        })
        .unwrap();
        HashMap::from([("sim".to_owned(), Arc::new(provider))])
    }

    #[test]
    fn shorthand_and_deployments() {
        let spec = ModelSpec::parse(&json!({"provider": "sim", "aliases": ["g"]})).unwrap();
        let route = spec.route("team/gpt", &providers()).unwrap();
        assert_eq!(route.deployments[0].upstream_model, "team/gpt");
        assert_eq!(route.aliases, ["g"]);

        let spec = json!({
            "deployments": [{"provider": "sim", "upstream_model": "gpt-4o", "weight": 3,
                             "input_price": 2, "output_price": 5}],
            "strategy": "cheapest",
            "timeouts": {"total_secs": 1.5},
            "fallbacks": {"unavailable": ["other"]},
        });
        let route = ModelSpec::parse(&spec)
            .unwrap()
            .route("m", &providers())
            .unwrap();
        let d = &route.deployments[0];
        assert_eq!(
            (d.upstream_model.as_str(), d.weight, d.cost),
            ("gpt-4o", 3, Some(7))
        );
        assert_eq!(route.strategy, Strategy::Cheapest);
        assert_eq!(route.timeouts.total, Duration::from_millis(1500));
        assert_eq!(route.fallbacks.unavailable, ["other"]);
    }

    #[test]
    fn rejects_bad_specs() {
        for bad in [
            json!({"deployment": []}),
            json!({"timeouts": {"ttfb_secs": 0}}),
            json!({"timeouts": {"idle_secs": -1}}),
            json!({"strategy": "fastest"}),
            json!({"provider": "a", "deployments": [{"provider": "b"}]}),
        ] {
            assert!(ModelSpec::parse(&bad).is_err(), "{bad}");
        }
        // Accepted at write time, but nothing to route to: skipped when building.
        let empty = ModelSpec::parse(&json!({})).unwrap();
        assert!(empty.route("m", &providers()).is_err());
        let unknown = ModelSpec::parse(&json!({"provider": "nope"})).unwrap();
        assert!(unknown.route("m", &providers()).is_err());
    }
}
