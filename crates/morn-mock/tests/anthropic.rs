//! Anthropic Messages wire format against the in-process simulator: message
//! objects, the named-event stream, tool use, stop reasons, usage and errors.
#![expect(clippy::unwrap_used, reason = "tests")]

mod common;

use common::*;
use serde_json::{Value, json};

const HEADERS: &[(&str, &str)] = &[ANTHROPIC_AUTH, ANTHROPIC_VERSION];

async fn messages(base: &str, body: Value) -> (u16, Value) {
    let (status, _, text) = post(&format!("{base}/v1/messages"), HEADERS, &body).await;
    (status, serde_json::from_str(&text).unwrap())
}

fn req(text: &str) -> Value {
    json!({"model": "claude-sonnet-4-5", "max_tokens": 1024, "messages": [{"role": "user", "content": text}]})
}

#[tokio::test]
async fn message_object_and_usage() {
    let base = start().await;
    let mut body = req("Hello there #mock{\"cached_tokens\":500,\"cache_write_tokens\":20}");
    body["system"] = json!([{"type": "text", "text": "You are terse."}]);
    let (status, v) = messages(&base, body).await;
    assert_eq!(status, 200);
    assert_eq!(v["type"], "message");
    assert_eq!(v["role"], "assistant");
    assert!(v["id"].as_str().unwrap().starts_with("msg_"));
    assert_eq!(v["content"][0]["type"], "text");
    assert!(
        v["content"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("You said: Hello there. ")
    );
    assert_eq!(v["stop_reason"], "end_turn");
    assert_eq!(v["stop_sequence"], Value::Null);
    let u = &v["usage"];
    assert_eq!(u["output_tokens"], 20);
    assert_eq!(u["cache_read_input_tokens"], 500);
    assert_eq!(u["cache_creation_input_tokens"], 20);
    assert!(
        u["input_tokens"].as_u64().unwrap() < 500,
        "input_tokens excludes cache reads"
    );
}

#[tokio::test]
async fn stream_has_exact_event_sequence() {
    let base = start().await;
    let mut body = req("Hi #mock{\"words\":5,\"chunks\":2}");
    body["stream"] = json!(true);
    let (status, h, text) = post(&format!("{base}/v1/messages"), HEADERS, &body).await;
    assert_eq!(status, 200);
    assert_eq!(h["content-type"], "text/event-stream");
    let evs = events(&text);
    let names: Vec<&str> = evs.iter().map(|e| e.name.as_deref().unwrap()).collect();
    assert_eq!(
        names,
        [
            "message_start",
            "ping",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    for e in &evs {
        assert_eq!(
            e.json()["type"],
            e.name.as_deref().unwrap(),
            "data.type matches the event name"
        );
    }
    let start = evs[0].json();
    assert_eq!(start["message"]["content"], json!([]));
    assert_eq!(start["message"]["usage"]["output_tokens"], 1);
    assert!(start["message"]["usage"]["input_tokens"].as_u64().unwrap() > 0);
    assert_eq!(
        evs[2].json()["content_block"],
        json!({"type": "text", "text": ""})
    );
    let text: String = evs[3..5]
        .iter()
        .map(|e| e.json()["delta"]["text"].as_str().unwrap().to_string())
        .collect();
    assert!(text.starts_with("You said: Hi. "));
    assert_eq!(evs[3].json()["delta"]["type"], "text_delta");
    let delta = evs[6].json();
    assert_eq!(
        delta["delta"],
        json!({"stop_reason": "end_turn", "stop_sequence": null})
    );
    assert_eq!(delta["usage"]["output_tokens"], 5);
}

fn tools() -> Value {
    json!([
        {"name": "get_weather", "description": "Weather", "input_schema": weather_schema()},
        {"name": "get_time", "input_schema": {"type": "object", "properties": {"tz": {"type": "string"}}, "required": ["tz"]}}
    ])
}

#[tokio::test]
async fn forced_tool_use_non_stream_and_stream() {
    let base = start().await;
    let mut body = req("weather?");
    body["tools"] = tools();
    body["tool_choice"] = json!({"type": "tool", "name": "get_weather"});
    let (_, v) = messages(&base, body.clone()).await;
    assert_eq!(v["stop_reason"], "tool_use");
    let block = &v["content"][0];
    assert_eq!(block["type"], "tool_use");
    assert!(block["id"].as_str().unwrap().starts_with("toolu_"));
    assert_eq!(block["name"], "get_weather");
    assert_weather_args(&block["input"]);

    body["stream"] = json!(true);
    body["tool_choice"] = json!({"type": "any"});
    body["messages"][0]["content"] = json!("go #mock{\"tool_calls\":2}");
    let (_, _, text) = post(&format!("{base}/v1/messages"), HEADERS, &body).await;
    let evs = events(&text);
    let starts: Vec<Value> = evs
        .iter()
        .filter(|e| e.name.as_deref() == Some("content_block_start"))
        .map(|e| e.json())
        .collect();
    assert_eq!(starts.len(), 2);
    assert_eq!(starts[0]["content_block"]["input"], json!({}));
    assert_eq!(starts[1]["index"], 1);
    assert_eq!(starts[1]["content_block"]["name"], "get_time");
    let mut partial = [String::new(), String::new()];
    for e in evs
        .iter()
        .filter(|e| e.name.as_deref() == Some("content_block_delta"))
    {
        let d = e.json();
        assert_eq!(d["delta"]["type"], "input_json_delta");
        partial[d["index"].as_u64().unwrap() as usize]
            .push_str(d["delta"]["partial_json"].as_str().unwrap());
    }
    assert_weather_args(&serde_json::from_str(&partial[0]).unwrap());
    assert!(serde_json::from_str::<Value>(&partial[1]).unwrap()["tz"].is_string());
    let delta = evs
        .iter()
        .find(|e| e.name.as_deref() == Some("message_delta"))
        .unwrap()
        .json();
    assert_eq!(delta["delta"]["stop_reason"], "tool_use");
}

#[tokio::test]
async fn tool_result_and_images() {
    let base = start().await;
    let body = json!({"model": "c", "max_tokens": 100, "tools": tools(), "messages": [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "x"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "rain all day"}]}]}
    ]});
    let (_, v) = messages(&base, body).await;
    assert!(
        v["content"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("Tool result: rain all day. ")
    );
    let img = json!({"model": "c", "max_tokens": 100, "messages": [{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}},
        {"type": "text", "text": "compare"}
    ]}]});
    let (_, v) = messages(&base, img).await;
    assert!(
        v["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("[2 images]")
    );
    assert!(v["usage"]["input_tokens"].as_u64().unwrap() >= 170);
}

