//! OpenAI wire format against the in-process simulator: chat (plain, streamed,
//! tools, JSON modes, limits), embeddings, models, auth and request errors.
#![expect(clippy::unwrap_used, reason = "tests")]

mod common;

use common::*;
use serde_json::{Value, json};

async fn chat(base: &str, body: Value) -> (u16, Value) {
    let (status, _, text) = post(
        &format!("{base}/v1/chat/completions"),
        &[OPENAI_AUTH],
        &body,
    )
    .await;
    (status, serde_json::from_str(&text).unwrap())
}

async fn chat_stream(base: &str, body: Value) -> Vec<Event> {
    let (status, h, text) = post(
        &format!("{base}/v1/chat/completions"),
        &[OPENAI_AUTH],
        &body,
    )
    .await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(h["content-type"], "text/event-stream");
    events(&text)
}

fn user(text: &str) -> Value {
    json!([{"role": "user", "content": text}])
}

#[tokio::test]
async fn completion_echoes_and_counts_usage() {
    let base = start().await;
    let body = json!({"model": "gpt-4o", "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hello there friend"}
    ]});
    let (status, v) = chat(&base, body.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(v["object"], "chat.completion");
    assert!(v["id"].as_str().unwrap().starts_with("chatcmpl-"));
    let content = v["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(
        content.starts_with("You said: Hello there friend. "),
        "{content}"
    );
    assert_eq!(content.split_whitespace().count(), 20);
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    let u = &v["usage"];
    assert_eq!(u["completion_tokens"], 20);
    assert!(u["prompt_tokens"].as_u64().unwrap() >= 5);
    assert_eq!(u["total_tokens"], u["prompt_tokens"].as_u64().unwrap() + 20);
    // Deterministic: the same request gets the same text.
    let (_, again) = chat(&base, body).await;
    assert_eq!(again["choices"][0]["message"]["content"], content);
}

#[tokio::test]
async fn stream_has_exact_chunk_sequence() {
    let base = start().await;
    let evs = chat_stream(
        &base,
        json!({"model": "m", "stream": true, "messages": user("Hi #mock{\"words\":4}")}),
    )
    .await;
    assert_eq!(evs.len(), 1 + 4 + 1 + 1, "{evs:?}");
    let first = evs[0].json();
    assert_eq!(first["object"], "chat.completion.chunk");
    assert_eq!(
        first["choices"][0]["delta"],
        json!({"role": "assistant", "content": "", "refusal": null})
    );
    assert!(
        first.get("usage").is_none(),
        "usage only appears with include_usage"
    );
    let text: String = evs[1..5]
        .iter()
        .map(|e| {
            e.json()["choices"][0]["delta"]["content"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(text.starts_with("You said: Hi. "), "{text}");
    assert_eq!(evs[1].json()["choices"][0]["delta"]["content"], "You ");
    let last = evs[5].json();
    assert_eq!(last["choices"][0]["delta"], json!({}));
    assert_eq!(last["choices"][0]["finish_reason"], "stop");
    assert_eq!(evs[6].data, "[DONE]");
}

#[tokio::test]
async fn stream_include_usage_adds_usage_chunk() {
    let base = start().await;
    let body = json!({"model": "m", "stream": true, "stream_options": {"include_usage": true},
        "messages": user("Hi #mock{\"words\":6,\"chunks\":2,\"cached_tokens\":100,\"reasoning_tokens\":7}")});
    let evs = chat_stream(&base, body).await;
    assert_eq!(evs.len(), 1 + 2 + 1 + 1 + 1);
    for e in &evs[..4] {
        assert_eq!(e.json()["usage"], Value::Null);
    }
    let u = evs[4].json();
    assert_eq!(u["choices"], json!([]));
    assert_eq!(u["usage"]["completion_tokens"], 6 + 7);
    assert_eq!(
        u["usage"]["completion_tokens_details"]["reasoning_tokens"],
        7
    );
    assert_eq!(u["usage"]["prompt_tokens_details"]["cached_tokens"], 100);
    assert!(u["usage"]["prompt_tokens"].as_u64().unwrap() > 100);
    assert_eq!(evs[5].data, "[DONE]");
}

fn weather_tools() -> Value {
    json!([
        {"type": "function", "function": {"name": "get_weather", "parameters": weather_schema()}},
        {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}}}}
    ])
}

#[tokio::test]
async fn forced_tool_call_has_schema_valid_args() {
    let base = start().await;
    let body = json!({"model": "m", "messages": user("weather?"), "tools": weather_tools(),
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}}});
    let (_, v) = chat(&base, body).await;
    let choice = &v["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    let call = &choice["message"]["tool_calls"][0];
    assert!(call["id"].as_str().unwrap().starts_with("call_"));
    assert_eq!(call["type"], "function");
    assert_eq!(call["function"]["name"], "get_weather");
    let args: Value =
        serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_weather_args(&args);
}

