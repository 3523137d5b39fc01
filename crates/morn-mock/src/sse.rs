//! Response bodies for streams and faults: pre-rendered events delivered with
//! optional pacing, a broken event (`malformed_after`) or an abrupt abort
//! (`cut_after`, where the body yields an error so hyper tears down the
//! connection instead of finishing the chunked encoding).

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};

use crate::directives::Directives;

/// How long a cut stream waits before aborting, so earlier events reach the wire.
const CUT_FLUSH: Duration = Duration::from_millis(20);

/// Error yielded by a deliberately cut body.
#[derive(Debug)]
struct Cut;

impl std::fmt::Display for Cut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("morn-mock: connection cut by directive")
    }
}

impl std::error::Error for Cut {}

type Item = Result<Bytes, Cut>;

/// How a streamed body should misbehave.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pacing {
    pub gap: Duration,
    pub cut_after: Option<usize>,
    pub malformed_after: Option<usize>,
}

impl Pacing {
    pub fn from_directives(d: &Directives) -> Self {
        Self {
            gap: Duration::from_millis(d.chunk_gap_ms.unwrap_or(0)),
            cut_after: d.cut_after,
            malformed_after: d.malformed_after,
        }
    }
}

/// A `text/event-stream` response delivering `events` in order.
/// `broken` is the syntactically invalid event used by `malformed_after`.
pub fn stream_response(events: Vec<Bytes>, pacing: Pacing, broken: &'static [u8]) -> Response {
    stream_typed(events, pacing, broken, "text/event-stream")
}

/// Like `stream_response` with another content type (Gemini's JSON-array stream).
pub fn stream_typed(
    mut events: Vec<Bytes>,
    pacing: Pacing,
    broken: &'static [u8],
    ct: &'static str,
) -> Response {
    if let Some(n) = pacing.malformed_after {
        let at = n.min(events.len());
        events.insert(at, Bytes::from_static(broken));
    }
    let cut = pacing.cut_after.is_some();
    if let Some(n) = pacing.cut_after {
        events.truncate(n);
    }
    let head: BoxStream<'static, Item> = if pacing.gap.is_zero() && !cut {
        // Nothing to pace: one write instead of one chunk per event. The bytes
        // on the wire are the same SSE stream, still chunked.
        let all = Bytes::from(events.concat());
        stream::once(async move { Ok(all) }).boxed()
    } else if pacing.gap.is_zero() {
        stream::iter(events.into_iter().map(Ok)).boxed()
    } else {
        paced(events, pacing.gap).boxed()
    };
    let body = if cut {
        // Pause before failing so hyper flushes the events already produced;
        // an immediate error would drop them along with the headers.
        let fail = stream::once(async {
            tokio::time::sleep(CUT_FLUSH).await;
            Err(Cut)
        });
        Body::from_stream(head.chain(fail))
    } else {
        Body::from_stream(head)
    };
    with_type(Response::new(body), ct)
}

fn paced(events: Vec<Bytes>, gap: Duration) -> impl futures::Stream<Item = Item> + Send {
    stream::iter(events.into_iter().enumerate()).then(move |(i, item)| async move {
        if i > 0 {
            tokio::time::sleep(gap).await;
        }
        Ok(item)
    })
}

/// A JSON response; with `cut_after` the headers go out and the body aborts.
pub fn json_response(body: Vec<u8>, d: &Directives) -> Response {
    let body = if d.cut_after.is_some() {
        Body::from_stream(stream::iter([Err::<Bytes, Cut>(Cut)]))
    } else {
        Body::from(body)
    };
    with_type(Response::new(body), "application/json")
}

/// A JSON response with a status (errors).
pub fn json_status(status: StatusCode, body: Vec<u8>) -> Response {
    let mut r = with_type(Response::new(Body::from(body)), "application/json");
    *r.status_mut() = status;
    r
}

fn with_type(mut r: Response, ct: &'static str) -> Response {
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    if ct == "text/event-stream" {
        r.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    }
    r
}

/// `data: <json>\r\n\r\n`, the framing Gemini's `alt=sse` uses.
pub fn data_crlf(json: &serde_json::Value) -> Bytes {
    let mut buf = Vec::with_capacity(256);
    buf.extend_from_slice(b"data: ");
    let _ = serde_json::to_writer(&mut buf, json);
    buf.extend_from_slice(b"\r\n\r\n");
    Bytes::from(buf)
}

/// `event: <name>\ndata: <json>\n\n` (Anthropic style).
pub fn named_event(name: &str, json: &impl serde::Serialize) -> Bytes {
    let mut buf = Vec::with_capacity(256);
    buf.extend_from_slice(b"event: ");
    buf.extend_from_slice(name.as_bytes());
    buf.extend_from_slice(b"\ndata: ");
    let _ = serde_json::to_writer(&mut buf, json);
    buf.extend_from_slice(b"\n\n");
    Bytes::from(buf)
}
