//! Cheap token estimates for admission (a tokens-per-minute reservation is settled
//! against the upstream's real count afterwards, so speed matters more than
//! precision here), and counts of embedding inputs.

use morn_protocol::{ChatRequest, EmbeddingInput, EmbeddingRequest, Part};

/// About one token per four bytes of text, plus a few per message: an upper-leaning
/// estimate that costs one pass over the text lengths.
pub fn prompt_fast(req: &ChatRequest) -> u64 {
    let mut bytes = 0usize;
    let mut messages = 0u64;
    for message in &req.messages {
        messages += 1;
        for part in &message.content {
            bytes += match part {
                Part::Text { text } => text.len(),
                // Images and other parts: a typical low-detail image costs ~85 tokens.
                _ => 340,
            };
        }
    }
    (bytes as u64).div_ceil(4) + 3 * messages + 3
}

/// Tokens of an embedding request's inputs (token-id inputs count as given).
pub fn embedding_inputs(req: &EmbeddingRequest) -> u64 {
    req.input
        .iter()
        .map(|input| match input {
            EmbeddingInput::Text(text) => morn_meter::tokens::count_text(&req.model, text),
            EmbeddingInput::Tokens(ids) => ids.len() as u64,
        })
        .sum()
}
