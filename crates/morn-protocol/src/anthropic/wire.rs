//! Anthropic Messages wire types shared by both directions, plus the small helpers every
//! converter needs: usage conversion, stop-reason mapping, field-error mapping and
//! direct JSON writing.
//!
//! Output types borrow from the canonical values so rendering allocates little; input
//! types are plain structs with optional fields (no internally tagged enums) so that
//! serde never buffers, unknown fields are ignored and the converters can name the exact
//! field at fault.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::{ApiError, FinishReason, Usage};

// ---------------------------------------------------------------------------------------
// Output (serialize) types.
// ---------------------------------------------------------------------------------------

/// A content block as Anthropic writes it (responses, requests to Anthropic).
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum BlockOut<'a> {
    Text {
        text: &'a str,
    },
    Image {
        source: ImageSourceOut<'a>,
    },
    ToolUse {
        id: &'a str,
        name: &'a str,
        /// Always a JSON object, written verbatim from the tool call's arguments text.
        input: &'a RawValue,
    },
    ToolResult {
        tool_use_id: &'a str,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        content: Vec<BlockOut<'a>>,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        is_error: bool,
    },
    Thinking {
        thinking: &'a str,
        signature: &'a str,
    },
}

/// `image.source` as Anthropic writes it.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum ImageSourceOut<'a> {
    Base64 { media_type: &'a str, data: &'a str },
    Url { url: &'a str },
}

/// Anthropic usage: `input_tokens` excludes cache reads and writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub(crate) struct UsageOut {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_creation_input_tokens: u64,
    pub cache_read_input_tokens: u64,
}

impl UsageOut {
    /// Canonical (input includes cache) → Anthropic (input excludes cache).
    pub fn from_canonical(usage: &Usage) -> Self {
        let cached = usage
            .cache_read_tokens
            .saturating_add(usage.cache_write_tokens);
        Self {
            input_tokens: usage.input_tokens.saturating_sub(cached),
            output_tokens: usage.output_tokens,
            cache_creation_input_tokens: usage.cache_write_tokens,
            cache_read_input_tokens: usage.cache_read_tokens,
        }
    }
}

/// The error body `{"type":"error","error":{"type","message"}}`.
#[derive(Debug, Serialize)]
pub(crate) struct ErrorEnvelopeOut<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub error: ErrorBodyOut<'a>,
}

#[derive(Debug, Serialize)]
pub(crate) struct ErrorBodyOut<'a> {
    #[serde(rename = "type")]
    pub kind: &'a str,
    pub message: &'a str,
}

// ---------------------------------------------------------------------------------------
// Input (deserialize) types.
// ---------------------------------------------------------------------------------------

/// Anthropic usage as received. Every count may be absent or `null` (older API versions,
/// `message_delta` events that only carry `output_tokens`).
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub(crate) struct UsageIn {
    #[serde(default)]
    pub input_tokens: Option<u64>,
    #[serde(default)]
    pub output_tokens: Option<u64>,
    #[serde(default)]
    pub cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    pub cache_read_input_tokens: Option<u64>,
}

impl UsageIn {
    /// Anthropic (input excludes cache) → canonical (input includes cache).
    pub fn to_canonical(self) -> Usage {
        let read = self.cache_read_input_tokens.unwrap_or(0);
        let write = self.cache_creation_input_tokens.unwrap_or(0);
        Usage {
            input_tokens: self
                .input_tokens
                .unwrap_or(0)
                .saturating_add(read)
                .saturating_add(write),
            output_tokens: self.output_tokens.unwrap_or(0),
            cache_read_tokens: read,
            cache_write_tokens: write,
            reasoning_tokens: 0,
        }
    }
}

/// A content block as received: every field optional, dispatched on `kind` by the
/// converters. Unknown fields (`cache_control`, `citations`, ...) are ignored.
#[derive(Debug, Deserialize)]
pub(crate) struct BlockIn<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: std::borrow::Cow<'a, str>,
    #[serde(default)]
    pub text: Option<String>,
    /// Parsed only for image blocks, so other blocks' `source` shapes cannot fail.
    #[serde(default, borrow)]
    pub source: Option<&'a RawValue>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    /// Kept as raw text so tool arguments pass through byte for byte (key order too).
    #[serde(default, borrow)]
    pub input: Option<&'a RawValue>,
    #[serde(default)]
    pub tool_use_id: Option<String>,
    #[serde(default, borrow)]
    pub content: Option<&'a RawValue>,
    #[serde(default)]
    pub is_error: Option<bool>,
    #[serde(default)]
    pub thinking: Option<String>,
    #[serde(default)]
    pub signature: Option<String>,
}

/// `image.source` as received.
#[derive(Debug, Deserialize)]
pub(crate) struct ImageSourceIn {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub media_type: Option<String>,
    #[serde(default)]
    pub data: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
}

/// `{"type":"error","error":{"type","message"}}` as received.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ErrorEnvelopeIn {
    #[serde(default)]
    pub error: Option<ErrorBodyIn>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ErrorBodyIn {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

// ---------------------------------------------------------------------------------------
// Mappings and helpers.
// ---------------------------------------------------------------------------------------

/// Canonical finish reason → Anthropic `stop_reason`.
pub(crate) fn stop_reason_out(reason: FinishReason, stop_sequence: Option<&str>) -> &'static str {
    match reason {
        FinishReason::Stop if stop_sequence.is_some() => "stop_sequence",
        FinishReason::Stop => "end_turn",
        FinishReason::Length => "max_tokens",
        FinishReason::ToolCalls => "tool_use",
        FinishReason::ContentFilter => "refusal",
    }
}

