//! `streamGenerateContent?alt=sse` → canonical stream events.
//!
//! Every SSE `data:` is a whole `GenerateContentResponse` holding the next slice of
//! each candidate. Function calls are never split: each arrives whole in one part, so
//! it becomes a `ToolCallStart` and one `ToolCallDelta` with all its arguments.
//! `usageMetadata` is cumulative; the latest one is reported once every candidate seen
//! has a `finishReason`, which is also how the end is recognised (Gemini has no
//! `[DONE]`).

use super::response::{
    candidate_index, finish_reason, generated_id, prompt_blocked, tool_call, usage,
};
use super::wire::{Candidate, GenerateContentResponse};
use crate::{ApiError, FinishReason, SseEvent, StreamDecoder, StreamEvent, Usage};

/// Decoder state for one Gemini stream.
#[derive(Debug, Default)]
pub struct GenerateStreamDecoder {
    started: bool,
    /// Per candidate index seen: tool calls so far, and whether it has finished.
    choices: Vec<ChoiceState>,
    /// The latest (cumulative) usage.
    usage: Option<Usage>,
    complete: bool,
}

#[derive(Debug)]
struct ChoiceState {
    index: u32,
    tool_calls: u32,
    finished: bool,
}

impl GenerateStreamDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    fn choice(&mut self, index: u32) -> &mut ChoiceState {
        let position = match self.choices.iter().position(|c| c.index == index) {
            Some(p) => p,
            None => {
                self.choices.push(ChoiceState {
                    index,
                    tool_calls: 0,
                    finished: false,
                });
                self.choices.len() - 1
            }
        };
        &mut self.choices[position]
    }

    fn candidate(
        &mut self,
        position: usize,
        candidate: &Candidate<'_>,
        out: &mut Vec<StreamEvent>,
    ) {
        let index = candidate_index(position, candidate);
        let state = self.choice(index);
        if state.finished {
            return;
        }
        for part in candidate.content.iter().flat_map(|c| &c.parts) {
            if let Some(call) = &part.function_call {
                let call = tool_call(index, state.tool_calls, call, part);
                let tool_index = state.tool_calls;
                state.tool_calls += 1;
                out.push(StreamEvent::ToolCallStart {
                    choice: index,
                    index: tool_index,
                    id: call.id,
                    name: call.name,
                });
                out.push(StreamEvent::ToolCallDelta {
                    choice: index,
                    index: tool_index,
                    arguments: call.arguments,
                });
            } else if let Some(text) = part.text.as_deref().filter(|t| !t.is_empty()) {
                let text = text.to_owned();
                out.push(if part.thought {
                    StreamEvent::ThinkingDelta {
                        choice: index,
                        text,
                    }
                } else {
                    StreamEvent::TextDelta {
                        choice: index,
                        text,
                    }
                });
            }
        }
        if let Some(reason) = candidate.finish_reason.as_deref() {
            state.finished = true;
            let reason = finish_reason(Some(reason), state.tool_calls > 0);
            out.push(StreamEvent::Finish {
                choice: index,
                reason,
                stop_sequence: None,
            });
        }
    }
}

impl StreamDecoder for GenerateStreamDecoder {
    fn decode(&mut self, event: &SseEvent, out: &mut Vec<StreamEvent>) -> Result<(), ApiError> {
        if self.complete || event.data.trim().is_empty() {
            return Ok(());
        }
        let chunk: GenerateContentResponse<'_> =
            serde_json::from_str(&event.data).map_err(ApiError::bad_upstream)?;
        if let Some(error) = chunk.error {
            let status = error.code.unwrap_or(500);
            out.push(StreamEvent::Error(super::error::from_status(
                status, error, None,
            )));
            return Ok(());
        }
        if !self.started {
            self.started = true;
            out.push(StreamEvent::Start {
                id: chunk.response_id.clone().unwrap_or_else(generated_id),
                model: chunk.model_version.clone().unwrap_or_default(),
                usage: None,
            });
        }
        if let Some(meta) = &chunk.usage_metadata {
            self.usage = Some(usage(meta));
        }
        if chunk.candidates.is_empty() && prompt_blocked(&chunk) {
            let state = self.choice(0);
            if !state.finished {
                state.finished = true;
                out.push(StreamEvent::Finish {
                    choice: 0,
                    reason: FinishReason::ContentFilter,
                    stop_sequence: None,
                });
            }
        }
        for (position, candidate) in chunk.candidates.iter().enumerate() {
            self.candidate(position, candidate, out);
        }
        if !self.choices.is_empty() && self.choices.iter().all(|c| c.finished) {
            self.complete = true;
            if let Some(usage) = self.usage {
                out.push(StreamEvent::Usage(usage));
            }
        }
        Ok(())
    }

    fn is_complete(&self) -> bool {
        self.complete
    }
}
