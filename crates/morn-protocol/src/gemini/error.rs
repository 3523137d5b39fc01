//! Gemini error bodies → canonical `ApiError`.
//!
//! Gemini answers errors with a `google.rpc.Status`:
//! `{"error":{"code":429,"message":"...","status":"RESOURCE_EXHAUSTED","details":[...]}}`,
//! sometimes wrapped in a one-element array. The kind comes from the HTTP status, the
//! code is the lower-cased `status` (`resource_exhausted`), and a `RetryInfo` detail's
//! `retryDelay` (`"43s"`, `"1.5s"`) stands in for a missing `Retry-After` header.

use serde::Deserialize;

use super::wire::ErrorStatus;
use crate::{ApiError, ErrorKind};

#[derive(Deserialize)]
struct Envelope {
    error: ErrorStatus,
}

/// See [`super::decode_error`].
pub(super) fn decode(status: u16, body: &[u8], retry_after: Option<u64>) -> ApiError {
    // Checked by the first byte: a derived struct would also accept an array
    // positionally and come out empty.
    let wrapped = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    let envelope = if wrapped {
        serde_json::from_slice::<[Envelope; 1]>(body).map(|[e]| e)
    } else {
        serde_json::from_slice::<Envelope>(body)
    };
    let error = envelope.map_or_else(|_| ErrorStatus::default(), |e| e.error);
    from_status(status, error, retry_after)
}

/// The canonical error for an HTTP status and a parsed `google.rpc.Status` (also used
/// for in-band stream errors, whose status is the body's `code`).
pub(super) fn from_status(status: u16, error: ErrorStatus, retry_after: Option<u64>) -> ApiError {
    let kind = ErrorKind::from_status(status);
    let retry_after = retry_after.or_else(|| retry_delay(&error));
    let message = match error.message.filter(|m| !m.trim().is_empty()) {
        Some(message) => message,
        None => format!("The upstream provider returned HTTP {status}."),
    };
    let code = match error.status.filter(|s| !s.is_empty()) {
        Some(s) => s.to_ascii_lowercase(),
        None => kind.default_code().to_owned(),
    };
    ApiError::new(kind, message)
        .with_code(code)
        .with_retry_after(retry_after)
}

/// Whole seconds (rounded up) from the first `RetryInfo.retryDelay`.
fn retry_delay(error: &ErrorStatus) -> Option<u64> {
    error
        .details
        .iter()
        .filter(|d| {
            d.type_url
                .as_deref()
                .is_none_or(|t| t.ends_with("google.rpc.RetryInfo"))
        })
        .find_map(|d| d.retry_delay.as_deref())
        .and_then(parse_duration)
}

/// A protobuf JSON `Duration` (`"12s"`, `"0.500s"`) as whole seconds, rounded up.
fn parse_duration(text: &str) -> Option<u64> {
    let seconds: f64 = text.trim().strip_suffix('s')?.parse().ok()?;
    if !seconds.is_finite() || seconds < 0.0 {
        return None;
    }
    // Bounded above, so the cast cannot truncate meaningfully.
    Some(seconds.ceil().min(86_400.0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_round_up() {
        assert_eq!(parse_duration("12s"), Some(12));
        assert_eq!(parse_duration("0.5s"), Some(1));
        assert_eq!(parse_duration("43.089s"), Some(44));
        assert_eq!(parse_duration("12"), None);
        assert_eq!(parse_duration("-1s"), None);
    }

    #[test]
    fn non_json_bodies_fall_back_to_the_status() {
        let e = decode(502, b"<html>Bad Gateway</html>", None);
        assert_eq!(e.kind, ErrorKind::BadGateway);
        assert_eq!(e.code, "upstream_error");
        assert_eq!(e.message, "The upstream provider returned HTTP 502.");
    }
}
