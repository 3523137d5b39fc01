//! Every error a caller can get, in its own protocol: upstream failures of each status
//! through each adapter, Morn's own rejections, and streams that break mid-answer.

mod common;

use std::time::Duration;

use common::{CHAT_MODELS, KEY, TestEnv, sse_events};
use serde_json::{Value, json};

const STATUSES: [u16; 12] = [400, 401, 403, 404, 408, 413, 422, 429, 500, 502, 503, 504];

fn openai_chat(model: &str, prompt: &str, stream: bool) -> Value {
    json!({"model": model, "stream": stream, "messages": [{"role": "user", "content": prompt}]})
}

fn anthropic_chat(model: &str, prompt: &str, stream: bool) -> Value {
    json!({"model": model, "max_tokens": 50, "stream": stream, "messages": [{"role": "user", "content": prompt}]})
}

fn snapshot(name: &str, value: &Value) {
    insta::with_settings!({prepend_module_to_snapshot => false, omit_expression => true}, {
        insta::assert_json_snapshot!(name, value);
    });
}

/// The OpenAI `type` a status maps to, and the Anthropic one.
fn expected_types(status: u16) -> (&'static str, &'static str) {
    match status {
        400 | 404 | 413 | 422 => (
            "invalid_request_error",
            match status {
                404 => "not_found_error",
                413 => "request_too_large",
                _ => "invalid_request_error",
            },
        ),
        401 => ("invalid_request_error", "authentication_error"),
        403 => ("permission_error", "permission_error"),
        408 | 504 => ("timeout_error", "timeout_error"),
        429 => ("rate_limit_error", "rate_limit_error"),
        503 => ("server_error", "overloaded_error"),
        _ => ("server_error", "api_error"),
    }
}

#[tokio::test]
async fn upstream_statuses_reach_every_caller_in_its_own_shape() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    for (upstream, model) in CHAT_MODELS {
        for status in STATUSES {
            let prompt = format!(r#"fail #mock{{"status":{status},"retry_after":7}}"#);
            let (openai_type, anthropic_type) = expected_types(status);
            for stream in [false, true] {
                let r = env
                    .post("/v1/chat/completions", &openai_chat(model, &prompt, stream))
                    .await?;
                assert_eq!(
                    r.status().as_u16(),
                    status,
                    "openai ← {upstream} {status} stream={stream}"
                );
                let retry = r
                    .headers()
                    .get("retry-after")
                    .map(|v| v.to_str().unwrap_or("").to_owned());
                let body: Value = r.json().await?;
                assert_eq!(
                    body["error"]["type"], openai_type,
                    "openai ← {upstream} {status}: {body}"
                );
                assert!(
                    body["error"]["code"].is_string() && body["error"]["message"].is_string(),
                    "{body}"
                );
                if status == 429 || status == 503 {
                    assert_eq!(
                        retry.as_deref(),
                        Some("7"),
                        "Retry-After carried over from {upstream} {status}"
                    );
                }

                let r = env
                    .post("/v1/messages", &anthropic_chat(model, &prompt, stream))
                    .await?;
                assert_eq!(
                    r.status().as_u16(),
                    status,
                    "anthropic ← {upstream} {status} stream={stream}"
                );
                let body: Value = r.json().await?;
                assert_eq!(body["type"], "error", "{body}");
                assert_eq!(
                    body["error"]["type"], anthropic_type,
                    "anthropic ← {upstream} {status}: {body}"
                );
            }
        }
    }
    Ok(())
}

#[tokio::test]
async fn error_shapes_are_stable() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let mut shapes = serde_json::Map::new();
    for status in [400, 429, 500, 503] {
        let prompt = format!(
            r#"fail #mock{{"status":{status},"retry_after":3,"error_message":"simulated {status}"}}"#
        );
        for (upstream, model) in CHAT_MODELS {
            let openai: Value = env
                .post("/v1/chat/completions", &openai_chat(model, &prompt, false))
                .await?
                .json()
                .await?;
            shapes.insert(format!("openai_in/{upstream}_up/{status}"), openai);
            let anthropic: Value = env
                .post("/v1/messages", &anthropic_chat(model, &prompt, false))
                .await?
                .json()
                .await?;
            shapes.insert(format!("anthropic_in/{upstream}_up/{status}"), anthropic);
        }
    }
    snapshot("upstream_error_shapes", &Value::Object(shapes));
    Ok(())
}

