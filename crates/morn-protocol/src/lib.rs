//! Wire types and translations for every protocol Morn speaks, and the canonical types
//! they all convert through. Pure: no I/O.
//!
//! - [`canonical`]: the canonical chat request, response and stream events.
//! - [`openai`]: OpenAI Chat Completions and Embeddings, inbound and upstream.
//! - [`anthropic`]: Anthropic Messages, inbound and upstream.
//! - [`gemini`]: Google Gemini `generateContent`, upstream.
//! - [`sse`]: the Server-Sent Events parser and writer all streams use.

pub mod anthropic;
pub mod canonical;
pub mod codec;
pub mod embeddings;
pub mod error;
pub mod gemini;
mod json_scan;
pub mod media;
pub mod openai;
pub mod sse;
mod stream_template;

pub use canonical::*;
pub use codec::{ModelInfo, StreamDecoder, StreamEncoder};
pub use embeddings::{EmbeddingInput, EmbeddingRequest, EmbeddingResponse, EncodingFormat};
pub use error::{ApiError, ErrorKind};
pub use json_scan::write_json_string;
pub use sse::{SseEvent, SseParser};
