//! Request ids and the access log.
//!
//! Every request gets a new id, a UUID v7, carried by a tracing span so every log line
//! of the request, its stream included, names it, and kept as the usage record's
//! `request_id`. The `x-request-id` response header echoes the caller's own
//! `x-request-id` when it sent a sane one (also kept, as `client_request_id`, in the
//! span and the record; Morn's id is then in `x-morn-request-id`), else it carries
//! Morn's id. The caller's id is never the record's key: a caller sending one id twice
//! must get two records, not one.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, Method};
use axum::response::Response;

/// The request's id and arrival time, for handlers (metering records both). Cheap to
/// clone: handlers extract it by value.
#[derive(Debug, Clone)]
pub struct RequestInfo {
    /// Morn's id, unique.
    pub id: Arc<str>,
    /// The caller's sane `x-request-id`, if it sent one.
    pub client_id: Option<Arc<str>>,
    pub started: Instant,
}

/// Constants, so the names are not parsed again on every response.
const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const X_MORN_REQUEST_ID: HeaderName = HeaderName::from_static("x-morn-request-id");

/// What the front door keeps of a request while it is served: its id, span, and what
/// the access line needs.
pub(crate) struct Tagged {
    pub info: RequestInfo,
    pub span: tracing::Span,
    header: Option<HeaderValue>,
    /// Method and path, copied only when the access line is logged (level info): it
    /// is filtered out under load (level warn and above).
    access: Option<(Method, String)>,
}

impl Tagged {
    /// Gives `request` its id, and notes the caller's sane `x-request-id`.
    pub(crate) fn new(request: &Request) -> Self {
        let id = new_id();
        let sent = request.headers().get(X_REQUEST_ID);
        let client_id = sent
            .and_then(|v| v.to_str().ok())
            .filter(|v| is_sane(v))
            .map(Arc::<str>::from);
        let (span, header) = match &client_id {
            Some(client_id) => (
                tracing::info_span!("request", request_id = %id, client_request_id = %client_id),
                sent.cloned(),
            ),
            None => (
                tracing::info_span!("request", request_id = %id),
                HeaderValue::from_str(&id).ok(),
            ),
        };
        let access = tracing::enabled!(tracing::Level::INFO)
            .then(|| (request.method().clone(), request.uri().path().to_owned()));
        Self {
            info: RequestInfo {
                id: id.into(),
                client_id,
                started: Instant::now(),
            },
            span,
            header,
            access,
        }
    }

    /// Puts the ids on `response` and writes the access line.
    pub(crate) fn finish(self, response: &mut Response) {
        if let Some(value) = self.header {
            response.headers_mut().insert(X_REQUEST_ID, value);
        }
        if self.info.client_id.is_some()
            && let Ok(value) = HeaderValue::from_str(&self.info.id)
        {
            response.headers_mut().insert(X_MORN_REQUEST_ID, value);
        }
        if let Some((method, path)) = self.access {
            let _guard = self.span.enter();
            tracing::info!(
                %method,
                path,
                status = response.status().as_u16(),
                latency_us = self.info.started.elapsed().as_micros() as u64,
                "request"
            );
        }
    }
}

/// A UUID v7 with its random bits from a fast per-thread generator: `Uuid::now_v7`
/// asks the OS for randomness (a syscall) on every call, which showed in profiles. Ids
/// only need to be unique, not unpredictable.
fn new_id() -> String {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let random: [u8; 10] = fastrand::u128(..).to_le_bytes()[..10]
        .try_into()
        .unwrap_or([0; 10]);
    uuid::Builder::from_unix_timestamp_millis(millis, &random)
        .into_uuid()
        .to_string()
}

/// Accepts caller ids of up to 128 visible ASCII characters; anything else is replaced
/// so log lines cannot be forged or bloated through the header.
fn is_sane(v: &str) -> bool {
    !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_time_ordered_uuid_v7() {
        let a = new_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = new_id();
        assert!(a < b, "{a} < {b}");
        assert_eq!(
            uuid::Uuid::parse_str(&a).map(|u| u.get_version_num()).ok(),
            Some(7)
        );
        assert_ne!(new_id(), new_id());
    }

    #[test]
    fn sane_ids_only() {
        assert!(is_sane("req_123-abc"));
        assert!(!is_sane(""));
        assert!(!is_sane("has space"));
        assert!(!is_sane(&"x".repeat(200)));
    }
}