#[tokio::test]
async fn parallel_tool_calls_stream_with_indices() {
    let base = start().await;
    let body = json!({"model": "m", "stream": true, "messages": user("go #mock{\"tool_calls\":2}"), "tools": weather_tools()});
    let evs = chat_stream(&base, body).await;
    let mut args = ["".to_string(), "".to_string()];
    let mut names = vec![];
    let mut fragments = 0;
    for e in evs.iter().filter(|e| e.data != "[DONE]") {
        for tc in e.json()["choices"][0]["delta"]["tool_calls"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let i = tc["index"].as_u64().unwrap() as usize;
            if let Some(name) = tc["function"]["name"].as_str() {
                assert!(tc["id"].as_str().unwrap().starts_with("call_"));
                names.push(name.to_string());
            } else {
                fragments += 1;
            }
            args[i].push_str(tc["function"]["arguments"].as_str().unwrap());
        }
    }
    assert_eq!(names, ["get_weather", "get_time"]);
    assert!(fragments > 2, "arguments arrive in several fragments");
    assert_weather_args(&serde_json::from_str(&args[0]).unwrap());
    assert!(serde_json::from_str::<Value>(&args[1]).unwrap()["tz"].is_string());
    let finish = evs[evs.len() - 2].json();
    assert_eq!(finish["choices"][0]["finish_reason"], "tool_calls");
}

