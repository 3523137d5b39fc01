//! Which wire protocol an upstream speaks, with its URLs and auth headers.

use std::borrow::Cow;
use std::fmt::Write;

use serde::{Deserialize, Serialize};

/// The upstream protocol family. OpenRouter, Ollama, vLLM, llama.cpp and LM Studio are
/// all `OpenAi` with their own base URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    #[serde(alias = "openai_compatible")]
    #[serde(rename = "openai")]
    OpenAi,
    Anthropic,
    Gemini,
}

impl ProviderKind {
    /// The public API base URL used when the config gives none.
    pub fn default_base_url(self) -> &'static str {
        match self {
            Self::OpenAi => "https://api.openai.com/v1",
            Self::Anthropic => "https://api.anthropic.com",
            Self::Gemini => "https://generativelanguage.googleapis.com/v1beta",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::OpenAi => "openai",
            Self::Anthropic => "anthropic",
            Self::Gemini => "gemini",
        }
    }
}

/// The URL for a chat call.
pub(crate) fn chat_url(
    kind: ProviderKind,
    base: &str,
    upstream_model: &str,
    stream: bool,
) -> String {
    match kind {
        ProviderKind::OpenAi => format!("{base}/chat/completions"),
        ProviderKind::Anthropic => format!("{base}/v1/messages"),
        ProviderKind::Gemini if stream => {
            let model = path_segment(upstream_model);
            format!("{base}/models/{model}:streamGenerateContent?alt=sse")
        }
        ProviderKind::Gemini => {
            let model = path_segment(upstream_model);
            format!("{base}/models/{model}:generateContent")
        }
    }
}

/// The URL for an embeddings call, or `None` when the provider has no embeddings API.
pub(crate) fn embeddings_url(
    kind: ProviderKind,
    base: &str,
    upstream_model: &str,
) -> Option<String> {
    match kind {
        ProviderKind::OpenAi => Some(format!("{base}/embeddings")),
        ProviderKind::Anthropic => None,
        ProviderKind::Gemini => {
            let model = path_segment(upstream_model);
            Some(format!("{base}/models/{model}:batchEmbedContents"))
        }
    }
}

/// A model name as it goes into a URL path: controls, space, `"`, `<`, `>`, `` ` ``,
/// `{`, `}` and non-ASCII bytes percent-encoded, as the WHATWG URL parser did when
/// reqwest built these URLs. (Wildcard routes pass client-chosen names through.)
fn path_segment(model: &str) -> Cow<'_, str> {
    let encode = |b: u8| b <= b' ' || b >= 0x7f || b"\"<>`{}".contains(&b);
    if !model.bytes().any(encode) {
        return Cow::Borrowed(model);
    }
    let mut out = String::with_capacity(model.len() * 3);
    for b in model.bytes() {
        if encode(b) {
            let _ = write!(out, "%{b:02X}");
        } else {
            out.push(char::from(b));
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_names_are_percent_encoded_where_a_url_path_needs_it() {
        assert_eq!(path_segment("gemini-2.5-flash"), "gemini-2.5-flash");
        assert_eq!(path_segment("my model\"é"), "my%20model%22%C3%A9");
        assert_eq!(path_segment("{a}<b>`"), "%7Ba%7D%3Cb%3E%60");
    }
}