#[tokio::test]
async fn morns_own_rejections_in_both_dialects() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let mut shapes = serde_json::Map::new();
    let cases: Vec<(&str, &str, reqwest::RequestBuilder, u16)> = vec![
        ("openai", "invalid_json", env.http.post(format!("{}/v1/chat/completions", env.base)).bearer_auth(KEY).body("{not json"), 400),
        ("anthropic", "invalid_json", env.http.post(format!("{}/v1/messages", env.base)).bearer_auth(KEY).body("{not json"), 400),
        ("openai", "missing_messages", env.http.post(format!("{}/v1/chat/completions", env.base)).bearer_auth(KEY).json(&json!({"model": "gpt-4o-mini"})), 400),
        ("anthropic", "missing_max_tokens", env.http.post(format!("{}/v1/messages", env.base)).bearer_auth(KEY).json(&json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})), 400),
        ("openai", "unknown_model", env.http.post(format!("{}/v1/chat/completions", env.base)).bearer_auth(KEY).json(&openai_chat("nope", "hi", false)), 404),
        ("anthropic", "unknown_model", env.http.post(format!("{}/v1/messages", env.base)).bearer_auth(KEY).json(&anthropic_chat("nope", "hi", false)), 404),
        ("openai", "too_large", env.http.post(format!("{}/v1/chat/completions", env.base)).bearer_auth(KEY).body("x".repeat(70 * 1024)), 413),
        ("anthropic", "too_large", env.http.post(format!("{}/v1/messages", env.base)).bearer_auth(KEY).body("x".repeat(70 * 1024)), 413),
        ("openai", "no_key", env.http.post(format!("{}/v1/chat/completions", env.base)).json(&openai_chat("gpt-4o-mini", "hi", false)), 401),
        ("anthropic", "bad_key", env.http.post(format!("{}/v1/messages", env.base)).header("x-api-key", "nope").json(&anthropic_chat("gpt-4o-mini", "hi", false)), 401),
        ("openai", "unknown_route", env.http.post(format!("{}/v1/completions", env.base)).bearer_auth(KEY).json(&json!({})), 404),
        ("openai", "embeddings_unsupported", env.http.post(format!("{}/v1/embeddings", env.base)).bearer_auth(KEY).json(&json!({"model": "claude-sonnet-4-5", "input": "hi"})), 400),
        ("openai", "upstream_unreachable", env.http.post(format!("{}/v1/chat/completions", env.base)).bearer_auth(KEY).json(&openai_chat("offline-model", "hi", false)), 502),
        ("anthropic", "upstream_unreachable", env.http.post(format!("{}/v1/messages", env.base)).bearer_auth(KEY).json(&anthropic_chat("offline-model", "hi", true)), 502),
    ];
    for (dialect, name, request, status) in cases {
        let response = request.send().await?;
        assert_eq!(response.status().as_u16(), status, "{dialect} {name}");
        assert!(response.headers().contains_key("x-request-id"));
        let body: Value = response.json().await?;
        if dialect == "anthropic" {
            assert_eq!(body["type"], "error", "{name}: {body}");
        } else {
            assert!(body["error"]["code"].is_string(), "{name}: {body}");
        }
        shapes.insert(format!("{dialect}/{name}"), body);
    }
    snapshot("morn_error_shapes", &Value::Object(shapes));
    Ok(())
}

#[tokio::test]
async fn a_stream_cut_mid_answer_ends_with_an_error_event() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    for (upstream, model) in CHAT_MODELS {
        for directive in [r#"{"cut_after":5}"#, r#"{"malformed_after":5}"#] {
            let prompt = format!("a long answer please #mock{directive}");
            let body = env
                .post("/v1/chat/completions", &openai_chat(model, &prompt, true))
                .await?
                .text()
                .await?;
            let events = sse_events(&body);
            let last = events.last().map(|(_, d)| d.clone()).unwrap_or_default();
            assert!(
                !body.contains("[DONE]"),
                "{upstream} {directive}: a broken stream must not end cleanly:\n{body}"
            );
            assert!(
                body.contains("\"content\""),
                "{upstream} {directive}: some text arrived before the break"
            );
            let error: Value = serde_json::from_str(&last)?;
            assert_eq!(
                error["error"]["type"], "server_error",
                "{upstream} {directive}: {last}"
            );

            let body = env
                .post("/v1/messages", &anthropic_chat(model, &prompt, true))
                .await?
                .text()
                .await?;
            let events = sse_events(&body);
            assert!(
                !events
                    .iter()
                    .any(|(e, _)| e.as_deref() == Some("message_stop")),
                "{upstream} {directive}:\n{body}"
            );
            let (event, data) = events.last().cloned().unwrap_or_default();
            assert_eq!(
                event.as_deref(),
                Some("error"),
                "{upstream} {directive}:\n{body}"
            );
            let error: Value = serde_json::from_str(&data)?;
            assert_eq!(
                error["error"]["type"], "api_error",
                "{upstream} {directive}: {data}"
            );
        }
    }
    Ok(())
}

#[tokio::test]
async fn a_hanging_upstream_times_out_as_504() -> anyhow::Result<()> {
    let env = TestEnv::start_with_timeout(Duration::from_millis(500)).await?;
    for (upstream, model) in CHAT_MODELS {
        let prompt = r#"hang #mock{"hang":true}"#;
        for stream in [false, true] {
            let started = std::time::Instant::now();
            let r = env
                .post("/v1/chat/completions", &openai_chat(model, prompt, stream))
                .await?;
            assert_eq!(r.status(), 504, "{upstream} stream={stream}");
            assert!(started.elapsed() < Duration::from_secs(3));
            let body: Value = r.json().await?;
            assert_eq!(body["error"]["code"], "upstream_timeout");
        }
    }
    Ok(())
}

/// The model-call paths are served by the front door for POST only; any other method
/// is an unknown route, and the caller's request id comes back on every answer.
#[tokio::test]
async fn model_call_paths_answer_only_post_and_echo_the_request_id() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    for path in ["/v1/chat/completions", "/v1/messages", "/v1/embeddings"] {
        let response = env
            .http
            .get(format!("{}{path}", env.base))
            .bearer_auth(KEY)
            .header("x-request-id", "req-wrong-method")
            .send()
            .await?;
        assert_eq!(response.status().as_u16(), 404, "GET {path}");
        assert_eq!(response.headers()["x-request-id"], "req-wrong-method");
        let body: Value = response.json().await?;
        let code = if path == "/v1/messages" {
            &body["error"]["type"]
        } else {
            &body["error"]["code"]
        };
        assert!(
            code == "unknown_route" || code == "not_found_error",
            "GET {path}: {body}"
        );
    }
    let response = env
        .http
        .post(format!("{}/v1/chat/completions", env.base))
        .bearer_auth(KEY)
        .header("x-request-id", "req-direct-1")
        .json(&openai_chat("gpt-4o-mini", "hi", false))
        .send()
        .await?;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["x-request-id"], "req-direct-1");
    Ok(())
}
