//! Gemini `GenerateContentResponse` → canonical `ChatResponse`, and the conversions
//! the stream decoder shares with it (finish reasons, usage, tool calls).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use super::wire::{Candidate, FunctionCallIn, GenerateContentResponse, PartIn, UsageMetadata};
use super::{ids, json};
use crate::{ApiError, ChatResponse, Choice, FinishReason, Message, Part, Role, ToolCall, Usage};

/// See [`super::decode_generate_response`].
pub(super) fn decode(body: &[u8]) -> Result<ChatResponse, ApiError> {
    let response: GenerateContentResponse<'_> =
        serde_json::from_slice(body).map_err(ApiError::bad_upstream)?;
    if let Some(error) = response.error {
        return Err(super::error::from_status(
            error.code.unwrap_or(500),
            error,
            None,
        ));
    }
    let mut choices = Vec::with_capacity(response.candidates.len().max(1));
    for (position, candidate) in response.candidates.iter().enumerate() {
        choices.push(choice(position, candidate));
    }
    if choices.is_empty() {
        // A blocked prompt has no candidates at all, only the block reason.
        if prompt_blocked(&response) {
            choices.push(Choice {
                index: 0,
                message: Message {
                    role: Role::Assistant,
                    content: Vec::new(),
                    name: None,
                },
                finish_reason: FinishReason::ContentFilter,
                stop_sequence: None,
            });
        } else {
            return Err(ApiError::bad_upstream("the answer has no candidates"));
        }
    }
    Ok(ChatResponse {
        id: response.response_id.unwrap_or_else(generated_id),
        model: response.model_version.unwrap_or_default(),
        created: 0,
        choices,
        usage: response
            .usage_metadata
            .as_ref()
            .map(usage)
            .unwrap_or_default(),
    })
}

fn choice(position: usize, candidate: &Candidate<'_>) -> Choice {
    let index = candidate_index(position, candidate);
    let mut content = Vec::new();
    let mut calls = 0u32;
    for part in candidate.content.iter().flat_map(|c| &c.parts) {
        if let Some(call) = &part.function_call {
            content.push(Part::ToolCall(tool_call(index, calls, call, part)));
            calls += 1;
        } else if let Some(text) = part.text.as_deref().filter(|t| !t.is_empty()) {
            // Consecutive pieces of the same kind are one part, as a stream would
            // accumulate them.
            match (content.last_mut(), part.thought) {
                (Some(Part::Thinking { text: prev, .. }), true)
                | (Some(Part::Text { text: prev }), false) => prev.push_str(text),
                (_, true) => content.push(Part::Thinking {
                    text: text.to_owned(),
                    signature: None,
                }),
                (_, false) => content.push(Part::Text {
                    text: text.to_owned(),
                }),
            }
        }
    }
    Choice {
        index,
        message: Message {
            role: Role::Assistant,
            content,
            name: None,
        },
        finish_reason: finish_reason(candidate.finish_reason.as_deref(), calls > 0),
        stop_sequence: None,
    }
}

/// A candidate's `index`, or its position when the upstream omitted it.
pub(super) fn candidate_index(position: usize, candidate: &Candidate<'_>) -> u32 {
    candidate
        .index
        .unwrap_or_else(|| u32::try_from(position).unwrap_or(u32::MAX))
}

pub(super) fn prompt_blocked(response: &GenerateContentResponse<'_>) -> bool {
    response
        .prompt_feedback
        .as_ref()
        .is_some_and(|f| f.block_reason.is_some())
}

/// The canonical tool call for the `n`th function call of choice `choice`.
pub(super) fn tool_call(
    choice: u32,
    n: u32,
    call: &FunctionCallIn<'_>,
    part: &PartIn<'_>,
) -> ToolCall {
    ToolCall {
        id: ids::tool_call_id(
            choice,
            n,
            call.id.as_deref(),
            part.thought_signature.as_deref(),
        ),
        name: call.name.clone(),
        arguments: call
            .args
            .map_or_else(|| "{}".to_owned(), |raw| json::compact(raw.get())),
    }
}

/// Gemini's `finishReason` in canonical terms. A natural stop after function calls is
/// `ToolCalls` (Gemini says `STOP` there).
pub(super) fn finish_reason(reason: Option<&str>, has_tool_calls: bool) -> FinishReason {
    match reason {
        Some("MAX_TOKENS") => FinishReason::Length,
        Some(
            "SAFETY"
            | "RECITATION"
            | "BLOCKLIST"
            | "PROHIBITED_CONTENT"
            | "SPII"
            | "IMAGE_SAFETY"
            | "IMAGE_PROHIBITED_CONTENT"
            | "IMAGE_RECITATION",
        ) => FinishReason::ContentFilter,
        None | Some("STOP") if has_tool_calls => FinishReason::ToolCalls,
        _ => FinishReason::Stop,
    }
}

/// `usageMetadata` in canonical terms: input includes cached and tool-use prompt
/// tokens, output includes thinking tokens.
pub(super) fn usage(meta: &UsageMetadata) -> Usage {
    Usage {
        input_tokens: meta.prompt_token_count + meta.tool_use_prompt_token_count,
        output_tokens: meta.candidates_token_count + meta.thoughts_token_count,
        cache_read_tokens: meta.cached_content_token_count,
        cache_write_tokens: 0,
        reasoning_tokens: meta.thoughts_token_count,
    }
}

/// An id for an answer without `responseId` (Gemini always sends one today).
pub(super) fn generated_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("gen-{nanos:x}{n:04x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finish_reasons_map_to_canonical() {
        assert_eq!(finish_reason(Some("STOP"), false), FinishReason::Stop);
        assert_eq!(finish_reason(Some("STOP"), true), FinishReason::ToolCalls);
        assert_eq!(
            finish_reason(Some("MAX_TOKENS"), true),
            FinishReason::Length
        );
        for r in [
            "SAFETY",
            "RECITATION",
            "BLOCKLIST",
            "PROHIBITED_CONTENT",
            "SPII",
            "IMAGE_SAFETY",
        ] {
            assert_eq!(
                finish_reason(Some(r), false),
                FinishReason::ContentFilter,
                "{r}"
            );
        }
        assert_eq!(
            finish_reason(Some("MALFORMED_FUNCTION_CALL"), false),
            FinishReason::Stop
        );
        assert_eq!(finish_reason(Some("OTHER"), false), FinishReason::Stop);
    }

    #[test]
    fn generated_ids_differ() {
        assert_ne!(generated_id(), generated_id());
    }
}
