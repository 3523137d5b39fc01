//! Streaming failover: what the client sees when a deployment fails before any output
//! (nothing: another deployment answers), after output (an error event), or after
//! output with `continue_on_failure` (one unbroken answer), plus idle timeouts.

mod common;

use std::time::Duration;

use common::{TestEnv, deployment, fast_health, provider, routed, spawn_mock, sse_events};
use morn_gateway::Timeouts;
use serde_json::{Value, json};

fn stream_body(model: &str, prompt: &str) -> Value {
    json!({"model": model, "stream": true, "stream_options": {"include_usage": true},
        "messages": [{"role": "user", "content": prompt}]})
}

/// (status, assembled text, saw [DONE], last event's data).
async fn stream(
    env: &TestEnv,
    model: &str,
    prompt: &str,
) -> anyhow::Result<(u16, String, bool, String)> {
    let response = env
        .post("/v1/chat/completions", &stream_body(model, prompt))
        .await?;
    let status = response.status().as_u16();
    let body = response.text().await?;
    let mut text = String::new();
    for (_, data) in sse_events(&body) {
        if let Ok(chunk) = serde_json::from_str::<Value>(&data)
            && let Some(t) = chunk["choices"][0]["delta"]["content"].as_str()
        {
            text.push_str(t);
        }
    }
    let last = sse_events(&body)
        .last()
        .map(|(_, d)| d.clone())
        .unwrap_or_default();
    Ok((status, text, body.contains("data: [DONE]"), last))
}

const PROMPT: &str = r#"Tell me a long story #mock{"words":40}"#;

#[tokio::test]
async fn a_failure_before_output_fails_over_invisibly() -> anyhow::Result<()> {
    let (url, _m) = spawn_mock("127.0.0.1:0").await?;
    let down = provider("down", &url, &[("x-mock-status", "503")])?;
    let cut_early = provider("cut", &url, &[("x-mock-cut-after", "0")])?;
    let good = provider("good", &url, &[])?;
    let specs = [
        routed(
            "m",
            vec![deployment(&down, "gpt", 1000), deployment(&good, "gpt", 1)],
        ),
        routed(
            "c",
            vec![
                deployment(&cut_early, "gpt", 1000),
                deployment(&good, "gpt", 1),
            ],
        ),
        routed("reference", vec![deployment(&good, "gpt", 1)]),
    ];
    let (env, _) = TestEnv::with_routes(&specs, fast_health(Duration::from_secs(60))).await?;
    let (_, reference, _, _) = stream(&env, "reference", PROMPT).await?;
    for model in ["m", "c"] {
        let (status, text, done, _) = stream(&env, model, PROMPT).await?;
        assert_eq!(status, 200, "{model}");
        assert!(done, "{model}: the stream ends cleanly");
        assert_eq!(
            text, reference,
            "{model}: the whole answer, from the healthy deployment"
        );
    }
    Ok(())
}

#[tokio::test]
async fn a_break_after_output_ends_with_an_error_event_by_default() -> anyhow::Result<()> {
    let (url, _m) = spawn_mock("127.0.0.1:0").await?;
    let breaking = provider("breaking", &url, &[("x-mock-cut-after", "6")])?;
    let good = provider("good", &url, &[])?;
    // `good` is a standby (weight 0): only used once `breaking` is out.
    let spec = routed(
        "m",
        vec![deployment(&breaking, "gpt", 1), deployment(&good, "gpt", 0)],
    );
    let (env, _) = TestEnv::with_routes(&[spec], fast_health(Duration::from_secs(60))).await?;
    let (status, text, done, last) = stream(&env, "m", PROMPT).await?;
    assert_eq!(status, 200);
    assert!(
        !text.is_empty(),
        "some output reached the client before the break"
    );
    assert!(!done, "a broken stream never ends with [DONE]");
    let error: Value = serde_json::from_str(&last)?;
    assert_eq!(error["error"]["code"], "stream_interrupted");
    Ok(())
}

#[tokio::test]
async fn continue_on_failure_gives_one_unbroken_answer() -> anyhow::Result<()> {
    let (url, _m) = spawn_mock("127.0.0.1:0").await?;
    let breaking = provider("breaking", &url, &[("x-mock-cut-after", "6")])?;
    let garbling = provider("garbling", &url, &[("x-mock-malformed-after", "8")])?;
    let stalling = provider("stalling", &url, &[("x-mock-chunk-gap-ms", "2000")])?;
    let good = provider("good", &url, &[])?;
    let mut specs = vec![routed("reference", vec![deployment(&good, "gpt", 1)])];
    for (name, bad) in [
        ("cut", &breaking),
        ("malformed", &garbling),
        ("stalled", &stalling),
    ] {
        let mut spec = routed(
            name,
            vec![deployment(bad, "gpt", 1), deployment(&good, "gpt", 0)],
        );
        spec.continue_on_failure = true;
        spec.timeouts = Timeouts {
            idle: Duration::from_millis(300),
            ..Timeouts::default()
        };
        specs.push(spec);
    }
    let (env, _) = TestEnv::with_routes(&specs, fast_health(Duration::from_secs(60))).await?;
    let (_, reference, _, _) = stream(&env, "reference", PROMPT).await?;
    for model in ["cut", "malformed", "stalled"] {
        let (status, text, done, _) = stream(&env, model, PROMPT).await?;
        assert_eq!(status, 200, "{model}");
        assert_eq!(
            text, reference,
            "{model}: partial output + continuation = the unbroken answer"
        );
        assert!(done, "{model}: the continued stream ends cleanly");
    }
    Ok(())
}

#[tokio::test]
async fn an_idle_upstream_ends_the_stream_with_a_timeout_error() -> anyhow::Result<()> {
    let (url, _m) = spawn_mock("127.0.0.1:0").await?;
    let stalling = provider("stalling", &url, &[("x-mock-chunk-gap-ms", "2000")])?;
    let mut spec = routed("m", vec![deployment(&stalling, "gpt", 1)]);
    spec.timeouts = Timeouts {
        idle: Duration::from_millis(300),
        ..Timeouts::default()
    };
    let (env, _) = TestEnv::with_routes(&[spec], fast_health(Duration::from_secs(60))).await?;
    let started = std::time::Instant::now();
    let (status, _, done, last) = stream(&env, "m", PROMPT).await?;
    assert_eq!(status, 200);
    assert!(!done);
    let error: Value = serde_json::from_str(&last)?;
    assert_eq!(error["error"]["code"], "upstream_idle_timeout");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    Ok(())
}
