//! Balancing strategies, aliases and wildcards, hot reload with requests in flight,
//! and the deployment health endpoint.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{KEY, TestEnv, deployment, fast_health, provider, routed, spawn_mock};
use morn_gateway::routing::Strategy;
use morn_gateway::{DeploymentSpec, Gateway};
use serde_json::{Value, json};

async fn served_by(env: &TestEnv, model: &str, prompt: &str) -> anyhow::Result<(u16, String)> {
    let response = env
        .post(
            "/v1/chat/completions",
            &json!({"model": model, "messages": [{"role": "user", "content": prompt}]}),
        )
        .await?;
    let deployment = response
        .headers()
        .get("x-morn-deployment")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    Ok((response.status().as_u16(), deployment))
}

async fn tally(env: &TestEnv, model: &str, n: usize) -> anyhow::Result<HashMap<String, usize>> {
    let mut counts = HashMap::new();
    for i in 0..n {
        let (status, deployment) = served_by(env, model, &format!("q{i}")).await?;
        assert_eq!(status, 200);
        *counts.entry(deployment).or_insert(0) += 1;
    }
    Ok(counts)
}

#[tokio::test]
async fn weighted_random_follows_the_weights() -> anyhow::Result<()> {
    let (url, _m) = spawn_mock("127.0.0.1:0").await?;
    let a = provider("a", &url, &[])?;
    let b = provider("b", &url, &[])?;
    let spec = routed(
        "m",
        vec![deployment(&a, "gpt", 3), deployment(&b, "gpt", 1)],
    );
    let (env, _) = TestEnv::with_routes(&[spec], fast_health(Duration::from_secs(60))).await?;
    let counts = tally(&env, "m", 400).await?;
    let share = counts.get("a/gpt").copied().unwrap_or(0) as f64 / 400.0;
    assert!(
        (0.67..=0.83).contains(&share),
        "a should get ~75%, got {share} ({counts:?})"
    );
    Ok(())
}

#[tokio::test]
async fn latency_aware_prefers_the_fast_deployment() -> anyhow::Result<()> {
    let (url, _m) = spawn_mock("127.0.0.1:0").await?;
    let slow = provider("slow", &url, &[("x-mock-ttfb-ms", "40")])?;
    let fast = provider("fast", &url, &[])?;
    let mut spec = routed(
        "m",
        vec![deployment(&slow, "gpt", 1), deployment(&fast, "gpt", 1)],
    );
    spec.strategy = Strategy::LatencyAware;
    let (env, _) = TestEnv::with_routes(&[spec], fast_health(Duration::from_secs(60))).await?;
    let counts = tally(&env, "m", 60).await?;
    let fast_share = counts.get("fast/gpt").copied().unwrap_or(0) as f64 / 60.0;
    assert!(
        fast_share >= 0.7,
        "the fast deployment takes most traffic: {counts:?}"
    );
    Ok(())
}

#[tokio::test]
async fn cheapest_healthy_wins_until_it_fails() -> anyhow::Result<()> {
    let (url, _m) = spawn_mock("127.0.0.1:0").await?;
    let cheap = provider("cheap", &url, &[])?;
    let dear = provider("dear", &url, &[])?;
    let broken_cheap = provider("cheapbroken", &url, &[("x-mock-status", "500")])?;
    let with_cost = |d: DeploymentSpec, cost| DeploymentSpec {
        cost: Some(cost),
        ..d
    };
    let mut m = routed(
        "m",
        vec![
            with_cost(deployment(&dear, "gpt", 1), 10),
            with_cost(deployment(&cheap, "gpt", 1), 5),
        ],
    );
    m.strategy = Strategy::Cheapest;
    let mut n = routed(
        "n",
        vec![
            with_cost(deployment(&dear, "gpt", 1), 10),
            with_cost(deployment(&broken_cheap, "gpt", 1), 5),
        ],
    );
    n.strategy = Strategy::Cheapest;
    let (env, _) = TestEnv::with_routes(&[m, n], fast_health(Duration::from_secs(60))).await?;
    assert_eq!(tally(&env, "m", 10).await?.get("cheap/gpt"), Some(&10));
    assert_eq!(
        tally(&env, "n", 10).await?.get("dear/gpt"),
        Some(&10),
        "the cheap one is broken: the dear one serves"
    );
    Ok(())
}

