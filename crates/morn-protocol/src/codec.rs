//! The two stream-conversion interfaces every protocol module implements.
//!
//! An upstream adapter has a `StreamDecoder` (upstream SSE events → canonical events);
//! an inbound protocol has a `StreamEncoder` (canonical events → the client's SSE bytes).
//! Both keep explicit per-stream state (open blocks, tool calls by index) and never panic
//! on bad input: a malformed upstream event is an `Err`, which the caller turns into an
//! error event for the client.

use crate::{ApiError, SseEvent, StreamEvent};

/// Upstream SSE → canonical events.
pub trait StreamDecoder: Send {
    /// Decodes one upstream SSE event, appending zero or more canonical events.
    /// An upstream in-band error (Anthropic `event: error`, an OpenAI chunk with an
    /// `error` member) becomes `StreamEvent::Error`; an event Morn cannot parse is `Err`.
    fn decode(&mut self, event: &SseEvent, out: &mut Vec<StreamEvent>) -> Result<(), ApiError>;

    /// Whether the upstream's own end-of-answer marker has been seen (OpenAI `[DONE]`,
    /// Anthropic `message_stop`, Gemini's final chunk with `finishReason`). A body that
    /// ends while this is false was cut and is reported as an error, never a clean end.
    fn is_complete(&self) -> bool;
}

/// Canonical events → the client's wire format.
pub trait StreamEncoder: Send {
    /// Appends the SSE bytes for one canonical event (possibly none: an encoder may hold
    /// an event back until it knows more, as Anthropic's `message_delta` needs usage).
    fn encode(&mut self, event: &StreamEvent, out: &mut Vec<u8>);

    /// Appends the bytes that close a successful stream.
    fn finish(&mut self, out: &mut Vec<u8>);
}

/// A model as listed by `/v1/models`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ModelInfo {
    pub id: String,
    /// Unix seconds.
    pub created: i64,
    pub owned_by: String,
}
