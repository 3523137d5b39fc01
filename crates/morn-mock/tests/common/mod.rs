//! Shared test helpers: an in-process simulator on a port-0 listener, a
//! reqwest client, and a small SSE splitter for asserting event sequences.
#![allow(dead_code, reason = "each test binary uses a different subset")]
#![expect(clippy::unwrap_used, reason = "test helpers")]

use morn_mock::MockOptions;
use serde_json::Value;

/// Starts the simulator and returns its base URL (`http://127.0.0.1:PORT`).
pub async fn start() -> String {
    start_with(MockOptions::default()).await
}

pub async fn start_with(opts: MockOptions) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(morn_mock::serve(listener, opts));
    format!("http://{addr}")
}

pub fn client() -> reqwest::Client {
    // reqwest is built without a TLS provider; it insists on one anyway.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().build().unwrap()
}

/// One SSE event: the `event:` name if any, and the `data:` payload.
#[derive(Debug, Clone)]
pub struct Event {
    pub name: Option<String>,
    pub data: String,
}

impl Event {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap()
    }
}

/// Splits an SSE body on blank lines (LF or CRLF framing).
pub fn events(body: &str) -> Vec<Event> {
    let normalized = body.replace("\r\n", "\n");
    normalized
        .split("\n\n")
        .filter(|block| !block.trim().is_empty())
        .map(|block| {
            let mut name = None;
            let mut data = String::new();
            for line in block.lines() {
                if let Some(n) = line.strip_prefix("event: ") {
                    name = Some(n.to_string());
                } else if let Some(d) = line.strip_prefix("data: ") {
                    data.push_str(d);
                }
            }
            Event { name, data }
        })
        .collect()
}

/// POSTs JSON with extra headers and returns (status, headers, body text).
pub async fn post(
    url: &str,
    headers: &[(&str, &str)],
    body: &Value,
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut req = client().post(url).json(body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let h = resp.headers().clone();
    (status, h, resp.text().await.unwrap())
}

pub const OPENAI_AUTH: (&str, &str) = ("authorization", "Bearer sk-test");
pub const ANTHROPIC_AUTH: (&str, &str) = ("x-api-key", "sk-ant-test");
pub const ANTHROPIC_VERSION: (&str, &str) = ("anthropic-version", "2023-06-01");
pub const GEMINI_AUTH: (&str, &str) = ("x-goog-api-key", "gm-test");

/// A weather tool schema exercising enums, integers with minimums and nesting.
pub fn weather_schema() -> Value {
    serde_json::json!({
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer", "minimum": 2},
            "options": {"type": "object", "properties": {"hourly": {"type": "boolean"}}, "required": ["hourly"]}
        },
        "required": ["city", "unit"]
    })
}

/// Asserts `args` is a valid instance of `weather_schema()`.
pub fn assert_weather_args(args: &Value) {
    assert!(args["city"].is_string(), "{args}");
    assert_eq!(args["unit"], "celsius", "{args}");
    assert!(args["days"].as_i64().unwrap() >= 2, "{args}");
    assert_eq!(args["options"]["hourly"], true, "{args}");
}
