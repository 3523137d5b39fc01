//! Upstream streams: Anthropic Messages SSE events → canonical stream events.
//!
//! | Anthropic event                         | canonical                                  |
//! |-----------------------------------------|--------------------------------------------|
//! | `message_start`                         | `Start` with the input usage               |
//! | `content_block_start` text / thinking   | a delta when the block starts non-empty    |
//! | `content_block_start` tool_use          | `ToolCallStart` (+ `ToolCallDelta` if `input` is not `{}`) |
//! | `text_delta`, `thinking_delta`          | `TextDelta`, `ThinkingDelta`               |
//! | `signature_delta`                       | `ThinkingSignature`                        |
//! | `input_json_delta`                      | `ToolCallDelta`                            |
//! | `message_delta`                         | remembered: stop reason, usage             |
//! | `message_stop`                          | `Finish`, then `Usage`; the stream is complete |
//! | `error`                                 | `Error`                                    |
//! | `ping`, `content_block_stop`, unknown   | nothing                                    |
//!
//! Tool indices count `tool_use` blocks from 0; the decoder maps each block index to
//! its tool index, so deltas land on the right call however blocks interleave.

use std::borrow::Cow;
use std::ops::Range;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use super::decode::stream_error;
use super::wire::{BlockIn, ErrorBodyIn, UsageIn, stop_reason_in};
use crate::stream_template::Template;
use crate::{ApiError, SseEvent, StreamDecoder, StreamEvent, Usage};

/// Per-stream state of the Anthropic SSE decoder.
#[derive(Debug, Default)]
pub struct MessagesStreamDecoder {
    complete: bool,
    /// Usage as of `message_start`, updated by `message_delta`.
    usage: UsageIn,
    /// `(block index, tool index)` of every `tool_use` block so far.
    tools: Vec<(u32, u32)>,
    stop_reason: Option<String>,
    stop_sequence: Option<String>,
    /// The last `text_delta` frame read whole, to read the next ones by comparison
    /// (`stream_template.rs`).
    template: Option<Template>,
}

