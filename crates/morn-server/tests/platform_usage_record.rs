//! One request's usage record through the platform API, looked up by the id its
//! answer carried: tokens, cost and who made it, for the workspace's members only.

mod common;
mod platform_support;

use std::time::{Duration, Instant};

use common::TestEnv;
use platform_support::{Account, Reply, get, post, signup};
use serde_json::{Value, json};

/// A workspace API key of `who`: the secret and its id.
async fn key(env: &TestEnv, who: &Account) -> anyhow::Result<(String, String)> {
    let created = post(
        env,
        &format!("/workspaces/{}/keys", who.ws),
        &who.access,
        json!({"name": "shop"}),
    )
    .await?;
    anyhow::ensure!(created.status == 201, "{created:?}");
    Ok((created.str("/key"), created.str("/id")))
}

/// A chat completion with `key`; returns the answer's headers.
async fn chat(
    env: &TestEnv,
    key: &str,
    stream: bool,
    caller_id: Option<&str>,
) -> anyhow::Result<reqwest::header::HeaderMap> {
    let mut request = env
        .http
        .post(format!("{}/v1/chat/completions", env.base))
        .bearer_auth(key)
        .json(&json!({
            "model": "gpt-4o-mini",
            "stream": stream,
            "messages": [{"role": "user", "content": "Name two moons of Jupiter."}],
        }));
    if let Some(id) = caller_id {
        request = request.header("x-request-id", id);
    }
    let response = request.send().await?;
    anyhow::ensure!(response.status() == 200, "chat: {}", response.status());
    let headers = response.headers().clone();
    response.text().await?;
    Ok(headers)
}

fn header(headers: &reqwest::header::HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// The record of `id` once the ledger has stored it (it stores in batches).
async fn stored(env: &TestEnv, who: &Account, id: &str) -> anyhow::Result<Reply> {
    let path = format!("/workspaces/{}/usage/records/{id}", who.ws);
    let started = Instant::now();
    loop {
        let reply = get(env, &path, &who.access).await?;
        if reply.status != 404 || started.elapsed() > Duration::from_secs(10) {
            return Ok(reply);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_request_is_found_by_its_id_with_its_tokens_and_cost() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let alice = signup(&env, "alice@example.com").await?;
    let (secret, key_id) = key(&env, &alice).await?;

    let id = header(&chat(&env, &secret, false, None).await?, "x-request-id");
    let reply = stored(&env, &alice, &id).await?;
    assert_eq!(reply.status, 200, "{reply:?}");
    let r = &reply.body;
    assert_eq!(r["object"], "usage_record");
    assert_eq!(r["request_id"], id.as_str());
    assert_eq!(r["workspace_id"], alice.ws.as_str());
    assert_eq!(r["org_id"], alice.org.as_str());
    assert_eq!(r["key_id"], key_id.as_str());
    assert_eq!(r["endpoint"], "chat");
    assert_eq!(r["model"], "gpt-4o-mini");
    assert_eq!(r["status"], 200);
    assert_eq!(r["stream"], false);
    assert_eq!(r["error_class"], Value::Null);
    assert!(r["input_tokens"].as_i64() > Some(0), "{r}");
    assert!(r["output_tokens"].as_i64() > Some(0), "{r}");
    let micros = r["cost_micros"].as_i64().unwrap_or_default();
    assert!(micros > 0, "{r}");
    let usd = format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000);
    assert_eq!(r["cost_usd"], usd.as_str());

    // A caller that names its requests gets Morn's id in `x-morn-request-id`; the
    // record keeps the caller's id beside it.
    let headers = chat(&env, &secret, true, Some("order-42")).await?;
    assert_eq!(header(&headers, "x-request-id"), "order-42");
    let morn_id = header(&headers, "x-morn-request-id");
    let reply = stored(&env, &alice, &morn_id).await?;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body["client_request_id"], "order-42");
    assert_eq!(reply.body["stream"], true);
    assert!(reply.body["ttft_ms"].is_i64(), "{}", reply.body);
    Ok(())
}

#[tokio::test]
async fn another_workspace_cannot_see_a_record() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let alice = signup(&env, "alice@example.com").await?;
    let bob = signup(&env, "bob@example.com").await?;
    let (secret, _) = key(&env, &alice).await?;
    let id = header(&chat(&env, &secret, false, None).await?, "x-request-id");
    assert_eq!(stored(&env, &alice, &id).await?.status, 200);

    let cases = [
        // Bob, in his own workspace: as if it did not exist.
        (&bob, bob.ws.as_str(), id.as_str()),
        // Bob, naming Alice's workspace: not his to read.
        (&bob, alice.ws.as_str(), id.as_str()),
        // No such request.
        (&alice, alice.ws.as_str(), "01a2-none"),
    ];
    for (who, ws, id) in cases {
        let path = format!("/workspaces/{ws}/usage/records/{id}");
        let reply = get(&env, &path, &who.access).await?;
        assert_eq!(
            (reply.status, reply.code()),
            (404, "not_found"),
            "{path}: {reply:?}"
        );
    }
    Ok(())
}
