//! Canonical embedding request and response.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EmbeddingInput {
    Text(String),
    /// Pre-tokenised input (OpenAI accepts token id arrays).
    Tokens(Vec<u32>),
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EncodingFormat {
    #[default]
    Float,
    /// Little-endian f32 bytes, base64-encoded (the official OpenAI SDKs ask for this).
    Base64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingRequest {
    pub model: String,
    pub input: Vec<EmbeddingInput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<u32>,
    /// How the *client* wants vectors encoded; upstreams are always asked for floats.
    #[serde(default)]
    pub encoding_format: EncodingFormat,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Unknown inbound fields, forwarded to OpenAI-compatible upstreams.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingResponse {
    pub model: String,
    /// One vector per input, in input order.
    pub data: Vec<Vec<f32>>,
    /// Only `input_tokens` is meaningful.
    pub usage: crate::Usage,
}
