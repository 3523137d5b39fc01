//! Token counts Morn makes itself, for requests whose upstream reported no usage and
//! for reservations made before a call.

use morn_protocol::ChatRequest;

/// Tokens in `text` for `model`.
pub fn count_text(_model: &str, text: &str) -> u64 {
    (text.len() as u64).div_ceil(4)
}

/// Prompt tokens of a chat request (messages, tools, system), as the upstream would
/// count them.
pub fn count_prompt(req: &ChatRequest) -> u64 {
    let text = serde_json::to_string(&req.messages).unwrap_or_default();
    count_text(&req.model, &text)
}
