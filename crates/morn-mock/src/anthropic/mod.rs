//! Anthropic wire format: error shape, `x-api-key` auth, model list. The
//! Messages API lives in `messages`.

pub mod messages;

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use crate::faults::{self, Fault};
use crate::sse::json_status;
use crate::text::{hash64, hex, mix};

const MODELS: &[(&str, &str, &str)] = &[
    (
        "claude-sonnet-4-5-20250929",
        "Claude Sonnet 4.5",
        "2025-09-29T00:00:00Z",
    ),
    (
        "claude-opus-4-1-20250805",
        "Claude Opus 4.1",
        "2025-08-05T00:00:00Z",
    ),
    (
        "claude-sonnet-4-20250514",
        "Claude Sonnet 4",
        "2025-05-14T00:00:00Z",
    ),
    (
        "claude-3-5-haiku-20241022",
        "Claude Haiku 3.5",
        "2024-10-22T00:00:00Z",
    ),
];

/// The error type Anthropic uses for an HTTP status.
fn error_type(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        s if s >= 500 => "api_error",
        _ => "invalid_request_error",
    }
}

/// `{"type":"error","error":{"type","message"},"request_id"}`.
pub fn error(status: StatusCode, message: &str) -> Response {
    let request_id = format!(
        "req_{}",
        hex(mix(hash64(message.as_bytes()) ^ crate::routes::now_secs()))
    );
    let body = json!({
        "type": "error",
        "error": { "type": error_type(status), "message": message },
        "request_id": request_id
    });
    let mut r = json_status(status, body.to_string().into_bytes());
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        r.headers_mut().insert("request-id", v);
    }
    r
}

pub fn bad_request(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, message)
}

pub fn fault(f: Fault) -> Response {
    let default_msg = match f.status.as_u16() {
        429 => "Number of request tokens has exceeded your per-minute rate limit (simulated).",
        529 => "Overloaded",
        500 => "Internal server error",
        401 => "invalid x-api-key",
        403 => "Your API key does not have permission to use the specified resource.",
        404 => "Not found",
        413 => "Request exceeds the maximum allowed number of bytes.",
        _ => "Request failed (simulated)",
    };
    let msg = f.message.as_deref().unwrap_or(default_msg);
    faults::with_retry_after(error(f.status, msg), f.retry_after)
}

/// `x-api-key`: missing or `invalid` is a 401 `authentication_error`.
pub fn check_auth(headers: &HeaderMap) -> Result<(), Response> {
    match headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
    {
        None | Some("") => Err(error(
            StatusCode::UNAUTHORIZED,
            "x-api-key header is required",
        )),
        Some("invalid") => Err(error(StatusCode::UNAUTHORIZED, "invalid x-api-key")),
        Some(_) => Ok(()),
    }
}

fn model_object(id: &str, name: &str, created: &str) -> Value {
    json!({ "type": "model", "id": id, "display_name": name, "created_at": created })
}

pub fn list_models(headers: &HeaderMap) -> Response {
    if let Err(r) = check_auth(headers) {
        return r;
    }
    let data: Vec<Value> = MODELS
        .iter()
        .map(|(id, n, c)| model_object(id, n, c))
        .collect();
    let body = json!({
        "data": data,
        "has_more": false,
        "first_id": MODELS.first().map(|m| m.0),
        "last_id": MODELS.last().map(|m| m.0)
    });
    json_status(StatusCode::OK, body.to_string().into_bytes())
}

pub fn get_model(headers: &HeaderMap, id: &str) -> Response {
    if let Err(r) = check_auth(headers) {
        return r;
    }
    let body = match MODELS.iter().find(|m| m.0 == id) {
        Some((id, n, c)) => model_object(id, n, c),
        None => model_object(id, id, "2025-01-01T00:00:00Z"),
    };
    json_status(StatusCode::OK, body.to_string().into_bytes())
}