/// Anthropic `stop_reason` → canonical finish reason. Unknown reasons (the API adds
/// some from time to time) count as a natural stop.
pub(crate) fn stop_reason_in(reason: Option<&str>) -> FinishReason {
    match reason {
        Some("max_tokens" | "model_context_window_exceeded") => FinishReason::Length,
        Some("tool_use") => FinishReason::ToolCalls,
        Some("refusal") => FinishReason::ContentFilter,
        // end_turn, stop_sequence, pause_turn, and anything newer.
        _ => FinishReason::Stop,
    }
}

/// Anthropic error `type` → canonical error kind (in-band stream errors, and bodies
/// whose status says less than their type).
pub(crate) fn error_kind_from_type(kind: &str) -> crate::ErrorKind {
    use crate::ErrorKind as K;
    match kind {
        "invalid_request_error" => K::InvalidRequest,
        "authentication_error" => K::Authentication,
        "permission_error" | "billing_error" => K::PermissionDenied,
        "not_found_error" => K::NotFound,
        "request_too_large" => K::PayloadTooLarge,
        "rate_limit_error" => K::RateLimited,
        "api_error" => K::Internal,
        "overloaded_error" => K::Unavailable,
        "timeout_error" => K::GatewayTimeout,
        _ => K::BadGateway,
    }
}

/// Turns a serde error about one request field into a 400 naming that field, with a
/// stable code: `missing_field`, `invalid_type` or `invalid_value`. serde's position
/// suffix is dropped: positions inside a field's own text would mislead.
pub(crate) fn field_error(param: &str, err: &serde_json::Error) -> ApiError {
    let text = err.to_string();
    let msg = match text.rfind(" at line ") {
        Some(i) => &text[..i],
        None => &text,
    };
    if let Some(rest) = msg.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or_default();
        let param = if param.is_empty() {
            field.to_owned()
        } else {
            format!("{param}.{field}")
        };
        return missing(&param);
    }
    let code = if msg.starts_with("invalid type") {
        "invalid_type"
    } else {
        "invalid_value"
    };
    ApiError::invalid(param, format!("{param}: {msg}")).with_code(code)
}

/// A 400 for a required field that is absent.
pub(crate) fn missing(param: &str) -> ApiError {
    ApiError::invalid(param, format!("{param}: field required")).with_code("missing_field")
}

/// A 400 for a field with the wrong JSON type.
pub(crate) fn invalid_type(param: &str, expected: &str) -> ApiError {
    ApiError::invalid(param, format!("{param}: expected {expected}")).with_code("invalid_type")
}

/// A 400 for a field with a value Morn does not accept.
pub(crate) fn invalid_value(param: &str, message: impl std::fmt::Display) -> ApiError {
    ApiError::invalid(param, format!("{param}: {message}")).with_code("invalid_value")
}

/// Appends `value` as JSON. Our output types cannot fail to serialize (string keys only,
/// no fallible `Serialize` impls); if one ever did, the partial write is removed and
/// `null` written instead, so the output stays valid JSON.
pub(crate) fn write_json<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    let start = out.len();
    if serde_json::to_writer(&mut *out, value).is_err() {
        out.truncate(start);
        out.extend_from_slice(b"null");
    }
}

/// Appends one SSE event `event: <name>\ndata: <json>\n\n`, serializing straight into
/// `out` (the same bytes as `sse::write_event`, without an intermediate buffer).
pub(crate) fn write_sse<T: Serialize + ?Sized>(out: &mut Vec<u8>, name: &str, value: &T) {
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\ndata: ");
    write_json(out, value);
    out.extend_from_slice(b"\n\n");
}

/// The raw JSON `{}`, for tool inputs that are empty or not an object.
pub(crate) fn empty_object() -> &'static RawValue {
    // A JSON literal that always parses; the fallback branch is unreachable but keeps
    // this free of `unwrap`.
    match serde_json::from_str::<&'static RawValue>("{}") {
        Ok(raw) => raw,
        Err(_) => RawValue::NULL,
    }
}

/// Borrows tool-call arguments as a raw JSON object, or `None` when they are not one.
/// Empty (or all-whitespace) arguments, which OpenAI-style providers send for tools
/// without parameters, count as `{}`.
pub(crate) fn arguments_object(arguments: &str) -> Option<&RawValue> {
    if arguments.trim().is_empty() {
        return Some(empty_object());
    }
    let raw = serde_json::from_str::<&RawValue>(arguments).ok()?;
    raw.get().starts_with('{').then_some(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_converts_both_ways_with_cache_tokens() {
        let wire = UsageIn {
            input_tokens: Some(10),
            output_tokens: Some(7),
            cache_creation_input_tokens: Some(100),
            cache_read_input_tokens: Some(1000),
        };
        let canonical = wire.to_canonical();
        assert_eq!(canonical.input_tokens, 1110);
        assert_eq!(canonical.cache_read_tokens, 1000);
        assert_eq!(canonical.cache_write_tokens, 100);
        assert_eq!(
            UsageOut::from_canonical(&canonical),
            UsageOut {
                input_tokens: 10,
                output_tokens: 7,
                cache_creation_input_tokens: 100,
                cache_read_input_tokens: 1000
            }
        );
    }

    #[test]
    fn arguments_must_be_an_object() {
        assert_eq!(arguments_object(" ").map(RawValue::get), Some("{}"));
        assert_eq!(
            arguments_object(r#"{"a": 1}"#).map(RawValue::get),
            Some(r#"{"a": 1}"#)
        );
        assert!(arguments_object("[1]").is_none());
        assert!(arguments_object("{\"a\":").is_none());
    }
}
