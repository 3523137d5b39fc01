//! Canonical stream events → Anthropic Messages SSE, for clients of `/v1/messages` with
//! `stream: true`.
//!
//! The sequence is Anthropic's own: `message_start`, `ping`, then for each content block
//! `content_block_start`, `content_block_delta`s and `content_block_stop` (indices from 0
//! in output order), then `message_delta` with the stop reason and usage, then
//! `message_stop`. Only choice 0 is rendered: Anthropic has no `n`.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

use super::render::error_envelope;
use super::wire::{UsageOut, stop_reason_out, write_sse};
use crate::{FinishReason, StreamEncoder, StreamEvent, Usage};

/// The kind of content block currently open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OpenBlock {
    Text,
    Thinking,
    /// A `tool_use` block for the canonical tool call with this index.
    Tool(u32),
}

/// Per-stream state of the Anthropic SSE encoder.
#[derive(Debug, Default)]
pub struct MessagesStreamEncoder {
    started: bool,
    /// An error was written (or the stream was finished): nothing more is written.
    done: bool,
    open: Option<OpenBlock>,
    next_index: u32,
    start_usage: Option<Usage>,
    usage: Option<Usage>,
    finish: Option<(FinishReason, Option<String>)>,
}

impl MessagesStreamEncoder {
    pub fn new() -> Self {
        Self::default()
    }

    fn start(&mut self, id: &str, model: &str, usage: Option<Usage>, out: &mut Vec<u8>) {
        self.started = true;
        self.start_usage = usage;
        let usage = usage
            .map(|u| UsageOut::from_canonical(&u))
            .unwrap_or_default();
        let event = MessageStart {
            kind: "message_start",
            message: StartMessage {
                id,
                kind: "message",
                role: "assistant",
                model,
                content: [],
                stop_reason: None,
                stop_sequence: None,
                usage,
            },
        };
        write_sse(out, "message_start", &event);
        write_sse(out, "ping", &Typed { kind: "ping" });
    }

    /// Events before a `Start` should not happen; if they do, the client still gets a
    /// well-formed stream with an id Morn made up.
    fn ensure_started(&mut self, out: &mut Vec<u8>) {
        if !self.started {
            let id = generated_id();
            self.start(&id, "", None, out);
        }
    }

    /// Makes `block` the open block, closing another one first. Returns its index.
    fn open_block(&mut self, block: OpenBlock, start: &BlockStart<'_>, out: &mut Vec<u8>) -> u32 {
        if self.open != Some(block) {
            self.close_block(out);
            self.open = Some(block);
            let event = ContentBlockStart {
                kind: "content_block_start",
                index: self.next_index,
                content_block: start,
            };
            write_sse(out, "content_block_start", &event);
        }
        self.next_index
    }

    fn close_block(&mut self, out: &mut Vec<u8>) {
        if self.open.take().is_some() {
            write_sse(
                out,
                "content_block_stop",
                &IndexOnly {
                    kind: "content_block_stop",
                    index: self.next_index,
                },
            );
            self.next_index += 1;
        }
    }

    fn delta(
        &mut self,
        block: OpenBlock,
        start: &BlockStart<'_>,
        delta: &Delta<'_>,
        out: &mut Vec<u8>,
    ) {
        let index = self.open_block(block, start, out);
        let event = ContentBlockDelta {
            kind: "content_block_delta",
            index,
            delta,
        };
        write_sse(out, "content_block_delta", &event);
    }
}