#[tokio::test]
async fn tool_result_is_reported_and_none_never_calls() {
    let base = start().await;
    let body = json!({"model": "m", "tools": weather_tools(), "messages": [
        {"role": "user", "content": "weather? #mock{\"tool_calls\":1}"},
        {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny and warm"}
    ]});
    let (_, v) = chat(&base, body).await;
    let content = v["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(
        content.starts_with("Tool result: sunny and warm. "),
        "{content}"
    );
    let none = json!({"model": "m", "tools": weather_tools(), "tool_choice": "none", "messages": user("x #mock{\"tool_calls\":1}")});
    let (_, v) = chat(&base, none).await;
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
}

#[tokio::test]
async fn json_modes_produce_valid_json() {
    let base = start().await;
    let (_, v) = chat(
        &base,
        json!({"model": "m", "messages": user("hi"), "response_format": {"type": "json_object"}}),
    )
    .await;
    let obj: Value =
        serde_json::from_str(v["choices"][0]["message"]["content"].as_str().unwrap()).unwrap();
    assert!(obj["answer"].as_str().unwrap().starts_with("You said: hi."));
    let rf = json!({"type": "json_schema", "json_schema": {"name": "w", "schema": weather_schema(), "strict": true}});
    let evs = chat_stream(
        &base,
        json!({"model": "m", "stream": true, "messages": user("hi"), "response_format": rf}),
    )
    .await;
    let deltas: Vec<String> = evs[1..evs.len() - 2]
        .iter()
        .map(|e| {
            e.json()["choices"][0]["delta"]["content"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(deltas.len() > 3, "JSON is split over several deltas");
    assert_weather_args(&serde_json::from_str(&deltas.concat()).unwrap());
}

#[tokio::test]
async fn max_tokens_stop_images_and_n() {
    let base = start().await;
    let (_, v) = chat(
        &base,
        json!({"model": "m", "messages": user("hi"), "max_completion_tokens": 5}),
    )
    .await;
    assert_eq!(v["choices"][0]["finish_reason"], "length");
    assert_eq!(v["usage"]["completion_tokens"], 5);
    assert_eq!(
        v["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .split_whitespace()
            .count(),
        5
    );
    let (_, v) = chat(
        &base,
        json!({"model": "m", "messages": user("alpha banana gamma"), "stop": ["banana", "zzz"]}),
    )
    .await;
    assert_eq!(v["choices"][0]["message"]["content"], "You said: alpha ");
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    let img = json!([{"role": "user", "content": [
        {"type": "text", "text": "what is this"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    ]}]);
    let (_, v) = chat(&base, json!({"model": "m", "messages": img})).await;
    assert!(
        v["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .contains("[1 image]")
    );
    assert!(v["usage"]["prompt_tokens"].as_u64().unwrap() >= 85);
    let (_, v) = chat(&base, json!({"model": "m", "messages": user("hi"), "n": 3})).await;
    let choices = v["choices"].as_array().unwrap();
    assert_eq!(
        choices
            .iter()
            .map(|c| c["index"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [0, 1, 2]
    );
    assert_ne!(
        choices[0]["message"]["content"],
        choices[1]["message"]["content"]
    );
    assert_eq!(v["usage"]["completion_tokens"], 60);
}

fn cosine(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

#[tokio::test]
async fn embeddings_similarity_base64_and_dimensions() {
    let base = start().await;
    let url = format!("{base}/v1/embeddings");
    let input = json!([
        "the cat sat on the mat",
        "a cat sat on a mat",
        "quarterly revenue grew in europe"
    ]);
    let (status, _, text) = post(
        &url,
        &[OPENAI_AUTH],
        &json!({"model": "text-embedding-3-small", "input": input}),
    )
    .await;
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&text).unwrap();
    let e: Vec<Vec<f64>> = (0..3).map(|i| floats(&v["data"][i]["embedding"])).collect();
    assert_eq!(e[0].len(), 256);
    assert!((cosine(&e[0], &e[0]) - 1.0).abs() < 1e-4);
    assert!(cosine(&e[0], &e[1]) > cosine(&e[0], &e[2]) + 0.3);
    assert_eq!(v["usage"]["prompt_tokens"], v["usage"]["total_tokens"]);
    let (_, _, text) = post(&url, &[OPENAI_AUTH], &json!({"model": "m", "input": "the cat sat on the mat", "encoding_format": "base64", "dimensions": 64})).await;
    let v: Value = serde_json::from_str(&text).unwrap();
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(v["data"][0]["embedding"].as_str().unwrap())
        .unwrap();
    assert_eq!(bytes.len(), 64 * 4);
    let floats: Vec<f32> = bytes
        .chunks(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let norm: f32 = floats.iter().map(|x| x * x).sum();
    assert!((norm - 1.0).abs() < 1e-4);
    let (status, _, _) = post(
        &url,
        &[OPENAI_AUTH],
        &json!({"model": "m", "input": [[1, 2, 3], [4, 5]]}),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn auth_and_request_errors() {
    let base = start().await;
    let url = format!("{base}/v1/chat/completions");
    let body = json!({"model": "m", "messages": user("hi")});
    let (status, _, text) = post(&url, &[], &body).await;
    assert_eq!(status, 401);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["error"]["type"], "invalid_request_error");
    let (status, _, text) = post(&url, &[("authorization", "Bearer invalid")], &body).await;
    assert_eq!(status, 401);
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap()["error"]["code"],
        "invalid_api_key"
    );
    let (status, _, text) = post(&url, &[OPENAI_AUTH], &json!({"model": "m"})).await;
    assert_eq!(status, 400);
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap()["error"]["param"],
        "messages"
    );
    let (status, _, _) = post(&url, &[OPENAI_AUTH], &json!({"messages": user("hi")})).await;
    assert_eq!(status, 400);
    let resp = client()
        .post(&url)
        .header("authorization", "Bearer k")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["type"], "invalid_request_error");
}

#[tokio::test]
async fn models_list_and_get() {
    let base = start().await;
    let v: Value = client()
        .get(format!("{base}/v1/models"))
        .bearer_auth("k")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["object"], "list");
    assert!(
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == "gpt-4o" && m["object"] == "model")
    );
    let v: Value = client()
        .get(format!("{base}/v1/models/my-model"))
        .bearer_auth("k")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["id"], "my-model");
}

#[tokio::test]
async fn an_assistant_prefill_is_continued() {
    let base = start().await;
    let prompt = json!({"model": "m", "messages": user("tell me about prefill")});
    let (_, whole) = chat(&base, prompt).await;
    let full = whole["choices"][0]["message"]["content"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let words: Vec<&str> = full.split_inclusive(' ').collect();
    let prefix: String = words[..5].concat();
    let continued = json!({"model": "m", "messages": [
        {"role": "user", "content": "tell me about prefill"},
        {"role": "assistant", "content": prefix}
    ]});
    let (status, rest) = chat(&base, continued).await;
    assert_eq!(status, 200);
    let rest = rest["choices"][0]["message"]["content"]
        .as_str()
        .unwrap_or_default();
    assert_eq!(
        format!("{prefix}{rest}"),
        full,
        "prefill + continuation = the unbroken answer"
    );
    let unrelated = json!({"model": "m", "messages": [
        {"role": "user", "content": "tell me about prefill"},
        {"role": "assistant", "content": "Something else entirely. "}
    ]});
    let (_, other) = chat(&base, unrelated).await;
    assert_eq!(
        other["choices"][0]["message"]["content"].as_str(),
        Some(full.as_str()),
        "a foreign prefill is ignored"
    );
}