impl MessagesStreamDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    fn tool_index(&self, block: u32) -> Option<u32> {
        // Few tool calls per answer: a linear scan from the end beats hashing.
        self.tools
            .iter()
            .rev()
            .find(|(b, _)| *b == block)
            .map(|(_, t)| *t)
    }

    fn block_start(&mut self, index: u32, block: BlockIn<'_>, out: &mut Vec<StreamEvent>) {
        match block.kind.as_ref() {
            "text" => {
                if let Some(text) = block.text.filter(|t| !t.is_empty()) {
                    out.push(StreamEvent::TextDelta { choice: 0, text });
                }
            }
            "thinking" => {
                if let Some(text) = block.thinking.filter(|t| !t.is_empty()) {
                    out.push(StreamEvent::ThinkingDelta { choice: 0, text });
                }
                if let Some(signature) = block.signature.filter(|s| !s.is_empty()) {
                    out.push(StreamEvent::ThinkingSignature {
                        choice: 0,
                        signature,
                    });
                }
            }
            "tool_use" => {
                let tool = u32::try_from(self.tools.len()).unwrap_or(u32::MAX);
                self.tools.push((index, tool));
                out.push(StreamEvent::ToolCallStart {
                    choice: 0,
                    index: tool,
                    id: block.id.unwrap_or_default(),
                    name: block.name.unwrap_or_default(),
                });
                // Anthropic starts with `input: {}` and streams the arguments; a
                // non-empty starting input is passed on as the first fragment.
                if let Some(input) = block.input.map(|i| i.get()).filter(|i| !is_empty_object(i)) {
                    out.push(StreamEvent::ToolCallDelta {
                        choice: 0,
                        index: tool,
                        arguments: input.to_owned(),
                    });
                }
            }
            // redacted_thinking, server_tool_use, web_search_tool_result, and newer types.
            _ => {}
        }
    }

    fn block_delta(&self, index: u32, delta: DeltaIn<'_>, out: &mut Vec<StreamEvent>) {
        match delta.kind.as_deref() {
            Some("text_delta") => {
                if let Some(text) = delta.text.filter(|t| !t.is_empty()) {
                    out.push(StreamEvent::TextDelta {
                        choice: 0,
                        text: text.into_owned(),
                    });
                }
            }
            Some("thinking_delta") => {
                if let Some(text) = delta.thinking.filter(|t| !t.is_empty()) {
                    out.push(StreamEvent::ThinkingDelta { choice: 0, text });
                }
            }
            Some("signature_delta") => {
                if let Some(signature) = delta.signature {
                    out.push(StreamEvent::ThinkingSignature {
                        choice: 0,
                        signature,
                    });
                }
            }
            Some("input_json_delta") => {
                // Fragments of server tools' inputs have no tool index and are dropped.
                if let (Some(tool), Some(arguments)) = (self.tool_index(index), delta.partial_json)
                    && !arguments.is_empty()
                {
                    out.push(StreamEvent::ToolCallDelta {
                        choice: 0,
                        index: tool,
                        arguments,
                    });
                }
            }
            // citations_delta and newer delta types.
            _ => {}
        }
    }

    fn message_delta(&mut self, delta: Option<DeltaIn<'_>>, usage: Option<UsageIn>) {
        if let Some(delta) = delta {
            if delta.stop_reason.is_some() {
                self.stop_reason = delta.stop_reason;
            }
            if delta.stop_sequence.is_some() {
                self.stop_sequence = delta.stop_sequence;
            }
        }
        // Counts in `message_delta` are cumulative; newer API versions also repeat the
        // input and cache counts there.
        if let Some(usage) = usage {
            let merged = &mut self.usage;
            merged.output_tokens = usage.output_tokens.or(merged.output_tokens);
            merged.input_tokens = usage.input_tokens.or(merged.input_tokens);
            merged.cache_read_input_tokens = usage
                .cache_read_input_tokens
                .or(merged.cache_read_input_tokens);
            merged.cache_creation_input_tokens = usage
                .cache_creation_input_tokens
                .or(merged.cache_creation_input_tokens);
        }
    }
}

impl StreamDecoder for MessagesStreamDecoder {
    fn decode(&mut self, event: &SseEvent, out: &mut Vec<StreamEvent>) -> Result<(), ApiError> {
        if let Some(template) = &self.template
            && let Some(text) = template.text(&event.data)
        {
            // What reading it whole would give: a `text_delta` frame's only effect
            // is its text.
            if !text.is_empty() {
                out.push(StreamEvent::TextDelta {
                    choice: 0,
                    text: text.into_owned(),
                });
            }
            return Ok(());
        }
        let frame: Frame<'_> = serde_json::from_str(&event.data).map_err(ApiError::bad_upstream)?;
        if let Some(text) = text_delta_at(&event.data, &frame) {
            self.template
                .get_or_insert_with(Template::default)
                .set(&event.data, text, None, 0);
        }
        match frame.kind.as_ref() {
            "message_start" => {
                let msg = frame
                    .message
                    .ok_or_else(|| ApiError::bad_upstream("message_start without a message"))?;
                self.usage = msg.usage;
                let usage = Usage {
                    output_tokens: 0,
                    ..msg.usage.to_canonical()
                };
                out.push(StreamEvent::Start {
                    id: msg.id,
                    model: msg.model,
                    usage: Some(usage),
                });
            }
            "content_block_start" => {
                let block = frame
                    .content_block
                    .ok_or_else(|| ApiError::bad_upstream("content_block_start without a block"))?;
                self.block_start(frame.index.unwrap_or(0), block, out);
            }
            "content_block_delta" => {
                let delta = frame
                    .delta
                    .ok_or_else(|| ApiError::bad_upstream("content_block_delta without a delta"))?;
                self.block_delta(frame.index.unwrap_or(0), delta, out);
            }
            "message_delta" => self.message_delta(frame.delta, frame.usage),
            "message_stop" => {
                self.complete = true;
                out.push(StreamEvent::Finish {
                    choice: 0,
                    reason: stop_reason_in(self.stop_reason.as_deref()),
                    stop_sequence: self.stop_sequence.take(),
                });
                out.push(StreamEvent::Usage(self.usage.to_canonical()));
            }
            "error" => {
                let error = frame.error.unwrap_or_default();
                out.push(StreamEvent::Error(stream_error(
                    error.kind.as_deref(),
                    error.message,
                )));
            }
            // ping, content_block_stop, and event types added after this was written.
            _ => {}
        }
        Ok(())
    }