impl StreamEncoder for MessagesStreamEncoder {
    fn encode(&mut self, event: &StreamEvent, out: &mut Vec<u8>) {
        if self.done {
            return;
        }
        match event {
            StreamEvent::Start { id, model, usage } if !self.started => {
                self.start(id, model, *usage, out);
            }
            StreamEvent::TextDelta { choice: 0, text } if !text.is_empty() => {
                self.ensure_started(out);
                self.delta(
                    OpenBlock::Text,
                    &BlockStart::Text { text: "" },
                    &Delta::Text { text },
                    out,
                );
            }
            StreamEvent::ThinkingDelta { choice: 0, text } if !text.is_empty() => {
                self.ensure_started(out);
                let delta = Delta::Thinking { thinking: text };
                self.delta(OpenBlock::Thinking, &THINKING_START, &delta, out);
            }
            StreamEvent::ThinkingSignature {
                choice: 0,
                signature,
            } => {
                self.ensure_started(out);
                let delta = Delta::Signature { signature };
                self.delta(OpenBlock::Thinking, &THINKING_START, &delta, out);
            }
            StreamEvent::ToolCallStart {
                choice: 0,
                index,
                id,
                name,
            } => {
                self.ensure_started(out);
                // A new tool call always opens a new block, even right after another one.
                self.close_block(out);
                let start = BlockStart::ToolUse {
                    id,
                    name,
                    input: Empty {},
                };
                self.open_block(OpenBlock::Tool(*index), &start, out);
            }
            // Anthropic cannot reopen a closed block, so a fragment for a tool call that
            // is no longer the open block cannot be expressed and falls to the last arm;
            // upstreams stream tool calls one after another, so that is only noise.
            StreamEvent::ToolCallDelta {
                choice: 0,
                index,
                arguments,
            } if !arguments.is_empty() && self.open == Some(OpenBlock::Tool(*index)) => {
                let delta = Delta::InputJson {
                    partial_json: arguments,
                };
                let event = ContentBlockDelta {
                    kind: "content_block_delta",
                    index: self.next_index,
                    delta: &delta,
                };
                write_sse(out, "content_block_delta", &event);
            }
            StreamEvent::Finish {
                choice: 0,
                reason,
                stop_sequence,
            } => {
                self.finish = Some((*reason, stop_sequence.clone()));
            }
            StreamEvent::Usage(usage) => self.usage = Some(*usage),
            StreamEvent::Error(err) => {
                self.done = true;
                write_sse(out, "error", &error_envelope(err));
            }
            // Other choices, and empty deltas.
            _ => {}
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        if self.done {
            return;
        }
        self.ensure_started(out);
        self.close_block(out);
        self.done = true;
        let (reason, stop_sequence) = match &self.finish {
            Some((reason, seq)) => (*reason, seq.as_deref()),
            None => (FinishReason::Stop, None),
        };
        // Without a final usage event, the input counts known at the start still hold.
        let usage = self.usage.or(self.start_usage.map(|u| Usage {
            output_tokens: 0,
            ..u
        }));
        let event = MessageDelta {
            kind: "message_delta",
            delta: StopDelta {
                stop_reason: stop_reason_out(reason, stop_sequence),
                stop_sequence,
            },
            usage: usage
                .map(|u| UsageOut::from_canonical(&u))
                .unwrap_or_default(),
        };
        write_sse(out, "message_delta", &event);
        write_sse(
            out,
            "message_stop",
            &Typed {
                kind: "message_stop",
            },
        );
    }
}

/// A `msg_` id for streams that never got a `Start` (unique within the process).
fn generated_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("msg_morn{nanos:016x}{n:04x}")
}

const THINKING_START: BlockStart<'static> = BlockStart::Thinking {
    thinking: "",
    signature: "",
};

#[derive(Serialize)]
struct Typed {
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
struct Empty {}

#[derive(Serialize)]
struct MessageStart<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    message: StartMessage<'a>,
}

#[derive(Serialize)]
struct StartMessage<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    role: &'static str,
    model: &'a str,
    content: [(); 0],
    stop_reason: Option<&'static str>,
    stop_sequence: Option<&'static str>,
    usage: UsageOut,
}

#[derive(Serialize)]
struct IndexOnly {
    #[serde(rename = "type")]
    kind: &'static str,
    index: u32,
}

#[derive(Serialize)]
struct ContentBlockStart<'a, 'b> {
    #[serde(rename = "type")]
    kind: &'static str,
    index: u32,
    content_block: &'b BlockStart<'a>,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum BlockStart<'a> {
    Text {
        text: &'a str,
    },
    Thinking {
        thinking: &'a str,
        signature: &'a str,
    },
    ToolUse {
        id: &'a str,
        name: &'a str,
        input: Empty,
    },
}

#[derive(Serialize)]
struct ContentBlockDelta<'a, 'b> {
    #[serde(rename = "type")]
    kind: &'static str,
    index: u32,
    delta: &'b Delta<'a>,
}

#[derive(Serialize)]
#[serde(tag = "type")]
enum Delta<'a> {
    #[serde(rename = "text_delta")]
    Text { text: &'a str },
    #[serde(rename = "thinking_delta")]
    Thinking { thinking: &'a str },
    #[serde(rename = "signature_delta")]
    Signature { signature: &'a str },
    #[serde(rename = "input_json_delta")]
    InputJson { partial_json: &'a str },
}

#[derive(Serialize)]
struct MessageDelta<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    delta: StopDelta<'a>,
    usage: UsageOut,
}

#[derive(Serialize)]
struct StopDelta<'a> {
    stop_reason: &'static str,
    stop_sequence: Option<&'a str>,
}
