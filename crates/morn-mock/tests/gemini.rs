//! Gemini v1beta wire format against the in-process simulator:
//! generateContent, the CRLF-framed SSE stream, function calling, JSON
//! output, limits, embeddings and errors.
#![expect(clippy::unwrap_used, reason = "tests")]

mod common;

use common::*;
use serde_json::{Value, json};

fn url(base: &str, model_action: &str) -> String {
    format!("{base}/v1beta/models/{model_action}")
}

async fn generate(base: &str, body: Value) -> (u16, Value) {
    let (status, _, text) = post(
        &url(base, "gemini-2.5-flash:generateContent"),
        &[GEMINI_AUTH],
        &body,
    )
    .await;
    (status, serde_json::from_str(&text).unwrap())
}

fn req(text: &str) -> Value {
    json!({"contents": [{"role": "user", "parts": [{"text": text}]}]})
}

#[tokio::test]
async fn generate_content_shape_and_usage() {
    let base = start().await;
    let mut body = req("Hello there #mock{\"cached_tokens\":40,\"reasoning_tokens\":9}");
    body["systemInstruction"] = json!({"parts": [{"text": "Be brief."}]});
    let (status, v) = generate(&base, body).await;
    assert_eq!(status, 200);
    let cand = &v["candidates"][0];
    assert_eq!(cand["content"]["role"], "model");
    assert!(
        cand["content"]["parts"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("You said: Hello there. ")
    );
    assert_eq!(cand["finishReason"], "STOP");
    assert_eq!(v["modelVersion"], "gemini-2.5-flash");
    assert!(v["responseId"].is_string());
    let u = &v["usageMetadata"];
    assert_eq!(u["candidatesTokenCount"], 20);
    assert_eq!(u["cachedContentTokenCount"], 40);
    assert_eq!(u["thoughtsTokenCount"], 9);
    let prompt = u["promptTokenCount"].as_u64().unwrap();
    assert!(prompt > 40, "promptTokenCount includes cached content");
    assert_eq!(u["totalTokenCount"], prompt + 20 + 9);
}

#[tokio::test]
async fn sse_stream_uses_crlf_framing() {
    let base = start().await;
    let u = format!(
        "{}?alt=sse",
        url(&base, "gemini-2.5-flash:streamGenerateContent")
    );
    let (status, h, text) = post(&u, &[GEMINI_AUTH], &req("Hi #mock{\"words\":4}")).await;
    assert_eq!(status, 200);
    assert_eq!(h["content-type"], "text/event-stream");
    assert!(text.starts_with("data: {"));
    assert_eq!(text.matches("\r\n\r\n").count(), 4);
    assert!(text.ends_with("}\r\n\r\n"));
    let evs = events(&text);
    assert_eq!(evs.len(), 4);
    let text: String = evs
        .iter()
        .map(|e| {
            e.json()["candidates"][0]["content"]["parts"][0]["text"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(text.starts_with("You said: Hi. "));
    for e in &evs[..3] {
        assert!(e.json()["candidates"][0].get("finishReason").is_none());
    }
    let last = evs[3].json();
    assert_eq!(last["candidates"][0]["finishReason"], "STOP");
    assert_eq!(last["usageMetadata"]["candidatesTokenCount"], 4);
    // Without alt=sse the stream is a JSON array.
    let u = url(&base, "gemini-2.5-flash:streamGenerateContent");
    let (_, _, text) = post(
        &u,
        &[("key", "x"), GEMINI_AUTH],
        &req("Hi #mock{\"words\":4}"),
    )
    .await;
    assert_eq!(
        serde_json::from_str::<Value>(&text)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        4
    );
}

fn tools() -> Value {
    json!([{"functionDeclarations": [
        {"name": "get_weather", "parameters": {
            "type": "OBJECT",
            "properties": {"city": {"type": "STRING"}, "unit": {"type": "STRING", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "INTEGER", "minimum": 2}, "options": {"type": "OBJECT", "properties": {"hourly": {"type": "BOOLEAN"}}}},
            "required": ["city", "unit"]}},
        {"name": "get_time", "parametersJsonSchema": {"type": "object", "properties": {"tz": {"type": "string"}}}}
    ]}])
}

#[tokio::test]
async fn function_calling_any_mode() {
    let base = start().await;
    let mut body = req("weather?");
    body["tools"] = tools();
    body["toolConfig"] =
        json!({"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}});
    let (_, v) = generate(&base, body.clone()).await;
    let part = &v["candidates"][0]["content"]["parts"][0];
    assert_eq!(part["functionCall"]["name"], "get_weather");
    assert!(part["functionCall"].get("id").is_none());
    assert_weather_args(&part["functionCall"]["args"]);
    assert_eq!(v["candidates"][0]["finishReason"], "STOP");

    body["toolConfig"] = json!({"functionCallingConfig": {"mode": "AUTO"}});
    body["contents"][0]["parts"][0]["text"] = json!("go #mock{\"tool_calls\":2}");
    let u = format!("{}?alt=sse", url(&base, "m:streamGenerateContent"));
    let (_, _, text) = post(&u, &[GEMINI_AUTH], &body).await;
    let evs = events(&text);
    let last = evs.last().unwrap().json();
    let parts = last["candidates"][0]["content"]["parts"]
        .as_array()
        .unwrap();
    assert_eq!(parts.len(), 2, "function calls arrive whole in one chunk");
    assert_eq!(parts[1]["functionCall"]["name"], "get_time");
    assert_eq!(last["candidates"][0]["finishReason"], "STOP");
}

#[tokio::test]
async fn function_response_and_inline_image() {
    let base = start().await;
    let body = json!({"tools": tools(), "contents": [
        {"role": "user", "parts": [{"text": "weather?"}]},
        {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "x"}}}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "get_weather", "response": {"result": "cloudy skies"}}}]}
    ]});
    let (_, v) = generate(&base, body).await;
    let text = v["candidates"][0]["content"]["parts"][0]["text"]
        .as_str()
        .unwrap();
    assert!(text.starts_with("Tool result: cloudy skies. "), "{text}");
    let img = json!({"contents": [{"parts": [{"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}}, {"text": "describe"}]}]});
    let (_, v) = generate(&base, img).await;
    assert!(
        v["candidates"][0]["content"]["parts"][0]["text"]
            .as_str()
            .unwrap()
            .contains("[1 image]")
    );
}

#[tokio::test]
async fn json_output_limits_and_stops() {
    let base = start().await;
    let mut body = req("hi");
    body["generationConfig"] = json!({"responseMimeType": "application/json", "responseSchema": {
        "type": "OBJECT", "properties": {"name": {"type": "STRING"}, "n": {"type": "NUMBER"}}, "required": ["name"]}});
    let (_, v) = generate(&base, body).await;
    let out: Value = serde_json::from_str(
        v["candidates"][0]["content"]["parts"][0]["text"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert!(out["name"].is_string() && out["n"].is_number());
    let mut body = req("hi");
    body["generationConfig"] = json!({"maxOutputTokens": 4});
    let (_, v) = generate(&base, body).await;
    assert_eq!(v["candidates"][0]["finishReason"], "MAX_TOKENS");
    assert_eq!(v["usageMetadata"]["candidatesTokenCount"], 4);
    let mut body = req("alpha banana gamma");
    body["generationConfig"] = json!({"stopSequences": ["banana"]});
    let (_, v) = generate(&base, body).await;
    assert_eq!(
        v["candidates"][0]["content"]["parts"][0]["text"],
        "You said: alpha "
    );
    assert_eq!(v["candidates"][0]["finishReason"], "STOP");
}

fn dot(a: &Value, b: &Value) -> f64 {
    let a = a.as_array().unwrap();
    let b = b.as_array().unwrap();
    a.iter()
        .zip(b)
        .map(|(x, y)| x.as_f64().unwrap() * y.as_f64().unwrap())
        .sum()
}

#[tokio::test]
async fn embeddings_single_and_batch() {
    let base = start().await;
    let one = json!({"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "the cat sat"}]}, "outputDimensionality": 32});
    let (status, _, text) = post(
        &url(&base, "gemini-embedding-001:embedContent"),
        &[GEMINI_AUTH],
        &one,
    )
    .await;
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["embedding"]["values"].as_array().unwrap().len(), 32);
    let batch = json!({"requests": [
        {"model": "models/e", "content": {"parts": [{"text": "the cat sat on the mat"}]}},
        {"model": "models/e", "content": {"parts": [{"text": "a cat sat on a mat"}]}},
        {"model": "models/e", "content": {"parts": [{"text": "stock prices fell sharply"}]}}
    ]});
    let (_, _, text) = post(&url(&base, "e:batchEmbedContents"), &[GEMINI_AUTH], &batch).await;
    let v: Value = serde_json::from_str(&text).unwrap();
    let e = v["embeddings"].as_array().unwrap();
    assert_eq!(e[0]["values"].as_array().unwrap().len(), 256);
    assert!(dot(&e[0]["values"], &e[1]["values"]) > dot(&e[0]["values"], &e[2]["values"]) + 0.3);
}

#[tokio::test]
async fn auth_errors_follow_the_real_api() {
    let base = start().await;
    let u = url(&base, "gemini-2.5-flash:generateContent");
    let (status, _, text) = post(&u, &[], &req("hi")).await;
    assert_eq!(status, 403);
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap()["error"]["status"],
        "PERMISSION_DENIED"
    );
    let (status, _, text) = post(&u, &[("x-goog-api-key", "invalid")], &req("hi")).await;
    assert_eq!(status, 400);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["error"]["code"], 400);
    assert_eq!(v["error"]["details"][0]["reason"], "API_KEY_INVALID");
    let (status, _, _) = post(&format!("{u}?key=good"), &[], &req("hi")).await;
    assert_eq!(status, 200);
    let (status, _, text) = post(&u, &[GEMINI_AUTH], &json!({"generationConfig": {}})).await;
    assert_eq!(status, 400);
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap()["error"]["status"],
        "INVALID_ARGUMENT"
    );
    let v: Value = client()
        .get(format!("{base}/v1beta/models?key=k"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["models"][0]["name"], "models/gemini-2.5-flash");
}
