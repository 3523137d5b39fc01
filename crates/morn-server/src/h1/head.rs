//! Reading one request head and deciding whether the lean loop may serve it.
//!
//! The lean loop takes only the plain case: HTTP/1.1, a body framed by one
//! `Content-Length` (or none), no `Transfer-Encoding`, `Expect` or `Upgrade`, a head
//! httparse accepts within [`MAX_HEAD`]. Anything else, a malformed head included, is
//! left in the buffer untouched for hyper, which answers it (400, 431, `100 Continue`,
//! chunked bodies, h2c) as it always has.

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use bytes::BytesMut;

/// Largest head the lean loop reads; hyper takes longer ones (and refuses them).
pub(super) const MAX_HEAD: usize = 16 * 1024;

/// Most headers the lean loop parses; hyper takes requests with more.
const MAX_HEADERS: usize = 48;

/// What the buffer holds.
#[expect(
    clippy::large_enum_variant,
    reason = "Lean is the common case; boxing it would cost an allocation per request"
)]
pub(super) enum Parsed {
    /// A whole lean head; its bytes are gone from the buffer.
    Lean(Head),
    /// Not all of the head yet.
    Partial,
    /// A request for hyper; the buffer is as it was.
    HandOff,
    /// A head httparse accepted but `http` did not (a target or value it refuses);
    /// its bytes are gone, so the loop answers 400 and closes, as hyper would.
    Bad,
}

/// A request head the lean loop serves.
pub(super) struct Head {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    /// The body's length (0 without `Content-Length`).
    pub body_len: usize,
    /// The client asked to close after this request (`Connection: close`).
    pub close: bool,
}

/// Parses the head at the start of `buf`. A lean head is split off the buffer (and
/// its names and values point into it, not copied); a body longer than `body_limit`
/// goes to hyper, which streams it to the handler's own limit check.
pub(super) fn parse(buf: &mut BytesMut, body_limit: usize) -> Parsed {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut slots);
    let len = match request.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => return Parsed::Partial,
        _ => return Parsed::HandOff,
    };
    if request.version != Some(1) {
        return Parsed::HandOff;
    }
    let (Some(method), Some(path)) = (request.method, request.path) else {
        return Parsed::HandOff;
    };
    let base = buf.as_ptr() as usize;
    // Where each slice sits in the buffer, so the values can share its bytes.
    let span = |part: &[u8]| {
        let start = part.as_ptr() as usize - base;
        start..start + part.len()
    };
    let Ok(method) = Method::from_bytes(method.as_bytes()) else {
        return Parsed::HandOff;
    };
    let path = span(path.as_bytes());
    let mut fields = Vec::with_capacity(request.headers.len());
    let mut body_len = None;
    let mut close = false;
    for header in request.headers.iter() {
        let name = header.name.as_bytes();
        if name.eq_ignore_ascii_case(b"content-length") {
            let Some(len) = parse_length(header.value) else {
                return Parsed::HandOff;
            };
            if body_len.replace(len).is_some() {
                return Parsed::HandOff;
            }
        } else if name.eq_ignore_ascii_case(b"transfer-encoding")
            || name.eq_ignore_ascii_case(b"expect")
            || name.eq_ignore_ascii_case(b"upgrade")
        {
            return Parsed::HandOff;
        } else if name.eq_ignore_ascii_case(b"connection") {
            close |= has_token(header.value, b"close");
        }
        let Ok(name) = HeaderName::from_bytes(name) else {
            return Parsed::HandOff;
        };
        fields.push((name, span(header.value)));
    }
    let body_len = body_len.unwrap_or(0);
    if body_len > body_limit {
        return Parsed::HandOff;
    }
    let head = buf.split_to(len).freeze();
    let Ok(uri) = Uri::from_maybe_shared(head.slice(path)) else {
        return Parsed::Bad;
    };
    let mut headers = HeaderMap::with_capacity(fields.len() + 1);
    for (name, value) in fields {
        match HeaderValue::from_maybe_shared(head.slice(value)) {
            Ok(value) => {
                headers.append(name, value);
            }
            Err(_) => return Parsed::Bad,
        }
    }
    Parsed::Lean(Head {
        method,
        uri,
        headers,
        body_len,
        close,
    })
}

/// A `Content-Length` value: ASCII digits only, as RFC 9110 requires.
fn parse_length(value: &[u8]) -> Option<usize> {
    if value.is_empty() || value.len() > 15 {
        return None;
    }
    value.iter().try_fold(0usize, |len, &b| {
        b.is_ascii_digit().then(|| len * 10 + usize::from(b - b'0'))
    })
}

/// Whether the comma-separated header value lists `token` (any case).
fn has_token(value: &[u8], token: &[u8]) -> bool {
    value
        .split(|&b| b == b',')
        .any(|item| item.trim_ascii().eq_ignore_ascii_case(token))
}

#[cfg(test)]
mod tests {
    #![expect(clippy::panic, reason = "tests")]

    use super::*;

    fn parse_str(text: &str) -> (Parsed, BytesMut) {
        let mut buf = BytesMut::from(text);
        let parsed = parse(&mut buf, 1024);
        (parsed, buf)
    }

    #[test]
    fn plain_requests_are_lean_and_leave_the_body() {
        let (parsed, rest) = parse_str(
            "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nX-A: 1\r\nx-a: 2\r\n\r\n{}GET",
        );
        let Parsed::Lean(head) = parsed else {
            panic!("not lean")
        };
        assert_eq!(head.method, Method::POST);
        assert_eq!(head.uri.path(), "/v1/chat/completions");
        assert_eq!(head.body_len, 2);
        assert!(!head.close);
        let values: Vec<_> = head.headers.get_all("x-a").iter().collect();
        assert_eq!(values, ["1", "2"]);
        assert_eq!(&rest[..], b"{}GET");
    }

    #[test]
    fn unusual_requests_go_to_hyper_untouched() {
        for text in [
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
            "GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: 2048\r\n\r\n",
            "GET / HTTP/1.0\r\n\r\n",
            "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
            "GET /\u{7f} HTTP/1.1\r\n\r\n",
        ] {
            let (parsed, rest) = parse_str(text);
            assert!(matches!(parsed, Parsed::HandOff), "{text:?}");
            assert_eq!(&rest[..], text.as_bytes(), "{text:?}");
        }
    }

    #[test]
    fn partial_heads_wait_for_more_and_close_is_noted() {
        assert!(matches!(
            parse_str("GET / HTTP/1.1\r\nHost: x\r\n").0,
            Parsed::Partial
        ));
        let Parsed::Lean(head) =
            parse_str("GET / HTTP/1.1\r\nConnection: keep-alive, Close\r\n\r\n").0
        else {
            panic!("not lean")
        };
        assert!(head.close);
        assert_eq!(head.body_len, 0);
    }

    #[test]
    fn targets_http_refuses_are_bad_requests() {
        let (parsed, rest) = parse_str("GET http://[x/ HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(matches!(parsed, Parsed::Bad));
        assert!(rest.is_empty());
    }

    #[test]
    fn lengths_are_digits_only() {
        assert_eq!(parse_length(b"0"), Some(0));
        assert_eq!(parse_length(b"1234"), Some(1234));
        assert_eq!(parse_length(b""), None);
        assert_eq!(parse_length(b"1 2"), None);
        assert_eq!(parse_length(b"-1"), None);
        assert_eq!(parse_length(b"9999999999999999999"), None);
    }
}
