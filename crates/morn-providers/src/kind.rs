//! Which wire protocol an upstream speaks, with its URLs and auth headers.

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
            format!("{base}/models/{upstream_model}:streamGenerateContent?alt=sse")
        }
        ProviderKind::Gemini => format!("{base}/models/{upstream_model}:generateContent"),
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
        ProviderKind::Gemini => Some(format!("{base}/models/{upstream_model}:batchEmbedContents")),
    }
}
