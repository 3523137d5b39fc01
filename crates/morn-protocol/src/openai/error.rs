//! OpenAI error bodies: rendering Morn's errors for OpenAI clients, reading upstream
//! error bodies, and turning JSON deserialization failures into 400s that name the field.
//!
//! # Error `type` per kind
//!
//! OpenAI's SDKs pick their exception class from the HTTP status, not from `type`, but
//! clients log and sometimes match `type`, so we follow what api.openai.com sends:
//!
//! | status | kind | `type` | note |
//! |---|---|---|---|
//! | 400, 404, 413, 422 | InvalidRequest, NotFound, PayloadTooLarge, Unprocessable | `invalid_request_error` | OpenAI's unknown-model 404 is `invalid_request_error` / `model_not_found` |
//! | 401 | Authentication | `invalid_request_error` | what OpenAI really sends for a bad key (code `invalid_api_key`), not `authentication_error` |
//! | 403 | PermissionDenied | `permission_error` | |
//! | 429 | RateLimited | `rate_limit_error`, or `insufficient_quota` when the code is `insufficient_quota` | OpenAI sends `insufficient_quota` for exhausted credit (Morn: budget) |
//! | 408, 504 | RequestTimeout, GatewayTimeout | `timeout_error` | |
//! | 500, 502, 503 | Internal, BadGateway, Unavailable | `server_error` | OpenAI's overload 503 is `server_error` too |
//!
//! # Request validation codes
//!
//! [`parse_chat_request`](super::parse_chat_request) and
//! [`parse_embedding_request`](super::parse_embedding_request) return 400s with `param`
//! naming the field (`messages[2].role`) and one of these stable codes:
//!
//! | code | meaning |
//! |---|---|
//! | `invalid_json` | the body is not JSON (syntax error, truncated, trailing bytes); `param` is null |
//! | `missing_field` | a required field is absent (`model`, `messages[0].role`, `messages[3].tool_call_id`) |
//! | `invalid_type` | a field has the wrong JSON type (`"temperature": "hot"`, a non-object body) |
//! | `invalid_value` | right type, unacceptable value: unknown enum value, out of range, empty array |

use serde::{Deserialize, Serialize};

use super::to_vec;
use crate::{ApiError, ErrorKind};

/// The OpenAI error `type` for an error (see the module table).
pub fn error_type(err: &ApiError) -> &'static str {
    match err.kind {
        ErrorKind::InvalidRequest
        | ErrorKind::Authentication
        | ErrorKind::NotFound
        | ErrorKind::PayloadTooLarge
        | ErrorKind::Unprocessable => "invalid_request_error",
        ErrorKind::PermissionDenied => "permission_error",
        ErrorKind::RateLimited if err.code == "insufficient_quota" => "insufficient_quota",
        ErrorKind::RateLimited => "rate_limit_error",
        ErrorKind::RequestTimeout | ErrorKind::GatewayTimeout => "timeout_error",
        ErrorKind::Internal | ErrorKind::BadGateway | ErrorKind::Unavailable => "server_error",
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorObject<'a>,
}

#[derive(Serialize)]
struct ErrorObject<'a> {
    message: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    param: Option<&'a str>,
    code: &'a str,
}

/// `{"error":{"message","type","param","code"}}`, as OpenAI answers errors (and as its
/// streams carry them in a `data:` line).
pub fn render_error(err: &ApiError) -> Vec<u8> {
    to_vec(&ErrorBody {
        error: ErrorObject {
            message: &err.message,
            kind: error_type(err),
            param: err.param.as_deref(),
            code: &err.code,
        },
    })
}

