//! Inbound responses: canonical answers, errors and model lists → Anthropic JSON bodies
//! for clients of `/v1/messages` and `/v1/models`.

use serde::Serialize;

use super::wire::{
    BlockOut, ErrorBodyOut, ErrorEnvelopeOut, UsageOut, arguments_object, empty_object,
    stop_reason_out, write_json,
};
use crate::{ApiError, ChatResponse, ErrorKind, ModelInfo, Part};

#[derive(Serialize)]
struct MessageOut<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    role: &'static str,
    model: &'a str,
    content: Vec<BlockOut<'a>>,
    stop_reason: &'static str,
    stop_sequence: Option<&'a str>,
    usage: UsageOut,
}

/// Renders a complete answer as an Anthropic `message` object, from choice 0.
///
/// Tool-call arguments are written as the `input` object verbatim; arguments that are not
/// a JSON object (a model that produced broken JSON) become `{}`. Empty text parts are
/// left out, as Anthropic never sends empty text blocks; image and tool-result parts
/// cannot occur in an assistant answer and are ignored.
pub fn render_messages_response(resp: &ChatResponse) -> Vec<u8> {
    let choice = resp.choices.first();
    let mut content = Vec::new();
    if let Some(choice) = choice {
        content.reserve(choice.message.content.len());
        for part in &choice.message.content {
            match part {
                Part::Text { text } if !text.is_empty() => content.push(BlockOut::Text { text }),
                Part::ToolCall(call) => content.push(BlockOut::ToolUse {
                    id: &call.id,
                    name: &call.name,
                    input: arguments_object(&call.arguments).unwrap_or_else(|| empty_object()),
                }),
                Part::Thinking { text, signature } => content.push(BlockOut::Thinking {
                    thinking: text,
                    signature: signature.as_deref().unwrap_or(""),
                }),
                _ => {}
            }
        }
    }
    let stop_sequence = choice.and_then(|c| c.stop_sequence.as_deref());
    let message = MessageOut {
        id: &resp.id,
        kind: "message",
        role: "assistant",
        model: &resp.model,
        content,
        stop_reason: choice.map_or("end_turn", |c| {
            stop_reason_out(c.finish_reason, stop_sequence)
        }),
        stop_sequence,
        usage: UsageOut::from_canonical(&resp.usage),
    };
    let mut out = Vec::with_capacity(256);
    write_json(&mut out, &message);
    out
}

/// The Anthropic error `type` for a canonical error kind.
///
/// | HTTP status | kind                       | Anthropic `error.type`  |
/// |-------------|----------------------------|-------------------------|
/// | 400, 422    | InvalidRequest, Unprocessable | `invalid_request_error` |
/// | 401         | Authentication             | `authentication_error`  |
/// | 403         | PermissionDenied           | `permission_error`      |
/// | 404         | NotFound                   | `not_found_error`       |
/// | 408, 504    | RequestTimeout, GatewayTimeout | `timeout_error`     |
/// | 413         | PayloadTooLarge            | `request_too_large`     |
/// | 429         | RateLimited                | `rate_limit_error`      |
/// | 500, 502    | Internal, BadGateway       | `api_error`             |
/// | 503         | Unavailable                | `overloaded_error`      |
pub fn error_type(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidRequest | ErrorKind::Unprocessable => "invalid_request_error",
        ErrorKind::Authentication => "authentication_error",
        ErrorKind::PermissionDenied => "permission_error",
        ErrorKind::NotFound => "not_found_error",
        ErrorKind::RequestTimeout | ErrorKind::GatewayTimeout => "timeout_error",
        ErrorKind::PayloadTooLarge => "request_too_large",
        ErrorKind::RateLimited => "rate_limit_error",
        ErrorKind::Internal | ErrorKind::BadGateway => "api_error",
        ErrorKind::Unavailable => "overloaded_error",
    }
}

/// Renders `{"type":"error","error":{"type","message"}}`; see [`error_type`] for the
/// type table. The HTTP status is `err.status()`.
pub fn render_error(err: &ApiError) -> Vec<u8> {
    let mut out = Vec::with_capacity(96 + err.message.len());
    write_json(&mut out, &error_envelope(err));
    out
}

pub(crate) fn error_envelope(err: &ApiError) -> ErrorEnvelopeOut<'_> {
    ErrorEnvelopeOut {
        kind: "error",
        error: ErrorBodyOut {
            kind: error_type(err.kind),
            message: &err.message,
        },
    }
}

#[derive(Serialize)]
struct ModelListOut<'a> {
    data: Vec<ModelOut<'a>>,
    has_more: bool,
    first_id: Option<&'a str>,
    last_id: Option<&'a str>,
}

#[derive(Serialize)]
struct ModelOut<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: &'a str,
    display_name: &'a str,
    created_at: String,
}

/// Renders Anthropic's `/v1/models` list. Morn has no display names of its own, so the
/// model id doubles as `display_name`; the list is never paginated.
pub fn render_model_list(models: &[ModelInfo]) -> Vec<u8> {
    let list = ModelListOut {
        data: models
            .iter()
            .map(|m| ModelOut {
                kind: "model",
                id: &m.id,
                display_name: &m.id,
                created_at: rfc3339(m.created),
            })
            .collect(),
        has_more: false,
        first_id: models.first().map(|m| m.id.as_str()),
        last_id: models.last().map(|m| m.id.as_str()),
    };
    let mut out = Vec::with_capacity(32 + models.len() * 96);
    write_json(&mut out, &list);
    out
}

/// Formats unix seconds as RFC 3339 UTC (`2025-05-22T00:00:00Z`), using the
/// days-to-civil algorithm from Howard Hinnant's date library (proleptic Gregorian).
pub fn rfc3339(unix_seconds: i64) -> String {
    let days = unix_seconds.div_euclid(86_400);
    let secs = unix_seconds.rem_euclid(86_400);
    let (hour, minute, second) = (secs / 3600, secs % 3600 / 60, secs % 60);
    // Shift the epoch to 0000-03-01 so leap days fall at the end of each era's year.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z")
}

#[cfg(test)]
mod tests {
    use super::rfc3339;

    #[test]
    fn formats_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_747_872_000), "2025-05-22T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_709_251_199), "2024-02-29T23:59:59Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
        assert_eq!(rfc3339(4_102_444_800), "2100-01-01T00:00:00Z");
    }
}
