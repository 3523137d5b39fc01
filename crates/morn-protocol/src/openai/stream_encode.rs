//! Inbound Chat Completions streaming: canonical [`StreamEvent`]s → OpenAI
//! `chat.completion.chunk` SSE events, chunk for chunk as api.openai.com sends them.
//!
//! - The first chunk of each choice carries `delta: {"role":"assistant","content":"","refusal":null}`
//!   (sent on `Start` for choice 0, before the first event of any other choice).
//! - Text is `delta.content`, thinking is `delta.reasoning_content`.
//! - A tool call opens with `{index,id,type:"function",function:{name,arguments:""}}`
//!   and continues with `{index,function:{arguments:"…"}}`.
//! - `Finish` is a chunk with an empty delta and the finish reason.
//! - With `include_usage`, every chunk carries `"usage": null` and `Usage` becomes a
//!   final chunk with `choices: []`; without it, usage is not sent.
//! - `finish()` writes `data: [DONE]`. An `Error` writes `data: {"error":{…}}` (the
//!   official SDKs raise on it) and closes the stream: nothing else, no `[DONE]`, so a
//!   failure can never look like a clean end.

use serde::{Serialize, Serializer};

use super::usage::WireUsageOut;
use super::{finish_reason_str, render_error, write_json};
use crate::sse::write_data;
use crate::{StreamEncoder, StreamEvent, Usage, write_json_string};

/// The delta of each choice's first chunk, as OpenAI writes it.
const ROLE_DELTA: &[u8] = br#"{"role":"assistant","content":"","refusal":null}"#;

/// Canonical events → OpenAI chunks. One per client stream.
#[derive(Debug)]
pub struct ChatStreamEncoder {
    include_usage: bool,
    created: i64,
    id: String,
    model: String,
    /// Choices whose role chunk was sent. A list, not a bitmap indexed by choice: the
    /// index comes from the upstream and must not size an allocation.
    opened: Vec<u32>,
    /// An error was written: the stream is over.
    closed: bool,
    /// What every hand-written chunk starts with, up to its choice's index:
    /// `data: {"id":…,"object":…,"created":…,"model":…,"choices":[{"index":`. Made
    /// when the id and model are known rather than written out for every chunk.
    head: Vec<u8>,
    /// `head` continued up to the text of choice 0's `content`: the start of almost
    /// every chunk of a stream, copied in one piece.
    content_head: Vec<u8>,
    /// Where `head`'s choice list opens (just after `"choices":[`): the usage chunk,
    /// whose list is empty, takes the head up to there.
    choices_at: usize,
}

impl ChatStreamEncoder {
    /// `include_usage` is the client's `stream_options.include_usage`; `created` the
    /// Unix time stamped on every chunk.
    pub fn new(include_usage: bool, created: i64) -> Self {
        let mut encoder = Self {
            include_usage,
            created,
            id: String::new(),
            model: String::new(),
            opened: Vec::new(),
            closed: false,
            head: Vec::new(),
            content_head: Vec::new(),
            choices_at: 0,
        };
        encoder.make_head();
        encoder
    }

    fn make_head(&mut self) {
        let head = &mut self.head;
        head.clear();
        // Room for the fixed text and typical id and model: one allocation, not four
        // doublings.
        head.reserve(96 + self.id.len() + self.model.len());
        head.extend_from_slice(b"data: {\"id\":");
        write_json_string(head, &self.id);
        head.extend_from_slice(b",\"object\":\"chat.completion.chunk\",\"created\":");
        head.extend_from_slice(itoa::Buffer::new().format(self.created).as_bytes());
        head.extend_from_slice(b",\"model\":");
        write_json_string(head, &self.model);
        head.extend_from_slice(b",\"choices\":[");
        self.choices_at = head.len();
        head.extend_from_slice(b"{\"index\":");
        self.content_head.clear();
        self.content_head.reserve(head.len() + 24);
        self.content_head.extend_from_slice(head);
        self.content_head
            .extend_from_slice(b"0,\"delta\":{\"content\":");
    }

