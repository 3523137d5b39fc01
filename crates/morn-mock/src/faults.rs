//! Request-level faults decided before any answer is produced: time to first
//! byte, hanging, forced error statuses and `fail_first` counting.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;

use crate::Shared;
use crate::directives::Directives;

/// How long a `hang` request waits before giving up on its own (the client is
/// expected to give up much earlier).
const HANG_FOR: Duration = Duration::from_secs(3600);

/// An error the request must answer with, in the provider's own shape.
#[derive(Debug)]
pub struct Fault {
    pub status: StatusCode,
    pub message: Option<String>,
    pub retry_after: Option<u64>,
}

/// Waits as directed and decides whether the request fails.
pub async fn before_response(state: &Shared, d: &Directives, key: &str) -> Option<Fault> {
    if let Some(ms) = d.ttfb_ms.filter(|ms| *ms > 0) {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    if d.hang == Some(true) {
        tokio::time::sleep(HANG_FOR).await;
    }
    let status = match (d.status, d.fail_first) {
        (None, None) => return None,
        (s, _) => s.unwrap_or(500),
    };
    if let Some(k) = d.fail_first {
        let seen = {
            let mut counters = match state.fail_counters.lock() {
                Ok(g) => g,
                Err(poisoned) => poisoned.into_inner(),
            };
            let c = counters.entry(key.to_string()).or_insert(0);
            *c += 1;
            *c
        };
        if seen > k {
            return None;
        }
    }
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status.is_success() {
        return None;
    }
    let retry_after =
        matches!(status.as_u16(), 429 | 503 | 529).then(|| d.retry_after.unwrap_or(1));
    Some(Fault {
        status,
        message: d.error_message.clone(),
        retry_after,
    })
}

/// Adds `retry-after` (seconds) when the fault carries one.
pub fn with_retry_after(mut r: Response, retry_after: Option<u64>) -> Response {
    if let Some(secs) = retry_after
        && let Ok(v) = HeaderValue::from_str(&secs.to_string())
    {
        r.headers_mut().insert("retry-after", v);
    }
    r
}
