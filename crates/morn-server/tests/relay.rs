//! OpenAI in, OpenAI out: a non-streamed answer is relayed as the upstream's bytes with
//! only `model` renamed, while other clients get the canonical rendering.

mod common;

use std::time::Duration;

use common::{KEY, TestEnv, deployment, fast_health, provider, routed, spawn_mock};
use serde_json::{Value, json};

#[tokio::test]
async fn openai_answers_are_relayed_under_the_morn_model_name() -> anyhow::Result<()> {
    let (url, _mock) = spawn_mock("127.0.0.1:0").await?;
    let upstream = provider("p", &url, &[])?;
    let mut route = routed("house-model", vec![deployment(&upstream, "gpt-4o-2024", 1)]);
    route.aliases = vec!["fast".into()];
    let (env, _) = TestEnv::with_routes(&[route], fast_health(Duration::from_secs(60))).await?;

    let response = env
        .post(
            "/v1/chat/completions",
            &json!({"model": "fast", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await?;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["x-morn-deployment"], "p/gpt-4o-2024");
    let body: Value = response.json().await?;
    assert_eq!(
        body["model"], "house-model",
        "the Morn model, not the upstream's"
    );
    assert_eq!(body["object"], "chat.completion");
    // Fields the canonical rendering drops show the upstream's own bytes came through.
    assert_eq!(body["system_fingerprint"], "fp_morn_mock");
    assert!(
        body["choices"][0]["message"]["content"].is_string(),
        "{body}"
    );
    let prompt = body["usage"]["prompt_tokens"].as_u64().unwrap_or(0);
    assert!(prompt > 0, "{body}");

    // An Anthropic client of the same route gets the canonical rendering in its shape.
    let response = env
        .http
        .post(format!("{}/v1/messages", env.base))
        .header("x-api-key", KEY)
        .header("anthropic-version", "2023-06-01")
        .json(&json!({"model": "fast", "max_tokens": 32, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await?;
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await?;
    assert_eq!(body["type"], "message");
    assert_eq!(body["model"], "house-model");
    assert_eq!(body["usage"]["input_tokens"].as_u64(), Some(prompt));
    Ok(())
}