#[tokio::test]
async fn stop_sequence_and_max_tokens() {
    let base = start().await;
    let mut body = req("alpha banana gamma");
    body["stop_sequences"] = json!(["banana"]);
    let (_, v) = messages(&base, body).await;
    assert_eq!(v["stop_reason"], "stop_sequence");
    assert_eq!(v["stop_sequence"], "banana");
    assert_eq!(v["content"][0]["text"], "You said: alpha ");
    let mut body = req("hi");
    body["max_tokens"] = json!(3);
    let (_, v) = messages(&base, body).await;
    assert_eq!(v["stop_reason"], "max_tokens");
    assert_eq!(v["usage"]["output_tokens"], 3);
}

#[tokio::test]
async fn auth_and_validation_errors() {
    let base = start().await;
    let url = format!("{base}/v1/messages");
    let (status, _, text) = post(&url, &[ANTHROPIC_VERSION], &req("hi")).await;
    assert_eq!(status, 401);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], "authentication_error");
    let (status, _, _) = post(
        &url,
        &[("x-api-key", "invalid"), ANTHROPIC_VERSION],
        &req("hi"),
    )
    .await;
    assert_eq!(status, 401);
    let mut no_max = req("hi");
    no_max.as_object_mut().unwrap().remove("max_tokens");
    let (status, _, text) = post(&url, HEADERS, &no_max).await;
    assert_eq!(status, 400);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["error"]["type"], "invalid_request_error");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("max_tokens")
    );
    let (status, _, _) = post(&url, HEADERS, &json!({"max_tokens": 5, "messages": []})).await;
    assert_eq!(status, 400);
    let (status, _, _) = post(&url, &[ANTHROPIC_AUTH], &req("hi")).await;
    assert_eq!(status, 400, "anthropic-version is required");
}

#[tokio::test]
async fn models_list_shape() {
    let base = start().await;
    let resp = client()
        .get(format!("{base}/v1/models"))
        .header(ANTHROPIC_AUTH.0, ANTHROPIC_AUTH.1)
        .header(ANTHROPIC_VERSION.0, ANTHROPIC_VERSION.1)
        .send()
        .await
        .unwrap();
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["has_more"], false);
    assert_eq!(v["data"][0]["type"], "model");
    assert!(v["data"][0]["display_name"].is_string() && v["data"][0]["created_at"].is_string());
    assert_eq!(v["first_id"], v["data"][0]["id"]);
}
