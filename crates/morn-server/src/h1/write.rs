//! Writing a response: the head and a whole body in one write; a streamed body as
//! chunks, each written as it comes, with what is already waiting behind it (the
//! stream's last chunk and the terminator, say) in the same write.

use std::cell::RefCell;
use std::io;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::{Body, HttpBody};
use axum::http::{StatusCode, header};
use axum::response::Response;
use futures::FutureExt;
use http_body_util::BodyExt;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::metering::RateHeaders;

/// How the response ends the exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum After {
    /// The connection can carry the next request.
    KeepAlive,
    /// Close it (the client or the handler asked, or shutdown began).
    Close,
}

/// Writes `response` to `io`. `head_only` for `HEAD` requests. `close` adds
/// `connection: close`. Returns an error when the client went away or the body
/// failed, and the connection must then be dropped.
pub(super) async fn write<W: AsyncWrite + Unpin>(
    io: &mut W,
    response: Response,
    head_only: bool,
    mut close: bool,
) -> io::Result<After> {
    let (parts, mut body) = response.into_parts();
    close |= parts
        .headers
        .get(header::CONNECTION)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
    let status = parts.status;
    let bodyless = head_only
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    let exact = HttpBody::size_hint(&body).exact();
    let mut out = Vec::with_capacity(512 + exact.map_or(0, |len| len as usize));
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in &parts.headers {
        if name == header::CONTENT_LENGTH || name == header::TRANSFER_ENCODING {
            continue; // framing is this writer's to set
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if let Some(limits) = parts.extensions.get::<RateHeaders>() {
        limits.write_lines(&mut out);
    }
    if close && !parts.headers.contains_key(header::CONNECTION) {
        out.extend_from_slice(b"connection: close\r\n");
    }
    put_date(&mut out);
    let chunked = exact.is_none() && !bodyless;
    match exact {
        _ if status.is_informational() || status == StatusCode::NO_CONTENT => {}
        Some(len) => {
            out.extend_from_slice(b"content-length: ");
            out.extend_from_slice(itoa::Buffer::new().format(len).as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        None if chunked => out.extend_from_slice(b"transfer-encoding: chunked\r\n"),
        None => {}
    }
    out.extend_from_slice(b"\r\n");
    if bodyless {
        io.write_all(&out).await?;
        return Ok(after(close));
    }
    if !chunked {
        // A whole body: one write with the head.
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame.map_err(io::Error::other)?.into_data() {
                out.extend_from_slice(&data);
            }
        }
        io.write_all(&out).await?;
        return Ok(after(close));
    }
    // Room for what a streamed answer's first write usually carries (a short answer's
    // every event): one allocation instead of doubling from the head's 512 bytes.
    out.reserve(8 * 1024);
    stream_chunks(io, &mut body, out).await?;
    Ok(after(close))
}

/// Writes a streamed body as chunks after the head already in `out`. The head goes
/// out at once unless the first chunk is ready too (an SSE answer's first event is).
async fn stream_chunks<W: AsyncWrite + Unpin>(
    io: &mut W,
    body: &mut Body,
    mut out: Vec<u8>,
) -> io::Result<()> {
    let mut ended = false;
    while !ended {
        // Take every frame that is ready now, so one write carries them.
        loop {
            let next = if out.is_empty() {
                Some(body.frame().await)
            } else {
                body.frame().now_or_never()
            };
            match next {
                None => break,
                Some(None) => {
                    out.extend_from_slice(b"0\r\n\r\n");
                    ended = true;
                    break;
                }
                Some(Some(frame)) => {
                    if let Ok(data) = frame.map_err(io::Error::other)?.into_data()
                        && !data.is_empty()
                    {
                        let mut size = [0u8; 16];
                        out.extend_from_slice(hex(data.len(), &mut size));
                        out.extend_from_slice(b"\r\n");
                        out.extend_from_slice(&data);
                        out.extend_from_slice(b"\r\n");
                    }
                }
            }
        }
        if !out.is_empty() {
            io.write_all(&out).await?;
            out.clear();
        }
    }
    Ok(())
}

fn after(close: bool) -> After {
    if close {
        After::Close
    } else {
        After::KeepAlive
    }
}

/// `len` in lower-case hex, as chunk sizes are written.
fn hex(mut len: usize, buf: &mut [u8; 16]) -> &[u8] {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b"0123456789abcdef"[len & 15];
        len >>= 4;
        if len == 0 {
            return &buf[at..];
        }
    }
}

/// Appends the `date` header (RFC 9110 requires it of a server with a clock),
/// formatted once a second per thread.
fn put_date(out: &mut Vec<u8>) {
    thread_local! {
        static DATE: RefCell<(u64, Vec<u8>)> = const { RefCell::new((u64::MAX, Vec::new())) };
    }
    let now = SystemTime::now();
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    DATE.with_borrow_mut(|(at, text)| {
        if *at != secs {
            *at = secs;
            text.clear();
            text.extend_from_slice(b"date: ");
            text.extend_from_slice(httpdate::fmt_http_date(now).as_bytes());
            text.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(text);
    });
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests")]

    use super::*;
    use bytes::Bytes;

    async fn written(response: Response, head_only: bool, close: bool) -> (String, After) {
        let mut out = Vec::new();
        let after = write(&mut out, response, head_only, close).await.unwrap();
        (String::from_utf8(out).unwrap(), after)
    }

    fn without_date(text: &str) -> String {
        text.lines()
            .filter(|line| !line.starts_with("date: "))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[tokio::test]
    async fn whole_bodies_get_a_length_and_one_write() {
        let mut response = Response::new(Body::from("{\"a\":1}"));
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
        let (text, after) = written(response, false, false).await;
        assert!(text.contains("\r\ndate: "), "{text}");
        assert_eq!(
            without_date(&text),
            "HTTP/1.1 200 OK\ncontent-type: application/json\ncontent-length: 7\n\n{\"a\":1}"
        );
        assert_eq!(after, After::KeepAlive);
    }

    #[tokio::test]
    async fn streams_are_chunked_and_terminated() {
        let chunks = futures::stream::iter(
            ["data: a\n\n", "", "data: [DONE]\n\n"]
                .map(|c| Ok::<_, std::convert::Infallible>(Bytes::from_static(c.as_bytes()))),
        );
        let response = Response::new(Body::from_stream(chunks));
        let (text, _) = written(response, false, false).await;
        assert_eq!(
            without_date(&text),
            "HTTP/1.1 200 OK\ntransfer-encoding: chunked\n\n9\ndata: a\n\n\ne\ndata: [DONE]\n\n\n0\n"
        );
    }

    #[tokio::test]
    async fn head_requests_and_no_content_carry_no_body() {
        let (text, _) = written(Response::new(Body::from("hello")), true, false).await;
        assert_eq!(without_date(&text), "HTTP/1.1 200 OK\ncontent-length: 5\n");
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::NO_CONTENT;
        let (text, after) = written(response, false, true).await;
        assert_eq!(
            without_date(&text),
            "HTTP/1.1 204 No Content\nconnection: close\n"
        );
        assert_eq!(after, After::Close);
    }

    #[test]
    fn chunk_sizes_are_hex() {
        let mut buf = [0u8; 16];
        assert_eq!(hex(0, &mut buf), b"0");
        assert_eq!(hex(255, &mut buf), b"ff");
        assert_eq!(hex(4096, &mut buf), b"1000");
    }
}
