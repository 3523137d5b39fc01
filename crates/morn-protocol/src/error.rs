//! The canonical API error: one kind per HTTP status Morn can return, a stable code,
//! and a message that is safe to show to the caller.
//!
//! Each inbound protocol renders this into its own error shape (OpenAI's
//! `{"error":{message,type,param,code}}`, Anthropic's `{"type":"error","error":{..}}`);
//! each upstream adapter parses its provider's error bodies into it.

use serde::{Deserialize, Serialize};

/// What went wrong, as a class with a fixed HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    InvalidRequest,
    Authentication,
    PermissionDenied,
    NotFound,
    RequestTimeout,
    PayloadTooLarge,
    Unprocessable,
    RateLimited,
    Internal,
    BadGateway,
    Unavailable,
    GatewayTimeout,
}

impl ErrorKind {
    /// The HTTP status this kind is returned with.
    pub fn status(self) -> u16 {
        match self {
            Self::InvalidRequest => 400,
            Self::Authentication => 401,
            Self::PermissionDenied => 403,
            Self::NotFound => 404,
            Self::RequestTimeout => 408,
            Self::PayloadTooLarge => 413,
            Self::Unprocessable => 422,
            Self::RateLimited => 429,
            Self::Internal => 500,
            Self::BadGateway => 502,
            Self::Unavailable => 503,
            Self::GatewayTimeout => 504,
        }
    }

    /// The kind for an HTTP status received from an upstream. Statuses without a kind
    /// of their own fall into the nearest class (any other 4xx is a bad request, any
    /// other 5xx, Anthropic's 529 "overloaded" included, is unavailable).
    pub fn from_status(status: u16) -> Self {
        match status {
            400 => Self::InvalidRequest,
            401 => Self::Authentication,
            403 => Self::PermissionDenied,
            404 => Self::NotFound,
            408 => Self::RequestTimeout,
            413 => Self::PayloadTooLarge,
            422 => Self::Unprocessable,
            429 => Self::RateLimited,
            500 => Self::Internal,
            502 => Self::BadGateway,
            503 | 529 => Self::Unavailable,
            504 => Self::GatewayTimeout,
            s if (400..500).contains(&s) => Self::InvalidRequest,
            _ => Self::Unavailable,
        }
    }

    /// The stable machine-readable code used when nothing more specific applies.
    pub fn default_code(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::Authentication => "invalid_api_key",
            Self::PermissionDenied => "permission_denied",
            Self::NotFound => "not_found",
            Self::RequestTimeout => "request_timeout",
            Self::PayloadTooLarge => "request_too_large",
            Self::Unprocessable => "unprocessable_entity",
            Self::RateLimited => "rate_limit_exceeded",
            Self::Internal => "internal_error",
            Self::BadGateway => "upstream_error",
            Self::Unavailable => "service_unavailable",
            Self::GatewayTimeout => "upstream_timeout",
        }
    }
}

/// An error as the caller sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{kind:?}: {message}")]
pub struct ApiError {
    pub kind: ErrorKind,
    /// Human-readable, safe to return: never internal details or secrets.
    pub message: String,
    /// Stable machine-readable code (see `ErrorKind::default_code` and the docs).
    pub code: String,
    /// The request field at fault, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
    /// Seconds the caller should wait before retrying (429, 503).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            code: kind.default_code().to_owned(),
            param: None,
            retry_after: None,
        }
    }

    /// A 400 about one request field.
    pub fn invalid(param: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidRequest, message).with_param(param)
    }

    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = code.into();
        self
    }

    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    pub fn with_retry_after(mut self, seconds: Option<u64>) -> Self {
        self.retry_after = seconds;
        self
    }

    pub fn status(&self) -> u16 {
        self.kind.status()
    }

    /// A body that is not valid JSON for the endpoint.
    pub fn invalid_json(detail: impl std::fmt::Display) -> Self {
        Self::new(
            ErrorKind::InvalidRequest,
            format!("Invalid request body: {detail}"),
        )
        .with_code("invalid_json")
    }

    /// An upstream answered with something Morn could not understand.
    pub fn bad_upstream(detail: impl std::fmt::Display) -> Self {
        Self::new(
            ErrorKind::BadGateway,
            format!("The upstream provider returned an invalid response: {detail}"),
        )
    }

    /// An upstream stream ended without its terminator.
    pub fn stream_interrupted() -> Self {
        Self::new(
            ErrorKind::BadGateway,
            "The upstream provider closed the stream before the answer was complete.",
        )
        .with_code("stream_interrupted")
    }
}
