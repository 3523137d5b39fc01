//! Small extractors and response helpers shared by the platform handlers: JSON bodies
//! whose errors use the platform shape, request metadata for audit, pagination.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use morn_store::{Page, Paged};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::error::PlatformError;

/// A JSON body. Unlike `axum::Json`, a missing field is a `missing_field` error naming
/// the field, and every rejection uses the platform error shape.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = PlatformError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| PlatformError::InvalidRequest(e.body_text()))?;
        let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &bytes
        };
        serde_json::from_slice(bytes).map(Body).map_err(json_error)
    }
}

fn json_error(err: serde_json::Error) -> PlatformError {
    let text = err.to_string();
    // serde's wording: "missing field `email` at line 1 column 2".
    if let Some(rest) = text.strip_prefix("missing field `")
        && let Some(field) = rest.split('`').next()
    {
        return PlatformError::MissingField(field.to_owned());
    }
    PlatformError::InvalidRequest(format!("Invalid JSON body: {text}"))
}

/// Where a request came from, for the audit trail and the session list.
#[derive(Debug, Clone, Default)]
pub struct Meta {
    /// The first `x-forwarded-for` address, else the connection's peer (when the
    /// server records it).
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for Meta {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        let forwarded = header("x-forwarded-for")
            .and_then(|v| v.split(',').next())
            .map(|v| v.trim().to_owned());
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string());
        Ok(Self {
            ip: forwarded.or(peer),
            user_agent: header("user-agent").map(|v| v.chars().take(512).collect()),
        })
    }
}

/// `?limit=&after=` on every list endpoint.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub limit: Option<u32>,
    pub after: Option<String>,
}

impl ListQuery {
    pub fn page(&self) -> Page {
        Page {
            limit: self.limit.unwrap_or(Page::DEFAULT_LIMIT),
            after: self.after.clone().filter(|a| !a.is_empty()),
        }
    }
}

/// `{"object": "list", "data": [...], "next_after": ...}`.
#[derive(Debug, Serialize)]
pub struct List<T> {
    pub object: &'static str,
    pub data: Vec<T>,
    pub next_after: Option<String>,
}

impl<T> List<T> {
    pub fn map<R>(paged: Paged<R>, f: impl FnMut(R) -> T) -> Self {
        Self {
            object: "list",
            data: paged.data.into_iter().map(f).collect(),
            next_after: paged.next_after,
        }
    }

    pub fn all(data: Vec<T>) -> Self {
        Self {
            object: "list",
            data,
            next_after: None,
        }
    }
}

impl<T: Serialize> IntoResponse for List<T> {
    fn into_response(self) -> Response {
        Json(self).into_response()
    }
}

/// A query string; its errors use the platform shape.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = PlatformError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Self(q.0))
            .map_err(|e| PlatformError::InvalidRequest(e.body_text()))
    }
}

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    crate::identity::key_cache_now()
}

/// A new time-ordered id.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
