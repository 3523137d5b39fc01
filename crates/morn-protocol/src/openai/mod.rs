//! OpenAI Chat Completions, Embeddings and Models, in both directions.
//!
//! Inbound (a client speaks OpenAI to Morn):
//! - [`parse_chat_request`] → canonical [`ChatRequest`](crate::ChatRequest);
//! - [`render_chat_response`], [`ChatStreamEncoder`] and [`render_error`] answer it;
//! - [`parse_embedding_request`] / [`render_embedding_response`];
//! - [`render_model_list`] / [`render_model`];
//! - [`check_relay`]: a non-streamed OpenAI upstream answer passed on as its own bytes.
//!
//! Upstream (Morn speaks OpenAI to OpenAI, OpenRouter, Ollama, vLLM, llama.cpp, LM Studio):
//! - [`encode_chat_request`], [`decode_chat_response`], [`ChatStreamDecoder`],
//!   [`decode_error`];
//! - [`encode_embedding_request`] / [`decode_embedding_response`].
//!
//! Everything serializes straight to `Vec<u8>` through borrowed wire structs; the only
//! `serde_json::Value`s are JSON schemas and the `extra` pass-through fields.

mod embeddings;
mod error;
mod inbound;
mod inbound_wire;
mod models;
mod relay;
mod render;
mod response_decode;
mod stream_decode;
mod stream_encode;
mod stream_scan;
mod upstream;
mod usage;

pub use embeddings::{
    decode_embedding_response, encode_embedding_request, parse_embedding_request,
    render_embedding_response,
};
pub use error::{decode_error, error_type, render_error};
pub use inbound::parse_chat_request;
pub use models::{render_model, render_model_list};
pub use relay::{Relay, check_relay};
pub use render::render_chat_response;
pub use response_decode::decode_chat_response;
pub use stream_decode::ChatStreamDecoder;
pub use stream_encode::ChatStreamEncoder;
pub use upstream::{encode_chat_request, uses_max_completion_tokens};

use crate::FinishReason;

/// The OpenAI spelling of a finish reason.
pub(crate) fn finish_reason_str(reason: FinishReason) -> &'static str {
    match reason {
        FinishReason::Stop => "stop",
        FinishReason::Length => "length",
        FinishReason::ToolCalls => "tool_calls",
        FinishReason::ContentFilter => "content_filter",
    }
}

/// Reads a finish reason as OpenAI-compatible servers send it. Legacy `function_call`
/// is a tool call; anything unknown (`eos`, `end_turn`, vendor extensions) is a stop,
/// because the answer did end and a stop is the least surprising thing to tell a client.
pub(crate) fn parse_finish_reason(reason: &str) -> FinishReason {
    match reason {
        "length" | "max_tokens" => FinishReason::Length,
        "tool_calls" | "function_call" => FinishReason::ToolCalls,
        "content_filter" => FinishReason::ContentFilter,
        _ => FinishReason::Stop,
    }
}

/// Serializes a wire value. Our wire types only fail to serialize on non-string map
/// keys, which they do not have; should it ever happen, the caller gets a well-formed
/// OpenAI error body instead of a panic or an empty body.
pub(crate) fn to_vec<T: serde::Serialize>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write_json(&mut out, value);
    out
}

/// Appends a serialized wire value to `out`; on failure `out` is left as it was plus a
/// generic error object (see [`to_vec`]).
pub(crate) fn write_json<T: serde::Serialize>(out: &mut Vec<u8>, value: &T) {
    let start = out.len();
    if serde_json::to_writer(&mut *out, value).is_err() {
        out.truncate(start);
        out.extend_from_slice(
            br#"{"error":{"message":"Internal error while encoding the response.","type":"server_error","param":null,"code":"internal_error"}}"#,
        );
    }
}
