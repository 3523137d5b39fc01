//! `POST /v1/embeddings`: string, string-array and token-array inputs,
//! `dimensions`, and `encoding_format` float or base64 (the Python SDK's default).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value, json};

use super::{bad_request, check_auth, fault};
use crate::directives::{self, MessageDirectives};
use crate::embed::{self, DEFAULT_DIM};
use crate::routes::effective;
use crate::text::count_words;
use crate::{AppState, faults, sse};

const MAX_DIM: u64 = 4096;

pub async fn handle(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let hdr = match directives::from_headers(&headers) {
        Ok(h) => h,
        Err(e) => return bad_request(&e, None, None),
    };
    if let Err(r) = check_auth(&headers) {
        return r;
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return bad_request(
            "We could not parse the JSON body of your request.",
            None,
            None,
        );
    };
    let Some(model) = v.get("model").and_then(Value::as_str) else {
        return bad_request("you must provide a model parameter", None, None);
    };
    let mut found = MessageDirectives::default();
    let (texts, tokens) = match inputs(v.get("input"), &mut found) {
        Ok(x) => x,
        Err(msg) => return bad_request(&msg, Some("input"), None),
    };
    let dim = match v.get("dimensions") {
        None | Some(Value::Null) => DEFAULT_DIM as u64,
        Some(d) => match d.as_u64().filter(|d| (1..=MAX_DIM).contains(d)) {
            Some(d) => d,
            None => {
                return bad_request(
                    "Invalid value for 'dimensions'.",
                    Some("dimensions"),
                    Some("invalid_value"),
                );
            }
        },
    };
    let base64 = match v.get("encoding_format").and_then(Value::as_str) {
        None | Some("float") => false,
        Some("base64") => true,
        Some(_) => {
            return bad_request(
                "Invalid value for 'encoding_format': must be 'float' or 'base64'.",
                Some("encoding_format"),
                Some("invalid_value"),
            );
        }
    };
    let (d, key) = effective(&state, &found, hdr);
    if let Some(f) = faults::before_response(&state, &d, &key).await {
        return fault(f);
    }
    let data: Vec<Value> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let e = embed::embed(t, dim as usize);
            let embedding = if base64 {
                json!(embed::to_base64(&e))
            } else {
                json!(e)
            };
            json!({ "object": "embedding", "index": i, "embedding": embedding })
        })
        .collect();
    let body = json!({
        "object": "list",
        "data": data,
        "model": model,
        "usage": { "prompt_tokens": tokens, "total_tokens": tokens }
    });
    sse::json_response(body.to_string().into_bytes(), &d)
}

/// The input texts and their token count. Token arrays become `tok<N>` words.
fn inputs(
    input: Option<&Value>,
    found: &mut MessageDirectives,
) -> Result<(Vec<String>, u64), String> {
    let mut texts = Vec::new();
    let mut tokens = 0;
    let mut add_text = |s: &str, texts: &mut Vec<String>| {
        let s = found.strip(s).into_owned();
        tokens += count_words(&s).max(1);
        texts.push(s);
    };
    match input {
        Some(Value::String(s)) => add_text(s, &mut texts),
        Some(Value::Array(items)) if !items.is_empty() => {
            if items.iter().all(Value::is_number) {
                texts.push(token_text(items));
            } else {
                for item in items {
                    match item {
                        Value::String(s) => add_text(s, &mut texts),
                        Value::Array(toks) => texts.push(token_text(toks)),
                        _ => {
                            return Err(
                                "'$.input' is invalid. Please check the API reference.".into()
                            );
                        }
                    }
                }
            }
        }
        None => return Err("Missing required parameter: 'input'.".into()),
        _ => return Err("'$.input' is invalid. Please check the API reference.".into()),
    }
    let token_arrays: u64 = match input {
        Some(Value::Array(items)) if items.iter().all(Value::is_number) => items.len() as u64,
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_array)
            .map(|a| a.len() as u64)
            .sum(),
        _ => 0,
    };
    Ok((texts, tokens + token_arrays))
}

fn token_text(toks: &[Value]) -> String {
    toks.iter()
        .map(|t| format!("tok{}", t.as_u64().unwrap_or(0)))
        .collect::<Vec<_>>()
        .join(" ")
}
