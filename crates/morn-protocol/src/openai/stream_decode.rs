//! Upstream Chat Completions streaming: `chat.completion.chunk` SSE events → canonical
//! [`StreamEvent`]s.
//!
//! - The first chunk with choices or usage gives `Start` (Azure's leading
//!   `prompt_filter_results` chunk, with no choices, is skipped).
//! - `delta.content` → `TextDelta`; `delta.reasoning_content` (DeepSeek, vLLM) or
//!   `delta.reasoning` (OpenRouter, Ollama) → `ThinkingDelta`; `delta.refusal` → text.
//! - Tool calls are tracked per choice by their upstream `index`: `ToolCallStart` once
//!   the name is known (an id is made up if the server sends none), then
//!   `ToolCallDelta` per argument fragment. Fragments that arrive before the name are
//!   held back and sent right after the start. A server that sends name and complete
//!   arguments in one delta yields a start then one delta. A new `id` on an index
//!   already in use (a known server bug) starts a new call. Canonical indices count the
//!   calls of a choice from 0 in order of appearance, whatever the upstream numbering.
//! - `finish_reason` → `Finish`; `stop` after tool calls is reported as `tool_calls`
//!   (Ollama and some llama.cpp versions say `stop`; Anthropic clients need to know).
//! - Usage (its own chunk with `choices: []`, or inside the finish chunk as vLLM sends
//!   it, or on every chunk with vLLM's continuous stats: the last one wins) is held and
//!   emitted once as `Usage` when `[DONE]` arrives, which also marks the stream complete.
//! - A chunk with an `error` member → `StreamEvent::Error`.

use std::borrow::Cow;
use std::ops::Range;

use serde::Deserialize;

use super::error::{UpstreamError, stream_error};
use super::inbound_wire::ArgumentsText;
use super::parse_finish_reason;
use super::response_decode::synthetic_call_id;
use super::stream_scan::scan_chunk;
use super::usage::WireUsageIn;
use crate::stream_template::Template;
use crate::{ApiError, FinishReason, SseEvent, StreamDecoder, StreamEvent, Usage};

/// Upstream OpenAI SSE → canonical events. One per upstream stream.
#[derive(Debug, Default)]
pub struct ChatStreamDecoder {
    started: bool,
    complete: bool,
    usage: Option<Usage>,
    calls: Vec<CallState>,
    /// The last plain text chunk read whole, to read the next ones by comparison
    /// (`stream_template.rs`).
    template: Option<Template>,
}

#[derive(Debug)]
struct CallState {
    choice: u32,
    upstream_index: u32,
    /// Canonical index within the choice.
    index: u32,
    id: Option<String>,
    name: Option<String>,
    started: bool,
    /// Argument fragments received before the name.
    pending: String,
}

/// `id` and `model` are borrowed: every chunk repeats them and only the first is used.
/// The usual chunks are read by `stream_scan.rs` into this same struct.
#[derive(Deserialize, Default)]
pub(super) struct ChunkIn<'a> {
    #[serde(default, borrow)]
    pub id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub model: Option<Cow<'a, str>>,
    #[serde(default)]
    pub choices: Option<Vec<ChoiceIn>>,
    #[serde(default)]
    pub usage: Option<WireUsageIn>,
    #[serde(default)]
    pub error: Option<UpstreamError>,
    /// Where the last member's value lies (quotes included) when it is a string Morn
    /// does not read, such as OpenAI's `obfuscation`; set by `stream_scan.rs` only.
    #[serde(skip)]
    pub free_tail_at: Option<Range<usize>>,
}

#[derive(Deserialize, Default)]
pub(super) struct ChoiceIn {
    #[serde(default)]
    pub index: Option<u32>,
    #[serde(default)]
    pub delta: Option<DeltaIn>,
    #[serde(default)]
    pub finish_reason: Option<String>,
    #[serde(default)]
    pub stop_reason: Option<serde_json::Value>,
}

