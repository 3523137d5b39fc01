//! Upstream Chat Completions: a `chat.completion` body → canonical [`ChatResponse`].
//!
//! Tolerant of what real OpenAI-compatible servers send: missing or partial usage is
//! zeros, `content: null`, thinking as `reasoning_content` (DeepSeek, vLLM) or
//! `reasoning` (OpenRouter, Ollama), a `refusal` kept as text, legacy `function_call`,
//! unknown finish reasons read as `stop`.

use serde::Deserialize;

use super::error::{UpstreamError, stream_error};
use super::inbound_wire::{ArgumentsText, WireContent};
use super::parse_finish_reason;
use super::usage::WireUsageIn;
use crate::{ApiError, ChatResponse, Choice, FinishReason, Message, Part, Role, ToolCall};

#[derive(Deserialize)]
struct CompletionIn {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    created: Option<i64>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    choices: Option<Vec<ChoiceIn>>,
    #[serde(default)]
    usage: Option<WireUsageIn>,
    /// Some servers answer errors with HTTP 200 and an error body.
    #[serde(default)]
    error: Option<UpstreamError>,
}

#[derive(Deserialize)]
struct ChoiceIn {
    #[serde(default)]
    index: Option<u32>,
    #[serde(default)]
    message: Option<MessageIn>,
    #[serde(default)]
    finish_reason: Option<String>,
    /// vLLM: the stop string that ended generation (or a token id, ignored).
    #[serde(default)]
    stop_reason: Option<serde_json::Value>,
}

#[derive(Deserialize, Default)]
pub(crate) struct MessageIn {
    #[serde(default)]
    content: Option<ContentIn>,
    #[serde(default)]
    reasoning_content: Option<String>,
    #[serde(default)]
    reasoning: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<ToolCallIn>>,
    #[serde(default)]
    function_call: Option<FunctionIn>,
}

/// Assistant content: a string, or (rarely) an array of text parts. A visitor
/// ([`WireContent`]) rather than `#[serde(untagged)]`, which buffers the value into a
/// generic tree and then tries each shape: that showed in profiles of every answer.
type ContentIn = WireContent<TextPartIn>;

#[derive(Deserialize)]
struct TextPartIn {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
}

#[derive(Deserialize)]
struct ToolCallIn {
    #[serde(default)]
    id: Option<String>,
    function: FunctionIn,
}

#[derive(Deserialize)]
struct FunctionIn {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    arguments: ArgumentsText,
}

/// Reads a non-streamed answer. A body that is not a chat completion is a bad gateway.
pub fn decode_chat_response(body: &[u8]) -> Result<ChatResponse, ApiError> {
    let wire: CompletionIn = serde_json::from_slice(body).map_err(ApiError::bad_upstream)?;
    if let Some(err) = wire.error {
        return Err(stream_error(err));
    }
    let Some(choices) = wire.choices else {
        return Err(ApiError::bad_upstream("the body has no `choices`"));
    };
    let choices = choices
        .into_iter()
        .enumerate()
        .map(|(position, c)| choice(c, position))
        .collect();
    Ok(ChatResponse {
        id: wire.id.unwrap_or_default(),
        model: wire.model.unwrap_or_default(),
        created: wire.created.unwrap_or(0),
        choices,
        usage: wire.usage.map(Into::into).unwrap_or_default(),
    })
}

fn choice(c: ChoiceIn, position: usize) -> Choice {
    let index = c
        .index
        .unwrap_or(u32::try_from(position).unwrap_or(u32::MAX));
    let message = c.message.unwrap_or_default();
    let mut content = Vec::new();
    if let Some(text) = message
        .reasoning_content
        .or(message.reasoning)
        .filter(|t| !t.is_empty())
    {
        content.push(Part::Thinking {
            text,
            signature: None,
        });
    }
    match message.content {
        Some(ContentIn::Text(text)) if !text.is_empty() => content.push(Part::Text { text }),
        Some(ContentIn::Parts(parts)) => {
            for p in parts {
                if let Some(text) = p.text.or(p.refusal).filter(|t| !t.is_empty()) {
                    content.push(Part::Text { text });
                }
            }
        }
        _ => {}
    }
    if let Some(text) = message.refusal.filter(|t| !t.is_empty()) {
        content.push(Part::Text { text });
    }
    for (i, call) in message.tool_calls.into_iter().flatten().enumerate() {
        content.push(Part::ToolCall(ToolCall {
            id: call
                .id
                .filter(|id| !id.is_empty())
                .unwrap_or_else(|| synthetic_call_id(index, i)),
            name: call.function.name.unwrap_or_default(),
            arguments: call.function.arguments.0,
        }));
    }
    if let Some(call) = message.function_call {
        let name = call.name.unwrap_or_default();
        content.push(Part::ToolCall(ToolCall {
            id: format!("call_{name}"),
            name,
            arguments: call.arguments.0,
        }));
    }
    let has_calls = content.iter().any(|p| matches!(p, Part::ToolCall(_)));
    let finish_reason = match c.finish_reason.as_deref() {
        // Ollama and some llama.cpp versions say `stop` after calling tools.
        Some(r) => match parse_finish_reason(r) {
            FinishReason::Stop if has_calls => FinishReason::ToolCalls,
            other => other,
        },
        // Some servers omit it; a turn that called tools ended to wait for their results.
        None if has_calls => FinishReason::ToolCalls,
        None => FinishReason::Stop,
    };
    let stop_sequence = match c.stop_reason {
        Some(serde_json::Value::String(s)) => Some(s),
        _ => None,
    };
    Choice {
        index,
        message: Message {
            role: Role::Assistant,
            content,
            name: None,
        },
        finish_reason,
        stop_sequence,
    }
}

/// Servers that omit tool-call ids (some llama.cpp and Ollama versions) still need
/// one id per call so results can be paired with calls.
pub(crate) fn synthetic_call_id(choice: u32, index: usize) -> String {
    format!("call_{choice}_{index}")
}