    fn is_complete(&self) -> bool {
        self.complete
    }
}

fn is_empty_object(json: &str) -> bool {
    json.strip_prefix('{')
        .and_then(|s| s.strip_suffix('}'))
        .is_some_and(|inner| inner.trim().is_empty())
}

/// One SSE data payload: every event type's members, all optional, so that one plain
/// struct parses them all without buffering.
#[derive(Deserialize)]
struct Frame<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default)]
    index: Option<u32>,
    #[serde(default)]
    message: Option<StartIn>,
    #[serde(default, borrow)]
    content_block: Option<BlockIn<'a>>,
    #[serde(default, borrow)]
    delta: Option<DeltaIn<'a>>,
    #[serde(default)]
    usage: Option<UsageIn>,
    #[serde(default)]
    error: Option<ErrorBodyIn>,
}

#[derive(Deserialize)]
struct StartIn {
    id: String,
    model: String,
    #[serde(default)]
    usage: UsageIn,
}

#[derive(Deserialize)]
struct DeltaIn<'a> {
    #[serde(rename = "type", default, borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "borrowed_text")]
    text: Option<Cow<'a, str>>,
    #[serde(default)]
    thinking: Option<String>,
    #[serde(default)]
    signature: Option<String>,
    #[serde(default)]
    partial_json: Option<String>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    stop_sequence: Option<String>,
}

/// A string or null, borrowed from the input when it needs no unescaping: `serde`'s
/// own `Option<Cow<str>>` always copies, and the template (`text_delta_at`) needs to
/// know where the text lies.
fn borrowed_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Cow<'de, str>>, D::Error> {
    struct Text;
    impl<'de> Visitor<'de> for Text {
        type Value = Option<Cow<'de, str>>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a string or null")
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_str(self)
        }

        fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Borrowed(text)))
        }

        fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Owned(text.to_owned())))
        }

        fn visit_string<E: de::Error>(self, text: String) -> Result<Self::Value, E> {
            Ok(Some(Cow::Owned(text)))
        }
    }
    d.deserialize_option(Text)
}

/// Where the text of a `text_delta` frame lies in `data` (quotes included), when it
/// was read without unescaping: such a frame's only effect is its text, so it can be
/// the template of the next ones (`stream_template.rs`).
fn text_delta_at(data: &str, frame: &Frame<'_>) -> Option<Range<usize>> {
    let delta = frame.delta.as_ref()?;
    let is_text =
        frame.kind == "content_block_delta" && delta.kind.as_deref() == Some("text_delta");
    let Some(Cow::Borrowed(text)) = &delta.text else {
        return None;
    };
    // Borrowed from `data`, so its address lies within it.
    let start = (text.as_ptr() as usize).checked_sub(data.as_ptr() as usize)?;
    let at = start.checked_sub(1)?..start + text.len() + 1;
    let quoted = data.as_bytes().get(at.start) == Some(&b'"')
        && data.as_bytes().get(at.end - 1) == Some(&b'"');
    (is_text && quoted).then_some(at)
}

#[cfg(test)]
#[path = "stream_template_tests.rs"]
mod template_tests;
