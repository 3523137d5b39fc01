//! Gemini (Generative Language API v1beta) wire format: error shape, API key
//! auth, model list and the `models/{model}:{action}` dispatch.

mod embed;
mod generate;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};
use std::collections::HashMap;

use crate::AppState;
use crate::faults::{self, Fault};
use crate::sse::json_status;

type QueryMap = Query<HashMap<String, String>>;

const MODELS: &[(&str, &str, &[&str])] = &[
    (
        "gemini-2.5-flash",
        "Gemini 2.5 Flash",
        &["generateContent", "countTokens"],
    ),
    (
        "gemini-2.5-pro",
        "Gemini 2.5 Pro",
        &["generateContent", "countTokens"],
    ),
    (
        "gemini-2.0-flash",
        "Gemini 2.0 Flash",
        &["generateContent", "countTokens"],
    ),
    (
        "gemini-embedding-001",
        "Gemini Embedding 001",
        &["embedContent", "countTextTokens"],
    ),
    (
        "text-embedding-004",
        "Text Embedding 004",
        &["embedContent"],
    ),
];

fn status_name(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        500 => "INTERNAL",
        501 => "UNIMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        s if s >= 500 => "INTERNAL",
        _ => "FAILED_PRECONDITION",
    }
}

/// `{"error":{"code","message","status"}}` plus optional google.rpc details.
pub fn error_with(status: StatusCode, message: &str, details: Option<Value>) -> Response {
    let mut err =
        json!({ "code": status.as_u16(), "message": message, "status": status_name(status) });
    if let Some(d) = details {
        err["details"] = d;
    }
    json_status(status, json!({ "error": err }).to_string().into_bytes())
}

pub fn error(status: StatusCode, message: &str) -> Response {
    error_with(status, message, None)
}

pub fn bad_request(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, message)
}

pub fn fault(f: Fault) -> Response {
    let default_msg = match f.status.as_u16() {
        429 => "Resource has been exhausted (e.g. check quota).",
        503 => "The model is overloaded. Please try again later.",
        500 => {
            "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting"
        }
        504 => "Deadline expired before operation could complete.",
        _ => "Request failed (simulated).",
    };
    let msg = f.message.as_deref().unwrap_or(default_msg);
    let details = f.retry_after.filter(|_| f.status.as_u16() == 429).map(|s| {
        json!([{ "@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": format!("{s}s") }])
    });
    faults::with_retry_after(error_with(f.status, msg, details), f.retry_after)
}

/// `x-goog-api-key` header or `?key=`. As the real API does, a missing key is
/// 403 PERMISSION_DENIED and a bad key (`invalid`) is 400 INVALID_ARGUMENT
/// with reason API_KEY_INVALID; neither is a 401.
pub fn check_auth(headers: &HeaderMap, query: &HashMap<String, String>) -> Result<(), Response> {
    let key = headers
        .get("x-goog-api-key")
        .and_then(|v| v.to_str().ok())
        .or_else(|| query.get("key").map(String::as_str))
        .map(str::trim)
        .filter(|k| !k.is_empty());
    match key {
        None => Err(error(
            StatusCode::FORBIDDEN,
            "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
        )),
        Some("invalid") => Err(error_with(
            StatusCode::BAD_REQUEST,
            "API key not valid. Please pass a valid API key.",
            Some(json!([{
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
                "metadata": { "service": "generativelanguage.googleapis.com" }
            }])),
        )),
        Some(_) => Ok(()),
    }
}

fn model_object(id: &str, name: &str, methods: &[&str]) -> Value {
    json!({
        "name": format!("models/{id}"),
        "version": "001",
        "displayName": name,
        "description": format!("{name} (simulated by morn-mock)"),
        "inputTokenLimit": 1_048_576,
        "outputTokenLimit": 65_536,
        "supportedGenerationMethods": methods
    })
}

pub async fn list_models(headers: HeaderMap, Query(q): QueryMap) -> Response {
    if let Err(r) = check_auth(&headers, &q) {
        return r;
    }
    let models: Vec<Value> = MODELS
        .iter()
        .map(|(id, n, m)| model_object(id, n, m))
        .collect();
    json_status(
        StatusCode::OK,
        json!({ "models": models }).to_string().into_bytes(),
    )
}

pub async fn get_model(
    headers: HeaderMap,
    Query(q): QueryMap,
    Path(rest): Path<String>,
) -> Response {
    if let Err(r) = check_auth(&headers, &q) {
        return r;
    }
    let body = match MODELS.iter().find(|m| m.0 == rest) {
        Some((id, n, m)) => model_object(id, n, m),
        None => model_object(&rest, &rest, &["generateContent", "countTokens"]),
    };
    json_status(StatusCode::OK, body.to_string().into_bytes())
}

/// `POST /v1beta/models/{model}:{action}`: the colon is inside one path segment.
pub async fn action(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): QueryMap,
    Path(rest): Path<String>,
    body: Bytes,
) -> Response {
    let Some((model, action)) = rest.rsplit_once(':') else {
        return error(
            StatusCode::NOT_FOUND,
            &format!("Method not found: models/{rest}"),
        );
    };
    if let Err(r) = check_auth(&headers, &q) {
        return r;
    }
    let sse = q.get("alt").map(String::as_str) == Some("sse");
    match action {
        "generateContent" => generate::handle(&state, &headers, model, &body, None).await,
        "streamGenerateContent" => {
            generate::handle(&state, &headers, model, &body, Some(sse)).await
        }
        "countTokens" => generate::count_tokens(model, &body),
        "embedContent" => embed::single(&state, &headers, &body).await,
        "batchEmbedContents" => embed::batch(&state, &headers, &body).await,
        other => error(StatusCode::NOT_FOUND, &format!("Method not found: {other}")),
    }
}
