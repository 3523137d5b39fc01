//! Providers and models created through the platform API, checked where they are
//! used: `/v1` of the owning organization's keys routes them (through the vault-held
//! key), other organizations never see them, deletion removes them, and config-file
//! models stay visible to everyone and read-only.

mod common;
mod platform_support;

use std::time::{Duration, Instant};

use common::{KEY, TestEnv, spawn_mock};
use platform_support::{Account, chat, delete, get, patch, post, signup};
use serde_json::{Value, json};

const CONFIG_MODEL: &str = "gpt-4o-mini";

async fn key(env: &TestEnv, who: &Account, ws: &str) -> anyhow::Result<String> {
    let created = post(
        env,
        &format!("/workspaces/{ws}/keys"),
        &who.access,
        json!({"name": "app"}),
    )
    .await?;
    anyhow::ensure!(created.status == 201, "key: {created:?}");
    Ok(created.str("/key"))
}

/// The model ids `/v1/models` lists for `key`.
async fn listed(env: &TestEnv, key: &str) -> anyhow::Result<Vec<String>> {
    let body: Value = env
        .http
        .get(format!("{}/v1/models", env.base))
        .bearer_auth(key)
        .send()
        .await?
        .json()
        .await?;
    Ok(body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["id"].as_str().map(str::to_owned))
        .collect())
}

/// The provider that served a chat, from `x-morn-provider`.
async fn served_by(env: &TestEnv, key: &str, model: &str) -> anyhow::Result<(u16, String)> {
    let response = env
        .http
        .post(format!("{}/v1/chat/completions", env.base))
        .bearer_auth(key)
        .json(&json!({"model": model, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await?;
    let provider = response
        .headers()
        .get("x-morn-provider")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    Ok((response.status().as_u16(), provider))
}

#[tokio::test]
async fn catalog_models_route_for_their_organization_only() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let (sim, _sim_task) = spawn_mock("127.0.0.1:0").await?;
    let alice = signup(&env, "alice@example.com").await?;
    let bob = signup(&env, "bob@example.com").await?;
    let alice_key = key(&env, &alice, &alice.ws).await?;
    let bob_key = key(&env, &bob, &bob.ws).await?;

    let provider = post(
        &env,
        &format!("/orgs/{}/providers", alice.org),
        &alice.access,
        json!({"name": "sim", "kind": "openai", "base_url": format!("{sim}/v1"),
               "api_key": "sk-sim-0123456789"}),
    )
    .await?;
    assert_eq!(provider.status, 201, "{provider:?}");
    let models = format!("/orgs/{}/models", alice.org);
    let model = post(
        &env,
        &models,
        &alice.access,
        json!({"name": "team/gpt", "spec": {"provider": "sim", "upstream_model": CONFIG_MODEL}}),
    )
    .await?;
    assert_eq!(model.status, 201, "{model:?}");

    // Routed at once on this replica (the write refreshes the table), through the
    // catalog provider.
    assert_eq!(
        served_by(&env, &alice_key, "team/gpt").await?,
        (200, "sim".to_owned())
    );
    assert!(
        listed(&env, &alice_key)
            .await?
            .contains(&"team/gpt".to_owned())
    );

    // Another organization, and the master key, neither reach nor see it.
    assert_eq!(
        chat(&env, &bob_key, "team/gpt").await?,
        (404, "model_not_found".to_owned())
    );
    assert!(
        !listed(&env, &bob_key)
            .await?
            .contains(&"team/gpt".to_owned())
    );
    assert!(!listed(&env, KEY).await?.contains(&"team/gpt".to_owned()));

    // Config models stay available to every key, the master key, and this org.
    for key in [&alice_key, &bob_key, &KEY.to_owned()] {
        assert!(listed(&env, key).await?.contains(&CONFIG_MODEL.to_owned()));
        assert_eq!(
            served_by(&env, key, CONFIG_MODEL).await?,
            (200, "mock_openai".to_owned())
        );
    }

    // Deleting the model removes it.
    let id = model.str("/id");
    assert_eq!(
        delete(&env, &format!("{models}/{id}"), &alice.access)
            .await?
            .status,
        204
    );
    assert_eq!(
        chat(&env, &alice_key, "team/gpt").await?,
        (404, "model_not_found".to_owned())
    );
    assert!(
        !listed(&env, &alice_key)
            .await?
            .contains(&"team/gpt".to_owned())
    );
    Ok(())
}

#[tokio::test]
async fn workspace_models_are_for_that_workspace_and_config_models_are_read_only()
-> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let (sim, _sim_task) = spawn_mock("127.0.0.1:0").await?;
    let alice = signup(&env, "alice@example.com").await?;
    let other_ws = post(
        &env,
        &format!("/orgs/{}/workspaces", alice.org),
        &alice.access,
        json!({"name": "Other"}),
    )
    .await?;
    assert_eq!(other_ws.status, 201, "{other_ws:?}");
    let home_key = key(&env, &alice, &alice.ws).await?;
    let other_key = key(&env, &alice, &other_ws.str("/id")).await?;

    // A workspace provider and model: only that workspace's keys route them.
    let created = post(
        &env,
        &format!("/orgs/{}/providers", alice.org),
        &alice.access,
        json!({"name": "sim", "kind": "openai", "base_url": format!("{sim}/v1"),
               "api_key": "sk-sim-0123456789", "workspace_id": alice.ws}),
    )
    .await?;
    assert_eq!(created.status, 201, "{created:?}");
    let models = format!("/orgs/{}/models", alice.org);
    let created = post(
        &env,
        &models,
        &alice.access,
        json!({"name": "home-only", "workspace_id": alice.ws,
               "spec": {"deployments": [{"provider": "sim", "upstream_model": CONFIG_MODEL}]}}),
    )
    .await?;
    assert_eq!(created.status, 201, "{created:?}");
    assert_eq!(
        served_by(&env, &home_key, "home-only").await?,
        (200, "sim".to_owned())
    );
    assert_eq!(
        chat(&env, &other_key, "home-only").await?,
        (404, "model_not_found".to_owned())
    );
    assert!(
        !listed(&env, &other_key)
            .await?
            .contains(&"home-only".to_owned())
    );

    // Config models are listed read-only, cannot be changed, and keep their names.
    let list = get(&env, &models, &alice.access).await?;
    let config = list.body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["name"] == CONFIG_MODEL)
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(config["source"], "config", "{list:?}");
    assert_eq!(config["read_only"], true);
    let id = config["id"].as_str().unwrap_or_default();
    let change = patch(
        &env,
        &format!("{models}/{id}"),
        &alice.access,
        json!({"spec": {"provider": "sim"}}),
    )
    .await?;
    assert_eq!((change.status, change.code()), (409, "conflict"));
    let removal = delete(&env, &format!("{models}/{id}"), &alice.access).await?;
    assert_eq!((removal.status, removal.code()), (409, "conflict"));
    let taken = post(
        &env,
        &models,
        &alice.access,
        json!({"name": CONFIG_MODEL, "spec": {"provider": "sim"}}),
    )
    .await?;
    assert_eq!((taken.status, taken.code()), (409, "conflict"));

    // A malformed spec is refused up front.
    let bad = post(
        &env,
        &models,
        &alice.access,
        json!({"name": "bad", "spec": {"deployments": "sim"}}),
    )
    .await?;
    assert_eq!((bad.status, bad.code()), (400, "invalid_value"));
    Ok(())
}