#[derive(Deserialize, Default)]
pub(super) struct DeltaIn {
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default)]
    pub reasoning_content: Option<String>,
    #[serde(default)]
    pub reasoning: Option<String>,
    #[serde(default)]
    pub refusal: Option<String>,
    #[serde(default)]
    pub tool_calls: Option<Vec<ToolDeltaIn>>,
    #[serde(default)]
    pub function_call: Option<FunctionDeltaIn>,
    /// Where `content`'s string lies in the chunk (quotes included); set by
    /// `stream_scan.rs` only.
    #[serde(skip)]
    pub content_at: Option<Range<usize>>,
}

#[derive(Deserialize)]
pub(super) struct ToolDeltaIn {
    #[serde(default)]
    index: Option<u32>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    function: Option<FunctionDeltaIn>,
}

#[derive(Deserialize)]
pub(super) struct FunctionDeltaIn {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    arguments: Option<ArgumentsText>,
}

impl ChatStreamDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    fn choice(&mut self, position: usize, c: ChoiceIn, out: &mut Vec<StreamEvent>) {
        let choice = c
            .index
            .unwrap_or(u32::try_from(position).unwrap_or(u32::MAX));
        if let Some(delta) = c.delta {
            if let Some(text) = delta
                .reasoning_content
                .or(delta.reasoning)
                .filter(|t| !t.is_empty())
            {
                out.push(StreamEvent::ThinkingDelta { choice, text });
            }
            for text in [delta.content, delta.refusal].into_iter().flatten() {
                if !text.is_empty() {
                    out.push(StreamEvent::TextDelta { choice, text });
                }
            }
            for (pos, call) in delta.tool_calls.into_iter().flatten().enumerate() {
                let upstream_index = call.index.unwrap_or(u32::try_from(pos).unwrap_or(u32::MAX));
                let (name, arguments) = match call.function {
                    Some(f) => (f.name, f.arguments.map(|a| a.0)),
                    None => (None, None),
                };
                self.tool_delta(choice, upstream_index, call.id, name, arguments, out);
            }
            if let Some(f) = delta.function_call {
                let id = f.name.as_ref().map(|n| format!("call_{n}"));
                self.tool_delta(choice, u32::MAX, id, f.name, f.arguments.map(|a| a.0), out);
            }
        }
        if let Some(reason) = c.finish_reason {
            self.flush_calls(choice, out);
            let mut reason = parse_finish_reason(&reason);
            if reason == FinishReason::Stop && self.calls.iter().any(|s| s.choice == choice) {
                reason = FinishReason::ToolCalls;
            }
            let stop_sequence = match c.stop_reason {
                Some(serde_json::Value::String(s)) => Some(s),
                _ => None,
            };
            out.push(StreamEvent::Finish {
                choice,
                reason,
                stop_sequence,
            });
        }
    }

    fn tool_delta(
        &mut self,
        choice: u32,
        upstream_index: u32,
        id: Option<String>,
        name: Option<String>,
        arguments: Option<String>,
        out: &mut Vec<StreamEvent>,
    ) {
        let id = id.filter(|s| !s.is_empty());
        let name = name.filter(|s| !s.is_empty());
        let existing = self.calls.iter().rposition(|s| {
            s.choice == choice
                && s.upstream_index == upstream_index
                && !(s.started && id.is_some() && s.id != id)
        });
        let slot = match existing {
            Some(i) => i,
            None => {
                let index = self.calls.iter().filter(|s| s.choice == choice).count();
                self.calls.push(CallState {
                    choice,
                    upstream_index,
                    index: u32::try_from(index).unwrap_or(u32::MAX),
                    id: None,
                    name: None,
                    started: false,
                    pending: String::new(),
                });
                self.calls.len() - 1
            }
        };
        let Some(state) = self.calls.get_mut(slot) else {
            return;
        };
        if !state.started {
            if id.is_some() {
                state.id = id;
            }
            if name.is_some() {
                state.name = name;
            }
        }
        let arguments = arguments.unwrap_or_default();
        if state.started {
            if !arguments.is_empty() {
                out.push(StreamEvent::ToolCallDelta {
                    choice,
                    index: state.index,
                    arguments,
                });
            }
            return;
        }
        state.pending.push_str(&arguments);
        if state.name.is_some() {
            start_call(state, out);
        }
    }

    /// Starts the calls of `choice` that never got a name (so that no fragment is lost)
    /// before its finish.
    fn flush_calls(&mut self, choice: u32, out: &mut Vec<StreamEvent>) {
        for state in self
            .calls
            .iter_mut()
            .filter(|s| s.choice == choice && !s.started)
        {
            start_call(state, out);
        }
    }
}

