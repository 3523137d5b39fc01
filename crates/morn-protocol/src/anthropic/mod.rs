//! Anthropic Messages API, both directions.
//!
//! Inbound (a client speaks Anthropic to Morn at `/v1/messages`):
//! - [`parse_messages_request`]: request body → canonical [`crate::ChatRequest`].
//! - [`render_messages_response`]: canonical answer → `message` object.
//! - [`MessagesStreamEncoder`]: canonical stream events → Anthropic SSE.
//! - [`render_error`]: canonical error → `{"type":"error","error":{..}}`.
//! - [`render_model_list`]: Anthropic's `/v1/models` list.
//!
//! Upstream (Morn calls Anthropic):
//! - [`encode_messages_request`]: canonical request → request body.
//! - [`decode_messages_response`]: response body → canonical answer.
//! - [`MessagesStreamDecoder`]: Anthropic SSE → canonical stream events.
//! - [`decode_error`]: error response → canonical error.
//!
//! Usage: Anthropic's `input_tokens` excludes cache reads and writes
//! (`cache_read_input_tokens`, `cache_creation_input_tokens`); canonical
//! `input_tokens` includes them. Both directions convert. Anthropic's `output_tokens`
//! already includes thinking, as canonical `output_tokens` includes reasoning.
//!
//! # Error codes of [`parse_messages_request`]
//!
//! Every error is a 400 (`invalid_request_error`) whose `param` names the field at
//! fault as a dotted path (`messages.1.content.0.source.data`):
//!
//! | code               | meaning                                                      |
//! |--------------------|--------------------------------------------------------------|
//! | `invalid_json`     | the body is not JSON, or not a JSON object                   |
//! | `missing_field`    | a required field is absent or `null` (`model`, `max_tokens`, `messages`, a block's own fields) |
//! | `invalid_type`     | a field has the wrong JSON type                              |
//! | `invalid_value`    | a field has a value Morn does not accept (unknown role, block type, tool choice; empty `messages`) |
//! | `unsupported_tool` | a server tool (`type` other than `custom`, e.g. `web_search_20250305`) |
//!
//! [`encode_messages_request`] refuses with `unsupported_parameter` (`n` > 1),
//! `invalid_tool_arguments` (tool-call arguments that are not a JSON object) and
//! `invalid_value` (an image that is neither an http(s) URL nor a base64 data URI, an
//! unknown `reasoning_effort`).

mod content;
mod decode;
mod inbound;
mod render;
mod stream_decode;
mod stream_encode;
mod upstream;
mod wire;

pub use decode::{decode_error, decode_messages_response};
pub use inbound::parse_messages_request;
pub use render::{error_type, render_error, render_messages_response, render_model_list, rfc3339};
pub use stream_decode::MessagesStreamDecoder;
pub use stream_encode::MessagesStreamEncoder;
pub use upstream::{DEFAULT_MAX_TOKENS, JSON_OBJECT_INSTRUCTION, encode_messages_request};