#[tokio::test]
async fn a_model_whose_provider_is_unreachable_fails_cleanly_and_recovers() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let alice = signup(&env, "alice@example.com").await?;
    let alice_key = key(&env, &alice, &alice.ws).await?;
    let providers = format!("/orgs/{}/providers", alice.org);
    let created = post(
        &env,
        &providers,
        &alice.access,
        json!({"name": "later", "kind": "openai", "base_url": "http://127.0.0.1:9/v1",
               "api_key": "sk-sim-0123456789"}),
    )
    .await?;
    assert_eq!(created.status, 201, "{created:?}");
    let provider_id = created.str("/id");
    let created = post(
        &env,
        &format!("/orgs/{}/models", alice.org),
        &alice.access,
        json!({"name": "m", "spec": {"provider": "later", "upstream_model": CONFIG_MODEL}}),
    )
    .await?;
    assert_eq!(created.status, 201, "{created:?}");
    let (status, _) = chat(&env, &alice_key, "m").await?;
    assert!(
        status >= 500,
        "an unreachable upstream is a gateway error: {status}"
    );

    // Pointing the provider at a live upstream fixes the model at once.
    let (sim, _sim_task) = spawn_mock("127.0.0.1:0").await?;
    let moved = patch(
        &env,
        &format!("{providers}/{provider_id}"),
        &alice.access,
        json!({"base_url": format!("{sim}/v1")}),
    )
    .await?;
    assert_eq!(moved.status, 200, "{moved:?}");
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let answer = chat(&env, &alice_key, "m").await?;
        if answer.0 == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the model never recovered: {answer:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}