    fn write(&self, out: &mut Vec<u8>, choice: Option<ChoiceOut<'_>>, usage: Option<&Usage>) {
        let choices = match &choice {
            Some(c) => std::slice::from_ref(c),
            None => &[],
        };
        let usage = match (self.include_usage, usage) {
            (false, _) => UsageField::Absent,
            (true, None) => UsageField::Null,
            (true, Some(u)) => UsageField::Present(WireUsageOut::from(u)),
        };
        let chunk = Chunk {
            id: &self.id,
            object: "chat.completion.chunk",
            created: self.created,
            model: &self.model,
            choices,
            usage,
        };
        out.extend_from_slice(b"data: ");
        write_json(out, &chunk);
        out.extend_from_slice(b"\n\n");
    }

    /// A chunk whose delta is one text member (`content` or `reasoning_content`),
    /// written by hand: it is almost every chunk of a stream, and `serde_json` spent
    /// ~3,500 instructions on each (callgrind, bench/README.md). The same bytes as
    /// [`Self::write`] gives; a test holds the two together.
    fn write_text(&self, out: &mut Vec<u8>, choice: u32, member: &str, text: &str) {
        if choice == 0 && member == "content" {
            // What `write_choice` writes, in three copies instead of nine.
            out.extend_from_slice(&self.content_head);
            write_json_string(out, text);
            out.extend_from_slice(if self.include_usage {
                b"},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n"
            } else {
                b"},\"logprobs\":null,\"finish_reason\":null}]}\n\n"
            });
            return;
        }
        self.write_choice(
            out,
            choice,
            |out| {
                out.extend_from_slice(b"{\"");
                out.extend_from_slice(member.as_bytes());
                out.extend_from_slice(b"\":");
                write_json_string(out, text);
                out.push(b'}');
            },
            None,
        );
    }

    /// A chunk of one choice whose delta `delta` writes, by hand (see
    /// [`Self::write_text`]); the role and finish chunks of every stream use it too.
    fn write_choice(
        &self,
        out: &mut Vec<u8>,
        choice: u32,
        delta: impl FnOnce(&mut Vec<u8>),
        finish_reason: Option<&str>,
    ) {
        out.extend_from_slice(&self.head);
        out.extend_from_slice(itoa::Buffer::new().format(choice).as_bytes());
        out.extend_from_slice(b",\"delta\":");
        delta(out);
        out.extend_from_slice(b",\"logprobs\":null,\"finish_reason\":");
        match finish_reason {
            Some(reason) => write_json_string(out, reason),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b"}]");
        if self.include_usage {
            out.extend_from_slice(b",\"usage\":null");
        }
        out.extend_from_slice(b"}\n\n");
    }

    /// The final usage chunk (`"choices":[]`, then the usage), by hand as
    /// [`Self::write_text`]: `serde_json` spent ~5,500 instructions on it (callgrind).
    /// Only with `include_usage`.
    fn write_usage(&self, out: &mut Vec<u8>, usage: &Usage) {
        out.extend_from_slice(&self.head[..self.choices_at]);
        out.extend_from_slice(b"],\"usage\":");
        WireUsageOut::from(usage).write_json(out);
        out.extend_from_slice(b"}\n\n");
    }

    /// Sends the role chunk of `choice` unless it was sent already.
    fn open(&mut self, choice: u32, out: &mut Vec<u8>) {
        if self.opened.contains(&choice) {
            return;
        }
        self.opened.push(choice);
        self.write_choice(out, choice, |out| out.extend_from_slice(ROLE_DELTA), None);
    }

    fn delta(&mut self, choice: u32, delta: Delta<'_>, out: &mut Vec<u8>) {
        self.open(choice, out);
        self.write(out, Some(ChoiceOut::delta(choice, delta)), None);
    }
}