/// Error bodies as OpenAI-compatible servers send them: OpenAI's `{"error":{...}}`,
/// Ollama's and llama.cpp's `{"error":"text"}`, vLLM's older top-level
/// `{"object":"error","message",...}`.
#[derive(Deserialize, Default)]
pub(crate) struct UpstreamErrorBody {
    #[serde(default)]
    error: Option<UpstreamErrorField>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    code: Option<serde_json::Value>,
    #[serde(default)]
    param: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum UpstreamErrorField {
    Object(UpstreamError),
    Text(String),
}

/// The inner `error` object of an OpenAI error body or stream chunk.
#[derive(Deserialize, Default, Debug)]
pub(crate) struct UpstreamError {
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// A string at OpenAI, an HTTP status number at vLLM.
    #[serde(default)]
    pub code: Option<serde_json::Value>,
    #[serde(default)]
    pub param: Option<String>,
}

impl UpstreamErrorBody {
    fn into_error(self) -> UpstreamError {
        match self.error {
            Some(UpstreamErrorField::Object(e)) => e,
            Some(UpstreamErrorField::Text(message)) => UpstreamError {
                message: Some(message),
                ..UpstreamError::default()
            },
            None => UpstreamError {
                message: self.message,
                kind: self.kind,
                code: self.code,
                param: self.param,
            },
        }
    }
}

/// An upstream's non-2xx answer as an [`ApiError`]: the kind from the status, the
/// upstream's message, string `code` and `param` when it sent them, and `Retry-After`.
pub fn decode_error(status: u16, body: &[u8], retry_after: Option<u64>) -> ApiError {
    let kind = ErrorKind::from_status(status);
    let upstream = serde_json::from_slice::<UpstreamErrorBody>(body)
        .map(UpstreamErrorBody::into_error)
        .unwrap_or_default();
    let message = match upstream.message {
        Some(m) if !m.trim().is_empty() => m,
        _ => format!("The upstream provider returned HTTP {status}."),
    };
    keep_code_and_param(
        ApiError::new(kind, message).with_retry_after(retry_after),
        upstream.code,
        upstream.param,
    )
}

/// An in-band stream error (`data: {"error":{...}}`) as an [`ApiError`]. The kind comes
/// from a numeric code (vLLM sends the HTTP status), else from the OpenAI `type`, else
/// it is a bad gateway: the upstream failed mid-answer.
pub(crate) fn stream_error(upstream: UpstreamError) -> ApiError {
    let kind = match (&upstream.code, upstream.kind.as_deref()) {
        (Some(serde_json::Value::Number(n)), _) => n
            .as_u64()
            .and_then(|s| u16::try_from(s).ok())
            .map_or(ErrorKind::BadGateway, ErrorKind::from_status),
        (_, Some("invalid_request_error")) => ErrorKind::InvalidRequest,
        (_, Some("authentication_error")) => ErrorKind::Authentication,
        (_, Some("permission_error")) => ErrorKind::PermissionDenied,
        (_, Some("not_found_error")) => ErrorKind::NotFound,
        (_, Some("rate_limit_error" | "insufficient_quota" | "requests" | "tokens")) => {
            ErrorKind::RateLimited
        }
        (_, Some("timeout_error")) => ErrorKind::GatewayTimeout,
        (_, Some("overloaded_error" | "service_unavailable_error")) => ErrorKind::Unavailable,
        _ => ErrorKind::BadGateway,
    };
    let message = match upstream.message {
        Some(m) if !m.trim().is_empty() => m,
        _ => "The upstream provider reported an error mid-stream.".to_owned(),
    };
    keep_code_and_param(ApiError::new(kind, message), upstream.code, upstream.param)
}

/// Keeps the upstream's string `code` (a numeric one is a status, not a code) and `param`.
fn keep_code_and_param(
    mut err: ApiError,
    code: Option<serde_json::Value>,
    param: Option<String>,
) -> ApiError {
    if let Some(serde_json::Value::String(code)) = code
        && !code.is_empty()
    {
        err = err.with_code(code);
    }
    if let Some(param) = param {
        err = err.with_param(param);
    }
    err
}

/// A failed deserialization of a request body as a 400 naming the field (see the
/// module docs for the codes). `path` is `serde_path_to_error`'s rendering, `.` at root.
pub(crate) fn request_error(err: &serde_json::Error, path: &str) -> ApiError {
    use serde_json::error::Category;
    if matches!(
        err.classify(),
        Category::Syntax | Category::Eof | Category::Io
    ) {
        return ApiError::invalid_json(strip_position(&err.to_string())).with_code("invalid_json");
    }
    let detail = strip_position(&err.to_string());
    let path = if path == "." {
        None
    } else {
        Some(path.to_owned())
    };
    if let Some(field) = detail
        .strip_prefix("missing field `")
        .and_then(|r| r.strip_suffix('`'))
    {
        let param = match path {
            Some(p) => format!("{p}.{field}"),
            None => field.to_owned(),
        };
        return missing(&param);
    }
    if let Some(what) = detail.strip_prefix("invalid type: ") {
        return match path {
            Some(p) => ApiError::invalid(&p, format!("Invalid type for '{p}': {what}."))
                .with_code("invalid_type"),
            None => ApiError::new(
                ErrorKind::InvalidRequest,
                format!("The request body must be a JSON object: {what}."),
            )
            .with_code("invalid_type"),
        };
    }
    let what = detail.strip_prefix("invalid value: ").unwrap_or(&detail);
    match path {
        Some(p) => invalid_value(&p, format!("Invalid value for '{p}': {what}.")),
        None => ApiError::new(
            ErrorKind::InvalidRequest,
            format!("Invalid request: {what}."),
        )
        .with_code("invalid_value"),
    }
}

/// A 400 `missing_field` for `param`.
pub(crate) fn missing(param: &str) -> ApiError {
    ApiError::invalid(param, format!("Missing required parameter: '{param}'."))
        .with_code("missing_field")
}

/// A 400 `invalid_value` for `param`.
pub(crate) fn invalid_value(param: &str, message: impl Into<String>) -> ApiError {
    ApiError::invalid(param, message).with_code("invalid_value")
}

/// serde_json appends " at line 1 column 42" to its messages; the caller does not need
/// it next to a field path.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_type() {
        let cases = [
            (400, "invalid_request_error"),
            (401, "invalid_request_error"),
            (403, "permission_error"),
            (404, "invalid_request_error"),
            (408, "timeout_error"),
            (413, "invalid_request_error"),
            (422, "invalid_request_error"),
            (429, "rate_limit_error"),
            (500, "server_error"),
            (502, "server_error"),
            (503, "server_error"),
            (504, "timeout_error"),
        ];
        for (status, ty) in cases {
            let err = ApiError::new(ErrorKind::from_status(status), "x");
            assert_eq!(error_type(&err), ty, "status {status}");
        }
        let quota = ApiError::new(ErrorKind::RateLimited, "x").with_code("insufficient_quota");
        assert_eq!(error_type(&quota), "insufficient_quota");
    }

    #[test]
    fn strips_serde_positions() {
        assert_eq!(
            strip_position("missing field `a` at line 1 column 9"),
            "missing field `a`"
        );
        assert_eq!(strip_position("plain"), "plain");
    }
}
