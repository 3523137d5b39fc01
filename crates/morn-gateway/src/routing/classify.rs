//! Sorting an upstream error into the class that decides what routing does next:
//! retry elsewhere, fall back to a model with a bigger context window, or give the
//! caller the error as it is.
//!
//! Classification reads the error's kind (its HTTP status), its stable code and, for
//! the classes providers do not mark with a code of their own (Anthropic and Gemini
//! codes are normalised away by the providers crate), its message.

use morn_protocol::{ApiError, ErrorKind};

/// What an upstream error means for routing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// 429: the deployment is throttling us (OpenAI's `insufficient_quota` included).
    RateLimited,
    /// 408, 5xx, transport failures, interrupted streams: the deployment is not serving.
    Unavailable,
    /// The prompt does not fit the model's context window; a larger model might take it.
    ContextWindow,
    /// The provider refused the content; another provider might not.
    ContentPolicy,
    /// The request itself is wrong (auth, bad request, not found): nobody will accept it.
    Client,
}

impl ErrorClass {
    /// Whether the same request may succeed on another try (same or other deployment).
    pub fn is_retryable(self) -> bool {
        matches!(self, Self::RateLimited | Self::Unavailable)
    }

    /// Whether the error says something about the deployment's health (and so feeds
    /// its circuit breaker), rather than about the request.
    pub fn counts_against_health(self) -> bool {
        matches!(self, Self::RateLimited | Self::Unavailable)
    }

    /// Stable snake_case name, for logs, metrics labels and snapshots.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RateLimited => "rate_limited",
            Self::Unavailable => "unavailable",
            Self::ContextWindow => "context_window",
            Self::ContentPolicy => "content_policy",
            Self::Client => "client",
        }
    }
}

/// Codes Morn's providers crate gives to failures that never reached a model.
const UNAVAILABLE_CODES: &[&str] = &[
    "upstream_unreachable",
    "upstream_connection_failed",
    "upstream_timeout",
    "stream_interrupted",
];

/// Phrases in context-window errors. OpenAI and OpenAI-compatible servers (vLLM):
/// "This model's maximum context length is 8192 tokens..."; Anthropic: "prompt is too
/// long: 208310 tokens > 200000 maximum" and "input length and `max_tokens` exceed
/// context limit"; Gemini: "The input token count (1200000) exceeds the maximum number
/// of tokens allowed (1048576)"; llama.cpp: "exceeds the available context size".
const CONTEXT_PHRASES: &[&str] = &[
    "context length",
    "context_length",
    "context window",
    "context limit",
    "context size",
    "prompt is too long",
    "exceeds the maximum number of tokens",
    "too many tokens",
];

/// Codes for refused content: OpenAI's `content_policy_violation`, Azure's
/// `content_filter`.
const CONTENT_CODES: &[&str] = &["content_policy_violation", "content_filter"];

/// Phrases in refused-content messages (OpenAI: "rejected as a result of our safety
/// system"; Azure: "content management policy"; Gemini: "blocked due to SAFETY").
const CONTENT_PHRASES: &[&str] = &[
    "content policy",
    "content management policy",
    "content filter",
    "safety",
];

/// Classifies an error returned by (or on the way to) an upstream deployment.
pub fn classify(err: &ApiError) -> ErrorClass {
    match err.kind {
        ErrorKind::RateLimited => return ErrorClass::RateLimited,
        ErrorKind::RequestTimeout
        | ErrorKind::Internal
        | ErrorKind::BadGateway
        | ErrorKind::Unavailable
        | ErrorKind::GatewayTimeout => return ErrorClass::Unavailable,
        ErrorKind::InvalidRequest
        | ErrorKind::Authentication
        | ErrorKind::PermissionDenied
        | ErrorKind::NotFound
        | ErrorKind::PayloadTooLarge
        | ErrorKind::Unprocessable => {}
    }
    if UNAVAILABLE_CODES.contains(&err.code.as_str()) {
        return ErrorClass::Unavailable;
    }
    // Only 4xx errors get here; messages are short, so lowercasing one is cheap and
    // happens on the error path only.
    let message = err.message.to_ascii_lowercase();
    let size_kind = matches!(
        err.kind,
        ErrorKind::InvalidRequest | ErrorKind::PayloadTooLarge | ErrorKind::Unprocessable
    );
    if size_kind
        && (err.code == "context_length_exceeded"
            || CONTEXT_PHRASES.iter().any(|p| message.contains(p)))
    {
        return ErrorClass::ContextWindow;
    }
    if CONTENT_CODES.contains(&err.code.as_str()) || mentions_content_policy(&message) {
        return ErrorClass::ContentPolicy;
    }
    ErrorClass::Client
}