impl StreamEncoder for ChatStreamEncoder {
    fn encode(&mut self, event: &StreamEvent, out: &mut Vec<u8>) {
        if self.closed {
            return;
        }
        match event {
            StreamEvent::Start { id, model, .. } => {
                self.id.clone_from(id);
                self.model.clone_from(model);
                self.make_head();
                self.open(0, out);
            }
            StreamEvent::TextDelta { choice, text } => {
                self.open(*choice, out);
                self.write_text(out, *choice, "content", text);
            }
            StreamEvent::ThinkingDelta { choice, text } => {
                self.open(*choice, out);
                self.write_text(out, *choice, "reasoning_content", text);
            }
            // OpenAI has no place for Anthropic's thinking signatures.
            StreamEvent::ThinkingSignature { .. } => {}
            StreamEvent::ToolCallStart {
                choice,
                index,
                id,
                name,
            } => {
                let call = ToolCallDelta {
                    index: *index,
                    id: Some(id),
                    kind: Some("function"),
                    function: FunctionDelta {
                        name: Some(name),
                        arguments: "",
                    },
                };
                let delta = Delta {
                    tool_calls: Some([call]),
                    ..Delta::default()
                };
                self.delta(*choice, delta, out);
            }
            StreamEvent::ToolCallDelta {
                choice,
                index,
                arguments,
            } => {
                let call = ToolCallDelta {
                    index: *index,
                    id: None,
                    kind: None,
                    function: FunctionDelta {
                        name: None,
                        arguments,
                    },
                };
                let delta = Delta {
                    tool_calls: Some([call]),
                    ..Delta::default()
                };
                self.delta(*choice, delta, out);
            }
            StreamEvent::Finish { choice, reason, .. } => {
                self.open(*choice, out);
                let reason = finish_reason_str(*reason);
                self.write_choice(
                    out,
                    *choice,
                    |out| out.extend_from_slice(b"{}"),
                    Some(reason),
                );
            }
            StreamEvent::Usage(usage) => {
                if self.include_usage {
                    self.write_usage(out, usage);
                }
            }
            StreamEvent::Error(err) => {
                write_data(out, &render_error(err));
                self.closed = true;
            }
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.closed {
            write_data(out, b"[DONE]");
            self.closed = true;
        }
    }
}

#[derive(Serialize)]
struct Chunk<'a> {
    id: &'a str,
    object: &'static str,
    created: i64,
    model: &'a str,
    choices: &'a [ChoiceOut<'a>],
    #[serde(skip_serializing_if = "UsageField::is_absent")]
    usage: UsageField,
}

/// `usage` is omitted without `include_usage`, `null` on ordinary chunks with it.
enum UsageField {
    Absent,
    Null,
    Present(WireUsageOut),
}

impl UsageField {
    fn is_absent(&self) -> bool {
        matches!(self, Self::Absent)
    }
}

impl Serialize for UsageField {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Present(u) => u.serialize(s),
            Self::Absent | Self::Null => s.serialize_none(),
        }
    }
}

#[derive(Serialize)]
struct ChoiceOut<'a> {
    index: u32,
    delta: Delta<'a>,
    logprobs: Option<()>,
    finish_reason: Option<&'static str>,
}

impl<'a> ChoiceOut<'a> {
    fn delta(index: u32, delta: Delta<'a>) -> Self {
        Self {
            index,
            delta,
            logprobs: None,
            finish_reason: None,
        }
    }
}

/// A delta as `serde` writes it. The role chunk is written by hand
/// ([`ChatStreamEncoder::write_choice`]); `role` and `refusal` let the tests' `serde`
/// oracle write it too.
#[derive(Serialize, Default)]
struct Delta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning_content: Option<&'a str>,
    /// `Some(None)` writes `"refusal": null` (first chunk only, as OpenAI does).
    #[serde(skip_serializing_if = "Option::is_none")]
    refusal: Option<Option<()>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_calls: Option<[ToolCallDelta<'a>; 1]>,
}

#[derive(Serialize)]
struct ToolCallDelta<'a> {
    index: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    function: FunctionDelta<'a>,
}

