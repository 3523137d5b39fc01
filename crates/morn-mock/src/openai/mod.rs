//! OpenAI wire format: error shape, auth, model list. Chat completions and
//! embeddings live in their own modules.

pub mod chat;
pub mod embeddings;

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use crate::faults::{self, Fault};
use crate::sse::json_status;

const MODELS: &[(&str, &str)] = &[
    ("gpt-4o", "system"),
    ("gpt-4o-mini", "system"),
    ("gpt-4.1", "system"),
    ("gpt-4.1-mini", "system"),
    ("o3-mini", "system"),
    ("text-embedding-3-small", "system"),
    ("text-embedding-3-large", "system"),
];
const MODEL_CREATED: u64 = 1_715_367_049;

/// `{"error":{"message","type","param","code"}}` with `status`.
pub fn error(
    status: StatusCode,
    message: &str,
    kind: &str,
    param: Option<&str>,
    code: Option<&str>,
) -> Response {
    let body = json!({
        "error": { "message": message, "type": kind, "param": param, "code": code }
    });
    json_status(status, body.to_string().into_bytes())
}

/// A 400 `invalid_request_error`.
pub fn bad_request(message: &str, param: Option<&str>, code: Option<&str>) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        message,
        "invalid_request_error",
        param,
        code,
    )
}

/// A directive-injected error, typed as OpenAI types that status.
pub fn fault(f: Fault) -> Response {
    let (kind, code, default_msg) = match f.status.as_u16() {
        400 => (
            "invalid_request_error",
            None,
            "Invalid request (simulated).",
        ),
        401 => (
            "invalid_request_error",
            Some("invalid_api_key"),
            "Incorrect API key provided.",
        ),
        403 => (
            "invalid_request_error",
            Some("unsupported_country_region_territory"),
            "Country, region, or territory not supported.",
        ),
        404 => (
            "invalid_request_error",
            Some("model_not_found"),
            "The model does not exist or you do not have access to it.",
        ),
        429 => (
            "requests",
            Some("rate_limit_exceeded"),
            "Rate limit reached for requests (simulated).",
        ),
        503 => (
            "server_error",
            None,
            "The server is overloaded or not ready yet.",
        ),
        s if s >= 500 => (
            "server_error",
            None,
            "The server had an error while processing your request.",
        ),
        _ => ("invalid_request_error", None, "Request failed (simulated)."),
    };
    let msg = f.message.as_deref().unwrap_or(default_msg);
    faults::with_retry_after(error(f.status, msg, kind, None, code), f.retry_after)
}

/// `Authorization: Bearer KEY`; a missing key or the key `invalid` is a 401.
pub fn check_auth(headers: &HeaderMap) -> Result<(), Response> {
    let key = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|k| !k.is_empty());
    match key {
        None => Err(error(
            StatusCode::UNAUTHORIZED,
            "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            "invalid_request_error",
            None,
            None,
        )),
        Some("invalid") => Err(error(
            StatusCode::UNAUTHORIZED,
            "Incorrect API key provided: invalid. You can find your API key at https://platform.openai.com/account/api-keys.",
            "invalid_request_error",
            None,
            Some("invalid_api_key"),
        )),
        Some(_) => Ok(()),
    }
}

fn model_object(id: &str, owner: &str) -> Value {
    json!({ "id": id, "object": "model", "created": MODEL_CREATED, "owned_by": owner })
}

pub fn list_models(headers: &HeaderMap) -> Response {
    if let Err(r) = check_auth(headers) {
        return r;
    }
    let data: Vec<Value> = MODELS
        .iter()
        .map(|(id, owner)| model_object(id, owner))
        .collect();
    let body = json!({ "object": "list", "data": data });
    json_status(StatusCode::OK, body.to_string().into_bytes())
}

/// Any id is a model: gateways configure arbitrary names against the mock.
pub fn get_model(headers: &HeaderMap, id: &str) -> Response {
    if let Err(r) = check_auth(headers) {
        return r;
    }
    let owner = MODELS
        .iter()
        .find(|(m, _)| *m == id)
        .map(|(_, o)| *o)
        .unwrap_or("system");
    json_status(
        StatusCode::OK,
        model_object(id, owner).to_string().into_bytes(),
    )
}