/// Whether a lowercased message is about refused content. Gemini's complaints about a
/// malformed `safety_settings` field mention "safety" too but are plain bad requests.
fn mentions_content_policy(message: &str) -> bool {
    if message.contains("safety_setting")
        || message.contains("safetysetting")
        || message.contains("safety setting")
    {
        return false;
    }
    CONTENT_PHRASES.iter().any(|p| message.contains(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(kind: ErrorKind, code: &str, message: &str) -> ApiError {
        ApiError::new(kind, message).with_code(code)
    }

    fn class(kind: ErrorKind, code: &str, message: &str) -> ErrorClass {
        classify(&err(kind, code, message))
    }

    #[test]
    fn rate_limits_from_every_provider() {
        // OpenAI, tokens per minute: mentions tokens but is a 429, not a context error.
        let openai = "Rate limit reached for gpt-4o in organization org-abc on tokens per \
                      min (TPM): Limit 30000, Used 29000, Requested 2000.";
        assert_eq!(
            class(ErrorKind::RateLimited, "rate_limit_exceeded", openai),
            ErrorClass::RateLimited
        );
        let quota = "You exceeded your current quota, please check your plan and billing details.";
        assert_eq!(
            class(ErrorKind::RateLimited, "insufficient_quota", quota),
            ErrorClass::RateLimited
        );
        let anthropic = "Number of request tokens has exceeded your per-minute rate limit";
        assert_eq!(
            class(ErrorKind::RateLimited, "rate_limit_exceeded", anthropic),
            ErrorClass::RateLimited
        );
        let gemini = "Resource has been exhausted (e.g. check quota).";
        assert_eq!(
            class(ErrorKind::RateLimited, "rate_limit_exceeded", gemini),
            ErrorClass::RateLimited
        );
    }

    #[test]
    fn server_and_transport_failures_are_unavailable() {
        for kind in [
            ErrorKind::RequestTimeout,
            ErrorKind::Internal,
            ErrorKind::BadGateway,
            ErrorKind::Unavailable,
            ErrorKind::GatewayTimeout,
        ] {
            let e = ApiError::new(
                kind,
                "The server had an error while processing your request.",
            );
            assert_eq!(classify(&e), ErrorClass::Unavailable, "{kind:?}");
        }
        // Anthropic's 529 maps to Unavailable in the protocol crate.
        let overloaded = ApiError::new(ErrorKind::from_status(529), "Overloaded");
        assert_eq!(classify(&overloaded), ErrorClass::Unavailable);
        assert_eq!(
            classify(&ApiError::stream_interrupted()),
            ErrorClass::Unavailable
        );
        // A transport code wins even if some adapter attached it to another kind.
        for code in UNAVAILABLE_CODES {
            assert_eq!(
                class(ErrorKind::InvalidRequest, code, "connection refused"),
                ErrorClass::Unavailable,
                "{code}"
            );
        }
        // A 5xx whose message mentions tokens is still the deployment's fault.
        assert_eq!(
            class(
                ErrorKind::Internal,
                "internal_error",
                "too many tokens in flight"
            ),
            ErrorClass::Unavailable
        );
    }

    #[test]
    fn context_window_from_every_provider() {
        let openai = "This model's maximum context length is 8192 tokens. However, your \
                      messages resulted in 8220 tokens. Please reduce the length of the messages.";
        assert_eq!(
            class(ErrorKind::InvalidRequest, "context_length_exceeded", openai),
            ErrorClass::ContextWindow
        );
        // The same message through an OpenAI-compatible server without the code (vLLM).
        assert_eq!(
            class(ErrorKind::InvalidRequest, "invalid_request", openai),
            ErrorClass::ContextWindow
        );
        let anthropic = "prompt is too long: 208310 tokens > 200000 maximum";
        assert_eq!(
            class(ErrorKind::InvalidRequest, "invalid_request", anthropic),
            ErrorClass::ContextWindow
        );
        let anthropic_max = "input length and `max_tokens` exceed context limit: 188240 + \
                             21333 > 200000, decrease input length or `max_tokens` and try again";
        assert_eq!(
            class(ErrorKind::InvalidRequest, "invalid_request", anthropic_max),
            ErrorClass::ContextWindow
        );
        let gemini = "The input token count (1200000) exceeds the maximum number of tokens \
                      allowed (1048576).";
        assert_eq!(
            class(ErrorKind::InvalidRequest, "invalid_request", gemini),
            ErrorClass::ContextWindow
        );
        let llama = "the request exceeds the available context size, try increasing it";
        assert_eq!(
            class(ErrorKind::InvalidRequest, "invalid_request", llama),
            ErrorClass::ContextWindow
        );
        assert_eq!(
            class(
                ErrorKind::PayloadTooLarge,
                "request_too_large",
                "Too many tokens"
            ),
            ErrorClass::ContextWindow
        );
        assert_eq!(
            class(
                ErrorKind::Unprocessable,
                "unprocessable_entity",
                "Maximum context length exceeded"
            ),
            ErrorClass::ContextWindow
        );
    }

    #[test]
    fn content_policy_from_every_provider() {
        let openai = "Your request was rejected as a result of our safety system. Your \
                      prompt may contain text that is not allowed by our safety system.";
        assert_eq!(
            class(
                ErrorKind::InvalidRequest,
                "content_policy_violation",
                openai
            ),
            ErrorClass::ContentPolicy
        );
        let azure = "The response was filtered due to the prompt triggering Azure OpenAI's \
                     content management policy.";
        assert_eq!(
            class(ErrorKind::InvalidRequest, "content_filter", azure),
            ErrorClass::ContentPolicy
        );
        assert_eq!(
            class(ErrorKind::InvalidRequest, "invalid_request", azure),
            ErrorClass::ContentPolicy
        );
        let gemini = "The prompt was blocked due to SAFETY.";
        assert_eq!(
            class(ErrorKind::InvalidRequest, "invalid_request", gemini),
            ErrorClass::ContentPolicy
        );
        let anthropic = "Output blocked by content filtering policy";
        assert_eq!(
            class(ErrorKind::InvalidRequest, "invalid_request", anthropic),
            ErrorClass::ContentPolicy
        );
        assert_eq!(
            class(
                ErrorKind::PermissionDenied,
                "permission_denied",
                "This request violates our content policy."
            ),
            ErrorClass::ContentPolicy
        );
    }

    #[test]
    fn client_errors() {
        let cases = [
            (
                ErrorKind::Authentication,
                "invalid_api_key",
                "Incorrect API key provided: sk-abc***. You can find your API key at https://platform.openai.com/account/api-keys.",
            ),
            (
                ErrorKind::Authentication,
                "invalid_api_key",
                "invalid x-api-key",
            ),
            (
                ErrorKind::InvalidRequest,
                "invalid_request",
                "API key not valid. Please pass a valid API key.",
            ),
            (
                ErrorKind::NotFound,
                "model_not_found",
                "The model `gpt-5-turbo` does not exist or you do not have access to it.",
            ),
            (
                ErrorKind::NotFound,
                "not_found",
                "model: claude-3-opus-20990101",
            ),
            (
                ErrorKind::InvalidRequest,
                "invalid_request",
                "messages: roles must alternate between \"user\" and \"assistant\"",
            ),
            (
                ErrorKind::InvalidRequest,
                "invalid_request",
                "Invalid JSON payload received. Unknown name \"foo\": Cannot find field.",
            ),
            // Gemini complaining about the safety_settings field: a bad request.
            (
                ErrorKind::InvalidRequest,
                "invalid_request",
                "Invalid value at 'safety_settings[0].category' (type.googleapis.com/google.ai.generativelanguage.v1beta.HarmCategory), \"HARM\"",
            ),
            // Anthropic's byte limit: too large, but not a context-window problem.
            (
                ErrorKind::PayloadTooLarge,
                "request_too_large",
                "Request exceeds the maximum allowed number of bytes.",
            ),
            (
                ErrorKind::PermissionDenied,
                "permission_denied",
                "Your API key does not have permission to use the specified resource.",
            ),
        ];
        for (kind, code, message) in cases {
            assert_eq!(class(kind, code, message), ErrorClass::Client, "{message}");
        }
        // A message about tokens on a 401 is not a context-window error.
        assert_eq!(
            class(
                ErrorKind::Authentication,
                "invalid_api_key",
                "too many tokens"
            ),
            ErrorClass::Client
        );
    }

    #[test]
    fn class_properties() {
        use ErrorClass::*;
        for (c, retry, name) in [
            (RateLimited, true, "rate_limited"),
            (Unavailable, true, "unavailable"),
            (ContextWindow, false, "context_window"),
            (ContentPolicy, false, "content_policy"),
            (Client, false, "client"),
        ] {
            assert_eq!(c.is_retryable(), retry);
            assert_eq!(c.counts_against_health(), retry);
            assert_eq!(c.as_str(), name);
            // Serde names match as_str, so logs and JSON agree.
            assert_eq!(serde_json::to_value(c).ok(), Some(serde_json::json!(name)));
        }
    }
}