#[derive(Serialize)]
struct FunctionDelta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    arguments: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FinishReason;

    /// The hand-written usage chunk is byte for byte what the serde path writes.
    #[test]
    fn usage_chunk_matches_the_serde_encoding() {
        let usages = [
            Usage::default(),
            Usage {
                input_tokens: 12,
                output_tokens: 345,
                cache_read_tokens: 6,
                cache_write_tokens: 7,
                reasoning_tokens: 89,
            },
            Usage {
                input_tokens: u64::MAX / 4,
                output_tokens: 1,
                ..Usage::default()
            },
        ];
        for (id, model) in [("chatcmpl-1", "gpt-4o-mini"), ("id\"x", "model\\y")] {
            for created in [0, 1_795_424_853, -7] {
                let mut encoder = ChatStreamEncoder::new(true, created);
                encoder.id = id.to_owned();
                encoder.model = model.to_owned();
                encoder.make_head();
                for usage in &usages {
                    let mut fast = Vec::new();
                    encoder.write_usage(&mut fast, usage);
                    let mut serde = Vec::new();
                    encoder.write(&mut serde, None, Some(usage));
                    assert_eq!(
                        String::from_utf8_lossy(&fast),
                        String::from_utf8_lossy(&serde)
                    );
                }
            }
        }
    }

    /// The hand-written text, role and finish chunks are byte for byte what the serde
    /// path writes, with and without usage, for plain and escaped ids, models and texts.
    #[test]
    fn text_chunks_match_the_serde_encoding() {
        let texts = [
            "",
            "Hello ",
            "a \"quoted\"\nline\twith\\ and \u{1}",
            "é 😀 \u{2028}",
        ];
        let names = [("chatcmpl-1", "gpt-4o-mini"), ("id\"x", "model\\y")];
        for include_usage in [false, true] {
            for created in [0, 1_795_424_853, -7] {
                for (id, model) in names {
                    let mut encoder = ChatStreamEncoder::new(include_usage, created);
                    encoder.id = id.to_owned();
                    encoder.model = model.to_owned();
                    encoder.make_head();
                    for text in texts {
                        for choice in [0, 3] {
                            for member in ["content", "reasoning_content"] {
                                let mut fast = Vec::new();
                                encoder.write_text(&mut fast, choice, member, text);
                                let delta = if member == "content" {
                                    Delta {
                                        content: Some(text),
                                        ..Delta::default()
                                    }
                                } else {
                                    Delta {
                                        reasoning_content: Some(text),
                                        ..Delta::default()
                                    }
                                };
                                let mut serde = Vec::new();
                                encoder.write(
                                    &mut serde,
                                    Some(ChoiceOut::delta(choice, delta)),
                                    None,
                                );
                                assert_eq!(
                                    String::from_utf8_lossy(&fast),
                                    String::from_utf8_lossy(&serde)
                                );
                            }
                        }
                    }
                    for choice in [0, 3] {
                        // The role chunk.
                        let mut fast = Vec::new();
                        encoder.write_choice(
                            &mut fast,
                            choice,
                            |o| o.extend_from_slice(ROLE_DELTA),
                            None,
                        );
                        let delta = Delta {
                            role: Some("assistant"),
                            content: Some(""),
                            refusal: Some(None),
                            ..Delta::default()
                        };
                        let mut serde = Vec::new();
                        encoder.write(&mut serde, Some(ChoiceOut::delta(choice, delta)), None);
                        assert_eq!(
                            String::from_utf8_lossy(&fast),
                            String::from_utf8_lossy(&serde)
                        );
                        // The finish chunk, for every reason.
                        for reason in [
                            FinishReason::Stop,
                            FinishReason::Length,
                            FinishReason::ToolCalls,
                            FinishReason::ContentFilter,
                        ] {
                            let reason = finish_reason_str(reason);
                            let mut fast = Vec::new();
                            encoder.write_choice(
                                &mut fast,
                                choice,
                                |o| o.extend_from_slice(b"{}"),
                                Some(reason),
                            );
                            let finish = ChoiceOut {
                                index: choice,
                                delta: Delta::default(),
                                logprobs: None,
                                finish_reason: Some(reason),
                            };
                            let mut serde = Vec::new();
                            encoder.write(&mut serde, Some(finish), None);
                            assert_eq!(
                                String::from_utf8_lossy(&fast),
                                String::from_utf8_lossy(&serde)
                            );
                        }
                    }
                }
            }
        }
    }
}
