//! Upstream answers: an Anthropic Messages response body or error body → canonical.

use serde::Deserialize;

use super::wire::{BlockIn, ErrorEnvelopeIn, UsageIn, error_kind_from_type, stop_reason_in};
use crate::{ApiError, ChatResponse, Choice, ErrorKind, Message, Part, Role, ToolCall};

#[derive(Deserialize)]
struct MessageIn<'a> {
    id: String,
    model: String,
    #[serde(borrow)]
    content: Vec<BlockIn<'a>>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    stop_sequence: Option<String>,
    #[serde(default)]
    usage: UsageIn,
}

/// Decodes a non-streamed Anthropic `message` into a one-choice canonical response.
///
/// `created` is 0: Anthropic's body carries no timestamp and this crate reads no clock,
/// so the caller sets it to the time the answer arrived.
///
/// Text, `tool_use` and `thinking` blocks are kept in order; `redacted_thinking` and
/// server-tool blocks (`server_tool_use`, `web_search_tool_result`, ...) are dropped,
/// as the canonical format has no place for them.
pub fn decode_messages_response(body: &[u8]) -> Result<ChatResponse, ApiError> {
    let msg: MessageIn<'_> = serde_json::from_slice(body).map_err(ApiError::bad_upstream)?;
    let mut content = Vec::with_capacity(msg.content.len());
    for block in msg.content {
        match block.kind.as_ref() {
            "text" => content.push(Part::Text {
                text: block.text.unwrap_or_default(),
            }),
            "thinking" => content.push(Part::Thinking {
                text: block.thinking.unwrap_or_default(),
                signature: block.signature.filter(|s| !s.is_empty()),
            }),
            "tool_use" => {
                let arguments = block
                    .input
                    .map_or_else(|| "{}".to_owned(), |i| i.get().to_owned());
                content.push(Part::ToolCall(ToolCall {
                    id: block.id.unwrap_or_default(),
                    name: block.name.unwrap_or_default(),
                    arguments,
                }));
            }
            _ => {}
        }
    }
    let finish_reason = stop_reason_in(msg.stop_reason.as_deref());
    Ok(ChatResponse {
        id: msg.id,
        model: msg.model,
        created: 0,
        choices: vec![Choice {
            index: 0,
            message: Message {
                role: Role::Assistant,
                content,
                name: None,
            },
            finish_reason,
            stop_sequence: msg.stop_sequence,
        }],
        usage: msg.usage.to_canonical(),
    })
}

/// Decodes an Anthropic error response: the kind comes from the HTTP status (529
/// "overloaded" → unavailable), the message from `error.message`, the code from
/// `error.type` (`overloaded_error`, `rate_limit_error`, ...). A body that is not
/// Anthropic's error JSON gets a generic message (its text may be an HTML page from a
/// proxy, which is no business of the caller).
pub fn decode_error(status: u16, body: &[u8], retry_after: Option<u64>) -> ApiError {
    let kind = ErrorKind::from_status(status);
    let parsed = serde_json::from_slice::<ErrorEnvelopeIn>(body)
        .ok()
        .and_then(|e| e.error);
    let mut err = match parsed {
        Some(body)
            if body.message.as_deref().is_some_and(|m| !m.is_empty()) || body.kind.is_some() =>
        {
            let message = body
                .message
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| generic_message(status));
            let err = ApiError::new(kind, message);
            match body.kind {
                Some(code) => err.with_code(code),
                None => err,
            }
        }
        _ => ApiError::new(kind, generic_message(status)),
    };
    err.retry_after = retry_after;
    err
}

fn generic_message(status: u16) -> String {
    format!("The upstream provider returned HTTP {status}.")
}

/// An in-band stream error (`event: error`) → a canonical error, its kind taken from the
/// error type since there is no status.
pub(crate) fn stream_error(kind: Option<&str>, message: Option<String>) -> ApiError {
    let error_kind = kind.map_or(ErrorKind::BadGateway, error_kind_from_type);
    let message = message
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| "The upstream provider reported an error during the stream.".to_owned());
    let err = ApiError::new(error_kind, message);
    match kind {
        Some(code) => err.with_code(code),
        None => err,
    }
}
