//! Canonical embeddings ↔ Gemini `batchEmbedContents`.
//!
//! One `EmbedContentRequest` per input text, all for the same model. Gemini reports no
//! token usage for embeddings, so input tokens are estimated (see [`decode`]).

use super::wire::{
    BatchEmbedRequest, BatchEmbedResponse, EmbedContent, EmbedContentRequest, TextPart,
};
use crate::{ApiError, EmbeddingInput, EmbeddingRequest, EmbeddingResponse, Usage};

/// See [`super::encode_embed_request`].
pub(super) fn encode(req: &EmbeddingRequest, upstream_model: &str) -> Result<Vec<u8>, ApiError> {
    let model = format!("models/{upstream_model}");
    let mut requests = Vec::with_capacity(req.input.len());
    for input in &req.input {
        let text = match input {
            EmbeddingInput::Text(text) => text.as_str(),
            EmbeddingInput::Tokens(_) => {
                return Err(ApiError::invalid(
                    "input",
                    "token arrays are not supported by this model's provider",
                ));
            }
        };
        requests.push(EmbedContentRequest {
            model: &model,
            content: EmbedContent {
                parts: [TextPart { text }],
            },
            output_dimensionality: req.dimensions,
        });
    }
    serde_json::to_vec(&BatchEmbedRequest { requests })
        .map_err(|e| ApiError::invalid("input", e.to_string()))
}

/// Decodes `{"embeddings":[{"values":[...]}]}`. Gemini returns no usage for
/// embeddings, so `input_tokens` is an estimate: ceil(characters / 4) per input,
/// summed. The model is left empty for the caller to fill.
pub(super) fn decode(body: &[u8], input_texts: &[String]) -> Result<EmbeddingResponse, ApiError> {
    let response: BatchEmbedResponse =
        serde_json::from_slice(body).map_err(ApiError::bad_upstream)?;
    if response.embeddings.len() != input_texts.len() {
        return Err(ApiError::bad_upstream(format!(
            "{} embeddings for {} inputs",
            response.embeddings.len(),
            input_texts.len()
        )));
    }
    let input_tokens = input_texts
        .iter()
        .map(|t| (t.chars().count() as u64).div_ceil(4))
        .sum();
    Ok(EmbeddingResponse {
        model: String::new(),
        data: response.embeddings.into_iter().map(|e| e.values).collect(),
        usage: Usage {
            input_tokens,
            ..Usage::default()
        },
    })
}