#[tokio::test]
async fn least_outstanding_spreads_concurrent_requests() -> anyhow::Result<()> {
    let (url, _m) = spawn_mock("127.0.0.1:0").await?;
    let a = provider("a", &url, &[("x-mock-ttfb-ms", "200")])?;
    let b = provider("b", &url, &[("x-mock-ttfb-ms", "200")])?;
    // Weights 9:1 would send nearly everything to A; least-outstanding evens it out.
    let mut spec = routed(
        "m",
        vec![deployment(&a, "gpt", 9), deployment(&b, "gpt", 1)],
    );
    spec.strategy = Strategy::LeastOutstanding;
    let (env, _) = TestEnv::with_routes(&[spec], fast_health(Duration::from_secs(60))).await?;
    let env = std::sync::Arc::new(env);
    let mut tasks = Vec::new();
    for i in 0..10 {
        let env = env.clone();
        tasks.push(tokio::spawn(async move {
            served_by(&env, "m", &format!("c{i}")).await
        }));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut on_b = 0;
    for task in tasks {
        let (status, deployment) = task.await??;
        assert_eq!(status, 200);
        on_b += usize::from(deployment == "b/gpt");
    }
    assert!(
        (3..=7).contains(&on_b),
        "concurrent requests spread evenly, b served {on_b}/10"
    );
    Ok(())
}

#[tokio::test]
async fn aliases_and_wildcards_resolve() -> anyhow::Result<()> {
    let (url, _m) = spawn_mock("127.0.0.1:0").await?;
    let p = provider("p", &url, &[])?;
    let mut named = routed("gpt-4o", vec![deployment(&p, "gpt-4o-2024", 1)]);
    named.aliases = vec!["fast".into()];
    let wildcard = routed("p/*", vec![deployment(&p, "ignored", 1)]);
    let (env, _) =
        TestEnv::with_routes(&[named, wildcard], fast_health(Duration::from_secs(60))).await?;
    assert_eq!(
        served_by(&env, "fast", "hi").await?,
        (200, "p/gpt-4o-2024".to_owned())
    );
    assert_eq!(
        served_by(&env, "p/any-model-7b", "hi").await?,
        (200, "p/any-model-7b".to_owned())
    );
    assert_eq!(served_by(&env, "q/any-model", "hi").await?.0, 404);
    let models: Value = env
        .http
        .get(format!("{}/v1/models", env.base))
        .bearer_auth(KEY)
        .send()
        .await?
        .json()
        .await?;
    let ids: Vec<&str> = models["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["id"].as_str())
        .collect();
    assert_eq!(
        ids,
        vec!["gpt-4o", "fast"],
        "aliases are listed; wildcards are not models"
    );
    Ok(())
}

#[tokio::test]
async fn hot_reload_keeps_in_flight_streams_and_health() -> anyhow::Result<()> {
    let (url, _m) = spawn_mock("127.0.0.1:0").await?;
    let p = provider("p", &url, &[])?;
    let down = provider("down", &url, &[("x-mock-status", "500")])?;
    let old = [
        routed("old", vec![deployment(&p, "gpt", 1)]),
        routed("flaky", vec![deployment(&down, "gpt", 1)]),
    ];
    let (env, gateway): (TestEnv, std::sync::Arc<Gateway>) =
        TestEnv::with_routes(&old, fast_health(Duration::from_secs(60))).await?;
    for _ in 0..3 {
        served_by(&env, "flaky", "x").await?;
    }
    let slow = json!({"model": "old", "stream": true, "messages": [{"role": "user", "content": r#"slow #mock{"chunks":8,"chunk_gap_ms":100}"#}]});
    let response = env.post("/v1/chat/completions", &slow).await?;
    assert_eq!(response.status(), 200);

    gateway.reload(&[
        routed("new", vec![deployment(&p, "gpt", 1)]),
        routed("flaky", vec![deployment(&down, "gpt", 1)]),
    ]);
    let body = response.text().await?;
    assert!(
        body.trim_end().ends_with("data: [DONE]"),
        "the in-flight stream finished on the old table"
    );
    assert_eq!(
        served_by(&env, "old", "x").await?.0,
        404,
        "removed models are gone"
    );
    assert_eq!(
        served_by(&env, "new", "x").await?.0,
        200,
        "added models serve at once"
    );
    let health: Value = env
        .http
        .get(format!("{}/api/v1/admin/deployments", env.base))
        .bearer_auth(KEY)
        .send()
        .await?
        .json()
        .await?;
    let flaky = health["data"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|d| d["deployment"] == "down/gpt")
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        flaky["state"], "open",
        "what was learnt about a deployment survives the reload"
    );
    Ok(())
}

#[tokio::test]
async fn the_health_endpoint_needs_the_key() -> anyhow::Result<()> {
    let (url, _m) = spawn_mock("127.0.0.1:0").await?;
    let p = provider("p", &url, &[])?;
    let (env, _) = TestEnv::with_routes(
        &[routed("m", vec![deployment(&p, "gpt", 1)])],
        fast_health(Duration::from_secs(1)),
    )
    .await?;
    let anonymous = env
        .http
        .get(format!("{}/api/v1/admin/deployments", env.base))
        .send()
        .await?;
    assert_eq!(anonymous.status(), 401);
    let listed: Value = env
        .http
        .get(format!("{}/api/v1/admin/deployments", env.base))
        .bearer_auth(KEY)
        .send()
        .await?
        .json()
        .await?;
    let first = &listed["data"][0];
    assert_eq!(
        (
            first["model"].as_str(),
            first["deployment"].as_str(),
            first["state"].as_str()
        ),
        (Some("m"), Some("p/gpt"), Some("closed"))
    );
    assert!(first["ewma_latency_ms"].is_number() && first["error_rate"].is_number());
    Ok(())
}
