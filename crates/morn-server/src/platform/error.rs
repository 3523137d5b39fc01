//! The platform API's one error type and its wire shape:
//! `{"error": {"message", "code", "type", "param"}}`.
//!
//! Codes are stable and documented here; clients branch on `code`, never on `message`.
//!
//! | code | status | when |
//! |---|---|---|
//! | `invalid_request` | 400 | malformed JSON, bad query string, contradictory fields |
//! | `missing_field` | 400 | a required body field is absent (`param` names it) |
//! | `invalid_value` | 400 | a field has a value outside its domain (`param` names it) |
//! | `weak_password` | 400 | the password breaks the policy |
//! | `unauthenticated` | 401 | no, malformed or revoked credentials |
//! | `invalid_credentials` | 401 | wrong email or password (same answer for both) |
//! | `token_expired` | 401 | the access or refresh token is past its expiry |
//! | `token_reused` | 401 | an already used refresh token: its whole session is revoked |
//! | `forbidden` | 403 | a member whose role is too low for the action |
//! | `signup_disabled` | 403 | self-service sign-up is off |
//! | `not_found` | 404 | no such resource, or one the caller may not know exists |
//! | `conflict` | 409 | a uniqueness rule, or a state that forbids the change |
//! | `internal_error` | 500 | anything else; details are logged, never returned |

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use morn_store::StoreError;
use serde_json::json;

/// Everything a platform endpoint can answer with instead of success.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("Missing required field `{0}`.")]
    MissingField(String),
    #[error("{message}")]
    InvalidValue {
        param: &'static str,
        message: String,
    },
    #[error("{0}")]
    WeakPassword(String),
    #[error("{0}")]
    Unauthenticated(&'static str),
    #[error("Invalid email or password.")]
    InvalidCredentials,
    #[error("The token has expired.")]
    TokenExpired,
    #[error("This refresh token was already used; the session has been revoked.")]
    TokenReused,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("Sign-up is disabled on this server.")]
    SignupDisabled,
    #[error("{0} not found.")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    /// Logged with its details; the client sees a generic message.
    #[error("internal error: {0}")]
    Internal(String),
}

impl PlatformError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidRequest(_)
            | Self::MissingField(_)
            | Self::InvalidValue { .. }
            | Self::WeakPassword(_) => StatusCode::BAD_REQUEST,
            Self::Unauthenticated(_)
            | Self::InvalidCredentials
            | Self::TokenExpired
            | Self::TokenReused => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) | Self::SignupDisabled => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::MissingField(_) => "missing_field",
            Self::InvalidValue { .. } => "invalid_value",
            Self::WeakPassword(_) => "weak_password",
            Self::Unauthenticated(_) => "unauthenticated",
            Self::InvalidCredentials => "invalid_credentials",
            Self::TokenExpired => "token_expired",
            Self::TokenReused => "token_reused",
            Self::Forbidden(_) => "forbidden",
            Self::SignupDisabled => "signup_disabled",
            Self::NotFound(_) => "not_found",
            Self::Conflict(_) => "conflict",
            Self::Internal(_) => "internal_error",
        }
    }

    fn kind(&self) -> &'static str {
        match self.status() {
            StatusCode::UNAUTHORIZED => "authentication_error",
            StatusCode::FORBIDDEN => "permission_error",
            StatusCode::NOT_FOUND => "not_found_error",
            StatusCode::CONFLICT => "conflict_error",
            s if s.is_server_error() => "server_error",
            _ => "invalid_request_error",
        }
    }

    fn param(&self) -> Option<&str> {
        match self {
            Self::MissingField(p) => Some(p),
            Self::InvalidValue { param, .. } => Some(param),
            Self::WeakPassword(_) => Some("password"),
            _ => None,
        }
    }

    pub fn invalid(param: &'static str, message: impl Into<String>) -> Self {
        Self::InvalidValue {
            param,
            message: message.into(),
        }
    }

    pub fn internal(what: impl std::fmt::Display) -> Self {
        Self::Internal(what.to_string())
    }
}

impl From<StoreError> for PlatformError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Conflict { what } => Self::Conflict(format!("This {what} already exists.")),
            StoreError::NotFound { what } => Self::NotFound(what),
            StoreError::Reference { what } => Self::Conflict(format!(
                "The {what} refers to a missing record or is still in use."
            )),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<morn_auth::AuthError> for PlatformError {
    fn from(err: morn_auth::AuthError) -> Self {
        match err {
            morn_auth::AuthError::WeakPassword(m) => Self::WeakPassword(m),
            morn_auth::AuthError::Expired => Self::TokenExpired,
            morn_auth::AuthError::InvalidToken => Self::Unauthenticated("Invalid access token."),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for PlatformError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = if status.is_server_error() {
            tracing::error!(error = %self, "platform API error");
            "The server had an error processing the request.".to_owned()
        } else {
            self.to_string()
        };
        let body = json!({"error": {
            "message": message,
            "code": self.code(),
            "type": self.kind(),
            "param": self.param(),
        }});
        (status, Json(body)).into_response()
    }
}

/// Result of platform services and handlers.
pub type PResult<T> = Result<T, PlatformError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_hide_details() {
        let response = PlatformError::internal("db password=hunter2").into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn store_errors_map_to_client_codes() {
        let err = PlatformError::from(StoreError::Conflict { what: "user email" });
        assert_eq!(
            (err.status(), err.code()),
            (StatusCode::CONFLICT, "conflict")
        );
        let err = PlatformError::from(StoreError::NotFound { what: "user" });
        assert_eq!(err.code(), "not_found");
    }
}
