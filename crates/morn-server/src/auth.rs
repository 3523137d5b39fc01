//! Bearer-key authentication for `/v1`: `Authorization: Bearer <key>` (OpenAI style) or
//! `x-api-key: <key>` (Anthropic style). Failures are answered in the caller's dialect.

use axum::extract::{OriginalUri, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use morn_protocol::{ApiError, ErrorKind};

use crate::dialect::Dialect;
use crate::identity::key_cache_now as now_ms;
use crate::identity::{Principal, Scope};
use crate::state::Shared;

/// Middleware: lets the request through when it carries a usable key for its path.
pub async fn require_key(
    State(state): State<Shared>,
    mut request: Request,
    next: Next,
) -> Response {
    // Inside the nested `/v1` router the URI has lost its prefix; the original has it.
    let path = match request.extensions().get::<OriginalUri>() {
        Some(uri) => uri.path(),
        None => request.uri().path(),
    };
    match admit(&state, path, request.headers()) {
        Ok(principal) => {
            request.extensions_mut().insert(principal);
            next.run(request).await
        }
        Err(err) => Dialect::detect(path, request.headers()).error(&err),
    }
}

/// The caller of `path`, or why not: the key is missing, unknown, inactive or not
/// allowed this kind of endpoint. Shared by the middleware and the front door's direct
/// routes; both answer the error in the caller's dialect.
pub(crate) fn admit(
    state: &Shared,
    path: &str,
    headers: &HeaderMap,
) -> Result<Principal, ApiError> {
    let principal = authenticate(state, headers)?;
    if let Some(scope) = Scope::for_path(path)
        && !principal.allows_scope(scope)
    {
        let err = ApiError::new(
            ErrorKind::PermissionDenied,
            format!(
                "This API key is not allowed to call {} endpoints.",
                scope.as_str()
            ),
        )
        .with_code("scope_not_allowed");
        return Err(err);
    }
    Ok(principal)
}

/// The caller behind the request's key: the master key, or a usable API key from the
/// in-memory cache (no database round trip).
fn authenticate(state: &Shared, headers: &HeaderMap) -> Result<Principal, ApiError> {
    let Some(key) = presented_key(headers) else {
        return Err(ApiError::new(
            ErrorKind::Authentication,
            "Missing API key. Send it as `Authorization: Bearer <key>` or `x-api-key: <key>`.",
        )
        .with_code("missing_api_key"));
    };
    if constant_time_eq(key.as_bytes(), state.auth.master_key.expose().as_bytes()) {
        return Ok(Principal::Master);
    }
    let invalid = || ApiError::new(ErrorKind::Authentication, "Invalid API key.");
    if !morn_auth::looks_like_api_key(key) {
        return Err(invalid());
    }
    let cached = state
        .identity
        .keys
        .get(&morn_auth::api_key_digest(key))
        .ok_or_else(invalid)?;
    if !cached.usable_at(now_ms()) {
        return Err(ApiError::new(
            ErrorKind::Authentication,
            "This API key is disabled or expired.",
        )
        .with_code("api_key_inactive"));
    }
    Ok(Principal::Key(cached))
}

fn presented_key(headers: &HeaderMap) -> Option<&str> {
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty());
    // An `Authorization` header of another scheme (a proxy's Basic auth) does not hide
    // an `x-api-key`.
    bearer.or_else(|| {
        headers
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|t| !t.is_empty())
    })
}

/// Compares without an early exit, so timing does not reveal how much of a key matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn reads_bearer_or_x_api_key() {
        let mut h = HeaderMap::new();
        assert_eq!(presented_key(&h), None);
        h.insert("x-api-key", HeaderValue::from_static("k1"));
        assert_eq!(presented_key(&h), Some("k1"));
        h.insert("authorization", HeaderValue::from_static("Bearer k2"));
        assert_eq!(presented_key(&h), Some("k2"));
        h.insert("authorization", HeaderValue::from_static("Basic abc"));
        assert_eq!(
            presented_key(&h),
            Some("k1"),
            "Basic auth falls through to x-api-key"
        );
        h.remove("x-api-key");
        assert_eq!(presented_key(&h), None);
    }

    #[test]
    fn compares_keys_exactly() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
