//! Golden fixtures for every inbound × upstream pair, streamed and not: what a client
//! of each protocol sees when its request is served by each adapter, through the real
//! server and the simulator. Ids and timestamps are redacted; everything else is the
//! exact wire output, snapshotted under `tests/snapshots/`.
//!
//! Besides the snapshots, each case checks the invariants a user relies on: streamed
//! and non-streamed answers carry the same text and usage, and parallel tool calls
//! arrive with distinct indices and arguments that parse as JSON.

mod common;

use common::{CHAT_MODELS, TestEnv, sse_events};
use serde_json::{Value, json};

const TEXT_PROMPT: &str =
    r#"What is Morn? #mock{"words":6,"cached_tokens":3,"reasoning_tokens":2}"#;
const TOOLS_PROMPT: &str = r#"Weather and time in Paris? #mock{"tool_calls":2}"#;

fn openai_tools() -> Value {
    json!([
        {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
        {"type": "function", "function": {"name": "get_time", "description": "Time in a zone",
            "parameters": {"type": "object", "properties": {"zone": {"type": "string", "enum": ["Europe/Paris", "UTC"]}}, "required": ["zone"]}}}
    ])
}

fn anthropic_tools() -> Value {
    json!([
        {"name": "get_weather", "description": "Weather for a city",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
        {"name": "get_time", "description": "Time in a zone",
            "input_schema": {"type": "object", "properties": {"zone": {"type": "string", "enum": ["Europe/Paris", "UTC"]}}, "required": ["zone"]}}
    ])
}

fn openai_body(model: &str, prompt: &str, tools: bool, stream: bool) -> Value {
    let mut body = json!({"model": model, "messages": [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": prompt}
    ], "max_tokens": 64});
    if tools {
        body["tools"] = openai_tools();
    }
    if stream {
        body["stream"] = json!(true);
        body["stream_options"] = json!({"include_usage": true});
    }
    body
}

fn anthropic_body(model: &str, prompt: &str, tools: bool, stream: bool) -> Value {
    let mut body = json!({"model": model, "max_tokens": 64, "system": "You are terse.",
        "messages": [{"role": "user", "content": prompt}]});
    if tools {
        body["tools"] = anthropic_tools();
    }
    if stream {
        body["stream"] = json!(true);
    }
    body
}

/// Replaces volatile values (ids, timestamps) so snapshots are stable.
fn redact(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                match key.as_str() {
                    "id" | "tool_call_id" | "tool_use_id" if v.is_string() => *v = json!("[id]"),
                    "created" if v.is_number() => *v = json!("[created]"),
                    _ => redact(v),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

/// The stream as `[{event, data}]` with JSON data parsed and redacted.
fn stream_value(body: &str) -> Value {
    let events: Vec<Value> = sse_events(body)
        .into_iter()
        .map(|(event, data)| {
            let mut data = serde_json::from_str(&data).unwrap_or(Value::String(data));
            redact(&mut data);
            json!({"event": event, "data": data})
        })
        .collect();
    Value::Array(events)
}

async fn fetch(env: &TestEnv, path: &str, body: &Value) -> anyhow::Result<(u16, String)> {
    let response = env.post(path, body).await?;
    Ok((response.status().as_u16(), response.text().await?))
}

/// Text assembled from an OpenAI stream, and its usage chunk.
fn openai_stream_text(body: &str) -> (String, Value) {
    let mut text = String::new();
    let mut usage = Value::Null;
    for (_, data) in sse_events(body) {
        let Ok(chunk) = serde_json::from_str::<Value>(&data) else {
            continue;
        };
        if let Some(t) = chunk["choices"][0]["delta"]["content"].as_str() {
            text.push_str(t);
        }
        if !chunk["usage"].is_null() {
            usage = chunk["usage"].clone();
        }
    }
    (text, usage)
}

/// Text and final usage assembled from an Anthropic stream.
fn anthropic_stream_text(body: &str) -> (String, Value) {
    let mut text = String::new();
    let mut usage = Value::Null;
    for (_, data) in sse_events(body) {
        let Ok(event) = serde_json::from_str::<Value>(&data) else {
            continue;
        };
        if let Some(t) = event["delta"]["text"].as_str() {
            text.push_str(t);
        }
        if event["type"] == "message_delta" {
            usage = event["usage"].clone();
        }
    }
    (text, usage)
}

fn snapshot(name: &str, value: &Value) {
    insta::with_settings!({prepend_module_to_snapshot => false, omit_expression => true}, {
        insta::assert_json_snapshot!(name, value);
    });
}

#[tokio::test]
async fn openai_inbound_over_every_upstream() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    for (upstream, model) in CHAT_MODELS {
        // Text, not streamed and streamed: same text, same usage.
        let (status, body) = fetch(
            &env,
            "/v1/chat/completions",
            &openai_body(model, TEXT_PROMPT, false, false),
        )
        .await?;
        assert_eq!(status, 200, "{upstream}: {body}");
        let mut whole: Value = serde_json::from_str(&body)?;
        let (status, streamed) = fetch(
            &env,
            "/v1/chat/completions",
            &openai_body(model, TEXT_PROMPT, false, true),
        )
        .await?;
        assert_eq!(status, 200, "{upstream}: {streamed}");
        let (text, usage) = openai_stream_text(&streamed);
        assert_eq!(
            Some(text.as_str()),
            whole["choices"][0]["message"]["content"].as_str(),
            "{upstream}"
        );
        assert_eq!(
            usage, whole["usage"],
            "{upstream}: streamed usage equals non-streamed usage"
        );
        assert!(streamed.trim_end().ends_with("data: [DONE]"), "{upstream}");
        redact(&mut whole);
        snapshot(&format!("openai_in__{upstream}_up__text"), &whole);
        snapshot(
            &format!("openai_in__{upstream}_up__text_stream"),
            &stream_value(&streamed),
        );

        // Parallel tool calls.
        let (status, body) = fetch(
            &env,
            "/v1/chat/completions",
            &openai_body(model, TOOLS_PROMPT, true, false),
        )
        .await?;
        assert_eq!(status, 200, "{upstream}: {body}");
        let mut whole: Value = serde_json::from_str(&body)?;
        let calls = whole["choices"][0]["message"]["tool_calls"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(calls.len(), 2, "{upstream}: {body}");
        for call in &calls {
            let args = call["function"]["arguments"].as_str().unwrap_or_default();
            assert!(
                serde_json::from_str::<Value>(args).is_ok_and(|v| v.is_object()),
                "{upstream}: {args}"
            );
        }
        assert_eq!(
            whole["choices"][0]["finish_reason"], "tool_calls",
            "{upstream}"
        );
        let (_, streamed) = fetch(
            &env,
            "/v1/chat/completions",
            &openai_body(model, TOOLS_PROMPT, true, true),
        )
        .await?;
        let indices: std::collections::BTreeSet<u64> = sse_events(&streamed)
            .iter()
            .filter_map(|(_, d)| serde_json::from_str::<Value>(d).ok())
            .flat_map(|c| {
                c["choices"][0]["delta"]["tool_calls"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .filter_map(|t| t["index"].as_u64())
            .collect();
        assert_eq!(
            indices.into_iter().collect::<Vec<_>>(),
            vec![0, 1],
            "{upstream}"
        );
        redact(&mut whole);
        snapshot(&format!("openai_in__{upstream}_up__tools"), &whole);
        snapshot(
            &format!("openai_in__{upstream}_up__tools_stream"),
            &stream_value(&streamed),
        );
    }
    Ok(())
}

#[tokio::test]
async fn anthropic_inbound_over_every_upstream() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    for (upstream, model) in CHAT_MODELS {
        let (status, body) = fetch(
            &env,
            "/v1/messages",
            &anthropic_body(model, TEXT_PROMPT, false, false),
        )
        .await?;
        assert_eq!(status, 200, "{upstream}: {body}");
        let mut whole: Value = serde_json::from_str(&body)?;
        let (status, streamed) = fetch(
            &env,
            "/v1/messages",
            &anthropic_body(model, TEXT_PROMPT, false, true),
        )
        .await?;
        assert_eq!(status, 200, "{upstream}: {streamed}");
        let (text, usage) = anthropic_stream_text(&streamed);
        assert_eq!(
            Some(text.as_str()),
            whole["content"][0]["text"].as_str(),
            "{upstream}"
        );
        assert_eq!(
            usage["output_tokens"], whole["usage"]["output_tokens"],
            "{upstream}"
        );
        let names: Vec<String> = sse_events(&streamed)
            .into_iter()
            .filter_map(|(e, _)| e)
            .collect();
        assert_eq!(
            names.first().map(String::as_str),
            Some("message_start"),
            "{upstream}"
        );
        assert_eq!(
            names.last().map(String::as_str),
            Some("message_stop"),
            "{upstream}"
        );
        redact(&mut whole);
        snapshot(&format!("anthropic_in__{upstream}_up__text"), &whole);
        snapshot(
            &format!("anthropic_in__{upstream}_up__text_stream"),
            &stream_value(&streamed),
        );

        let (status, body) = fetch(
            &env,
            "/v1/messages",
            &anthropic_body(model, TOOLS_PROMPT, true, false),
        )
        .await?;
        assert_eq!(status, 200, "{upstream}: {body}");
        let mut whole: Value = serde_json::from_str(&body)?;
        let tool_uses: Vec<&Value> = whole["content"]
            .as_array()
            .map(|c| c.iter().filter(|b| b["type"] == "tool_use").collect())
            .unwrap_or_default();
        assert_eq!(tool_uses.len(), 2, "{upstream}: {body}");
        assert!(
            tool_uses.iter().all(|t| t["input"].is_object()),
            "{upstream}"
        );
        assert_eq!(whole["stop_reason"], "tool_use", "{upstream}");
        let (_, streamed) = fetch(
            &env,
            "/v1/messages",
            &anthropic_body(model, TOOLS_PROMPT, true, true),
        )
        .await?;
        let json_deltas = sse_events(&streamed)
            .iter()
            .filter(|(_, d)| d.contains("input_json_delta"))
            .count();
        assert!(
            json_deltas >= 2,
            "{upstream}: arguments stream as input_json_delta"
        );
        redact(&mut whole);
        snapshot(&format!("anthropic_in__{upstream}_up__tools"), &whole);
        snapshot(
            &format!("anthropic_in__{upstream}_up__tools_stream"),
            &stream_value(&streamed),
        );
    }
    Ok(())
}
