//! Google Gemini API (`generativelanguage` v1beta) as an upstream.
//!
//! The providers crate builds the URLs (`{base}/models/{model}:generateContent`,
//! `:streamGenerateContent?alt=sse`, `:batchEmbedContents`) and calls these functions
//! for the bodies:
//!
//! - [`encode_generate_request`] / [`decode_generate_response`] / [`GenerateStreamDecoder`]
//! - [`encode_embed_request`] / [`decode_embed_response`]
//! - [`decode_error`] for any non-2xx answer.
//!
//! Decisions worth knowing:
//! - **Schemas go out as full JSON Schema**: tools use `parametersJsonSchema` and
//!   structured output uses `responseJsonSchema`, never the OpenAPI-subset
//!   `parameters` / `responseSchema`. The API reference says the JSON-Schema fields
//!   accept a full JSON Schema (keywords Gemini does not use are ignored, while
//!   `additionalProperties`, `anyOf`, `$ref`/`$defs`, and `type` arrays are supported),
//!   so client schemas (OpenAI `strict` ones with `additionalProperties: false`,
//!   Pydantic ones with `$defs`) pass through untouched instead of being rewritten
//!   lossily. They need Gemini 2.5 or later, the oldest models Google still serves.
//! - **Thinking**: `thinking_budget` → `thinkingConfig.thinkingBudget`; otherwise
//!   `reasoning_effort` low/medium/high → 1024/8192/24576 budget tokens
//!   (minimal/none → 0). Thought summaries (`includeThoughts`) are asked for whenever
//!   thinking is on and come back as `Part::Thinking` / `ThinkingDelta`.
//! - **Thought signatures** on function calls ride inside the canonical tool-call ids
//!   (`call_0_0__thought__<base64url>`, see the `ids` module), because Gemini 3 rejects
//!   replayed function calls without them; a replayed model turn whose calls carry
//!   none gets Gemini's documented `skip_thought_signature_validator`, so history from
//!   another provider is accepted too. Signatures on text parts are optional
//!   upstream and dropped.
//! - Dropped: `user`, `extra` (only forwarded to same-protocol upstreams; there is no
//!   Gemini inbound), `parallel_tool_calls` (Gemini has no switch), image `detail`,
//!   message `name`, and earlier thought summaries.
//! - `created` is 0 in decoded answers: Gemini sends no timestamp; the caller fills
//!   in the time it received the answer.

mod embeddings;
mod error;
mod ids;
mod json;
mod request;
mod response;
mod stream;
mod wire;

pub use stream::GenerateStreamDecoder;

use crate::{ApiError, ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse};

/// The `generateContent` / `streamGenerateContent` body for a canonical request.
///
/// System and developer messages become `systemInstruction`; user and tool messages
/// become `user` turns (tool results as `functionResponse` parts), assistant messages
/// `model` turns; consecutive turns of one role are merged. Fails with 400 when a tool
/// call's arguments are not a JSON object, a tool result matches no earlier tool call
/// and carries no name, or an image is neither a URL nor a data URI.
pub fn encode_generate_request(req: &ChatRequest) -> Result<Vec<u8>, ApiError> {
    request::encode(req)
}

/// A whole `generateContent` answer in canonical form. `created` is 0 (the caller
/// fills it); a blocked prompt is one empty choice finished by `ContentFilter`.
pub fn decode_generate_response(body: &[u8]) -> Result<ChatResponse, ApiError> {
    response::decode(body)
}

/// A Gemini error answer (`status` is the HTTP status; `retry_after` the parsed
/// `Retry-After` header, which wins over the body's `RetryInfo`).
pub fn decode_error(status: u16, body: &[u8], retry_after: Option<u64>) -> ApiError {
    error::decode(status, body, retry_after)
}

/// The `batchEmbedContents` body; `upstream_model` is the bare model name
/// (`text-embedding-004`), prefixed with `models/` here. Token-array inputs are a 400.
pub fn encode_embed_request(
    req: &EmbeddingRequest,
    upstream_model: &str,
) -> Result<Vec<u8>, ApiError> {
    embeddings::encode(req, upstream_model)
}

/// A `batchEmbedContents` answer. `input_texts` are the request's inputs, used to
/// estimate input tokens as ceil(chars / 4) each, because Gemini reports no usage for
/// embeddings. The model is left empty for the caller to fill.
pub fn decode_embed_response(
    body: &[u8],
    input_texts: &[String],
) -> Result<EmbeddingResponse, ApiError> {
    embeddings::decode(body, input_texts)
}