/// Where the text of `chunk` lies and its choice, when that text is all the chunk
/// says: one choice, with no finish, no other delta member, and no usage. Only
/// chunks read by `stream_scan.rs` know where their text lies.
fn plain_text(chunk: &ChunkIn<'_>) -> Option<(Range<usize>, u32)> {
    if chunk.usage.is_some() || chunk.error.is_some() {
        return None;
    }
    let [choice] = chunk.choices.as_deref()? else {
        return None;
    };
    if choice.finish_reason.is_some() || choice.stop_reason.is_some() {
        return None;
    }
    let delta = choice.delta.as_ref()?;
    let only_text = delta.reasoning_content.is_none()
        && delta.reasoning.is_none()
        && delta.refusal.is_none()
        && delta.tool_calls.is_none()
        && delta.function_call.is_none();
    only_text.then_some(())?;
    Some((delta.content_at.clone()?, choice.index.unwrap_or(0)))
}

fn start_call(state: &mut CallState, out: &mut Vec<StreamEvent>) {
    state.started = true;
    let id = state
        .id
        .clone()
        .unwrap_or_else(|| synthetic_call_id(state.choice, state.index as usize));
    out.push(StreamEvent::ToolCallStart {
        choice: state.choice,
        index: state.index,
        id,
        name: state.name.clone().unwrap_or_default(),
    });
    if !state.pending.is_empty() {
        out.push(StreamEvent::ToolCallDelta {
            choice: state.choice,
            index: state.index,
            arguments: std::mem::take(&mut state.pending),
        });
    }
}

impl StreamDecoder for ChatStreamDecoder {
    fn decode(&mut self, event: &SseEvent, out: &mut Vec<StreamEvent>) -> Result<(), ApiError> {
        if self.complete {
            return Ok(());
        }
        // JSON whitespace is ASCII; `trim` would decode characters at both ends.
        let data = event.data.trim_ascii();
        if data == "[DONE]" {
            self.complete = true;
            if let Some(usage) = self.usage.take() {
                out.push(StreamEvent::Usage(usage));
            }
            return Ok(());
        }
        if data.is_empty() {
            return Ok(());
        }
        if let Some(template) = &self.template
            && let Some(text) = template.text(data)
        {
            // What reading it whole would give: the decoder has started (the
            // template's chunk started it) and the chunk holds this text and nothing
            // else that makes an event or changes state.
            if !text.is_empty() {
                out.push(StreamEvent::TextDelta {
                    choice: template.choice,
                    text: text.into_owned(),
                });
            }
            return Ok(());
        }
        let chunk = match scan_chunk(data) {
            Some(chunk) => chunk,
            None => serde_json::from_str(data).map_err(ApiError::bad_upstream)?,
        };
        if let Some(err) = chunk.error {
            out.push(StreamEvent::Error(stream_error(err)));
            return Ok(());
        }
        if let Some((text, choice)) = plain_text(&chunk) {
            self.template.get_or_insert_with(Template::default).set(
                data,
                text,
                chunk.free_tail_at.clone(),
                choice,
            );
        }
        let choices = chunk.choices.unwrap_or_default();
        if !self.started && (!choices.is_empty() || chunk.usage.is_some()) {
            self.started = true;
            out.push(StreamEvent::Start {
                id: chunk.id.map(Cow::into_owned).unwrap_or_default(),
                model: chunk.model.map(Cow::into_owned).unwrap_or_default(),
                usage: None,
            });
        }
        for (position, c) in choices.into_iter().enumerate() {
            self.choice(position, c, out);
        }
        if let Some(usage) = chunk.usage {
            self.usage = Some(usage.into());
        }
        Ok(())
    }

    fn is_complete(&self) -> bool {
        self.complete
    }
}

#[cfg(test)]
#[path = "stream_template_tests.rs"]
mod template_tests;
