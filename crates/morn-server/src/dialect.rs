//! Which protocol a caller speaks, so every error reaches it in its own shape.

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use morn_protocol::{ApiError, anthropic, openai};

/// The error shape a caller expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    OpenAi,
    Anthropic,
}

impl Dialect {
    /// `/v1/messages` is Anthropic's; other routes answer in Anthropic's shape when the
    /// client sends `anthropic-version` (the Anthropic SDKs always do), else OpenAI's.
    pub fn detect(path: &str, headers: &HeaderMap) -> Self {
        if path.starts_with("/v1/messages") || headers.contains_key("anthropic-version") {
            Self::Anthropic
        } else {
            Self::OpenAi
        }
    }

    /// Renders an error as a full HTTP response in this dialect.
    pub fn error(self, err: &ApiError) -> Response {
        let body = match self {
            Self::OpenAi => openai::render_error(err),
            Self::Anthropic => anthropic::render_error(err),
        };
        let status =
            StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(seconds) = err.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if err.status() >= 500 {
            tracing::warn!(status = err.status(), code = %err.code, "request failed");
        } else {
            tracing::info!(status = err.status(), code = %err.code, "request rejected");
        }
        response
    }
}

/// A JSON body with status 200.
pub fn json_response(body: Vec<u8>) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    // Room for what a gateway answer gets next (content type and length, request id,
    // the `x-morn-*` and `x-ratelimit-*` headers): one allocation instead of a
    // rehash each time the map fills up.
    headers.reserve(16);
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Headers saying who served the request: `x-morn-model` (the model that answered),
/// `x-morn-deployment` (`<provider>/<upstream model>`), `x-morn-provider`,
/// `x-morn-attempts`, and `x-morn-fallback-from` when a fallback model answered.
pub fn served_headers(response: &mut Response, served: &morn_gateway::Served) {
    // Constant names: `insert("x-...")` would parse and validate each name on every
    // response.
    const MODEL: HeaderName = HeaderName::from_static("x-morn-model");
    const DEPLOYMENT: HeaderName = HeaderName::from_static("x-morn-deployment");
    const PROVIDER: HeaderName = HeaderName::from_static("x-morn-provider");
    const ATTEMPTS: HeaderName = HeaderName::from_static("x-morn-attempts");
    const FALLBACK_FROM: HeaderName = HeaderName::from_static("x-morn-fallback-from");
    let headers = response.headers_mut();
    let mut put = |name: HeaderName, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    put(MODEL, &served.model);
    put(DEPLOYMENT, &served.deployment);
    put(PROVIDER, &served.provider);
    if let Some(from) = &served.fallback_from {
        put(FALLBACK_FROM, from);
    }
    headers.insert(ATTEMPTS, HeaderValue::from(served.attempts));
    tracing::info!(
        model = %served.model,
        deployment = %served.deployment,
        attempts = served.attempts,
        fallback_from = served.fallback_from.as_deref().unwrap_or(""),
        "served"
    );
}

/// `x-ratelimit-*` headers from the caller's tightest limits, as OpenAI sends them.
/// They travel as a response extension and become head lines where the head is
/// written: by the lean HTTP/1.1 writer directly (`h1/write.rs`), for hyper's
/// connections by [`rate_headers_into_map`] where a response is handed to hyper (the
/// front door's `Service::call` and the lean loop's hand-off, `h1/handoff.rs`).
pub fn rate_headers(response: &mut Response, limits: Option<&crate::metering::RateHeaders>) {
    if let Some(limits) = limits {
        response.extensions_mut().insert(limits.clone());
    }
}

/// Moves the `x-ratelimit-*` headers of [`rate_headers`] into the header map, for a
/// response written by hyper.
pub fn rate_headers_into_map(response: &mut Response) {
    let Some(limits) = response
        .extensions_mut()
        .remove::<crate::metering::RateHeaders>()
    else {
        return;
    };
    let headers = response.headers_mut();
    let pairs = limits.pairs();
    // Room for all of them at once, not a regrowth part way through.
    headers.reserve(pairs.len());
    for (name, value) in pairs {
        headers.insert(name, value);
    }
}
