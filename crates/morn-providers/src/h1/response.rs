//! Reading one HTTP/1.1 response off a connection: the head (with `httparse`), then,
//! for a whole answer, its body (framed as `body.rs` reads it).

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};

use super::body::{BodyReader, Framing};

/// A response head larger than this is refused (hyper's default buffer is 400 KiB;
/// real upstreams send well under 4 KiB).
const MAX_HEAD: usize = 64 * 1024;

/// Headers read at most; more is a malformed response for our purposes.
const MAX_HEADERS: usize = 96;

/// A body larger than this is refused rather than held in memory. The largest real
/// answers are embeddings batches (2,048 inputs × 3,072 dimensions as JSON text,
/// some 60 MB).
pub(crate) const MAX_BODY: usize = 256 * 1024 * 1024;

/// A whole response.
#[derive(Debug)]
pub(crate) struct Response {
    pub status: u16,
    /// `Retry-After` in whole seconds (HTTP dates are ignored: no provider sends them).
    pub retry_after: Option<u64>,
    pub body: Bytes,
    /// The connection can carry another request: HTTP/1.1, no `Connection: close`,
    /// a body with a known end, and nothing read past it.
    pub reusable: bool,
}

/// Why a response could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReadError {
    /// The connection closed (or reset) before the first byte of a response: on a
    /// pooled connection, the server had closed it while idle.
    #[error("connection closed before a response")]
    ClosedBeforeResponse(#[source] Option<std::io::Error>),
    #[error("reading the response failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("malformed response: {0}")]
    Malformed(&'static str),
    #[error("response body larger than {MAX_BODY} bytes")]
    TooLarge,
}

/// What a response head says.
pub(crate) struct Head {
    pub status: u16,
    /// Bytes of the head, blank line included.
    len: usize,
    pub framing: Framing,
    /// The connection ends after this response.
    pub close: bool,
    pub retry_after: Option<u64>,
}

/// Reads the response to a request just written on `io`, body and all.
pub(crate) async fn read<R: AsyncRead + Unpin>(io: &mut R) -> Result<Response, ReadError> {
    let mut buf = BytesMut::with_capacity(8 * 1024);
    let head = read_head(io, &mut buf).await?;
    if let Framing::Length(len) = head.framing {
        // All of it in one buffer, so the body below is one piece, not a copy.
        buf.reserve(len.saturating_sub(buf.len()));
        while buf.len() < len {
            if io.read_buf(&mut buf).await? == 0 {
                return Err(ReadError::Malformed("connection closed inside the body"));
            }
        }
    }
    let mut reader = BodyReader::new(head.framing);
    let body = match reader.next(io, &mut buf).await? {
        None => Bytes::new(),
        Some(first) => match reader.next(io, &mut buf).await? {
            None => first,
            Some(second) => {
                let mut whole = BytesMut::from(&first[..]);
                whole.extend_from_slice(&second);
                while let Some(piece) = reader.next(io, &mut buf).await? {
                    whole.extend_from_slice(&piece);
                }
                whole.freeze()
            }
        },
    };
    Ok(Response {
        status: head.status,
        retry_after: head.retry_after,
        body,
        reusable: buf.is_empty() && !head.close,
    })
}

/// Reads the final head of a response into `buf` and takes it off the front, leaving
/// what followed it (the start of the body). Interim answers (1xx) are skipped.
pub(crate) async fn read_head<R: AsyncRead + Unpin>(
    io: &mut R,
    buf: &mut BytesMut,
) -> Result<Head, ReadError> {
    loop {
        if let Some(head) = parse_head(buf)? {
            let _ = buf.split_to(head.len);
            if (100..200).contains(&head.status) {
                // 100 Continue, 103 Early Hints: the real answer follows.
                if head.status == 101 {
                    return Err(ReadError::Malformed("unexpected protocol switch"));
                }
                continue;
            }
            return Ok(head);
        }
        if buf.len() >= MAX_HEAD {
            return Err(ReadError::Malformed("response head too large"));
        }
        match io.read_buf(buf).await {
            Ok(0) if buf.is_empty() => return Err(ReadError::ClosedBeforeResponse(None)),
            Ok(0) => return Err(ReadError::Malformed("connection closed inside the head")),
            Ok(_) => {}
            Err(e) if buf.is_empty() && is_reset(&e) => {
                return Err(ReadError::ClosedBeforeResponse(Some(e)));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

fn is_reset(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::BrokenPipe
    )
}

/// The head at the start of `buf`, once it is all there.
fn parse_head(buf: &[u8]) -> Result<Option<Head>, ReadError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let len = match response.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(ReadError::Malformed("invalid response head")),
    };
    let status = response.code.unwrap_or(0);
    // HTTP/1.0 closes after each response unless told otherwise; not worth the
    // special case for a pooled client.
    let mut close = response.version != Some(1);
    let mut length: Option<usize> = None;
    let mut chunked = false;
    let mut retry_after = None;
    for header in response.headers.iter() {
        let name = header.name;
        if name.eq_ignore_ascii_case("content-length") {
            let value = parse_length(header.value)?;
            if length.is_some_and(|seen| seen != value) {
                return Err(ReadError::Malformed("conflicting content-length"));
            }
            length = Some(value);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            // Only a final `chunked` frames the body; any other coding is read until
            // the connection closes.
            chunked = header
                .value
                .rsplit(|&b| b == b',')
                .next()
                .is_some_and(|last| last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
            if !chunked {
                close = true;
            }
        } else if name.eq_ignore_ascii_case("connection") {
            close |= header
                .value
                .split(|&b| b == b',')
                .any(|token| token.trim_ascii().eq_ignore_ascii_case(b"close"));
        } else if name.eq_ignore_ascii_case("retry-after") {
            retry_after = crate::transport::retry_after_secs(header.value);
        }
    }
    let framing = if (100..200).contains(&status) || status == 204 || status == 304 {
        Framing::Empty
    } else if chunked {
        Framing::Chunked
    } else if let Some(len) = length {
        if len > MAX_BODY {
            return Err(ReadError::TooLarge);
        }
        Framing::Length(len)
    } else {
        close = true;
        Framing::UntilClose
    };
    Ok(Some(Head {
        status,
        len,
        framing,
        close,
        retry_after,
    }))
}

fn parse_length(value: &[u8]) -> Result<usize, ReadError> {
    let digits = value.trim_ascii();
    if digits.is_empty() || digits.len() > 15 || !digits.iter().all(u8::is_ascii_digit) {
        return Err(ReadError::Malformed("invalid content-length"));
    }
    Ok(digits
        .iter()
        .fold(0usize, |n, d| n * 10 + usize::from(d - b'0')))
}

#[cfg(test)]
mod tests {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use tokio::io::ReadBuf;

    use super::*;

    /// Hands out its bytes `step` at a time, then end of stream.
    struct Trickle {
        data: Vec<u8>,
        at: usize,
        step: usize,
    }

    impl AsyncRead for Trickle {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<std::io::Result<()>> {
            let end = (self.at + self.step)
                .min(self.data.len())
                .min(self.at + buf.remaining());
            let at = self.at;
            buf.put_slice(&self.data[at..end]);
            self.at = end;
            Poll::Ready(Ok(()))
        }
    }

    /// Reads `wire` whole, and again one and seven bytes at a time: the answers must
    /// agree.
    async fn read_all_ways(wire: &str) -> Result<Response, ReadError> {
        let whole = read(&mut wire.as_bytes()).await;
        for step in [1, 7] {
            let mut io = Trickle {
                data: wire.as_bytes().to_vec(),
                at: 0,
                step,
            };
            let piecewise = read(&mut io).await;
            assert_eq!(
                format!("{:?}", piecewise.as_ref().map(|r| (&r.body, r.status))),
                format!("{:?}", whole.as_ref().map(|r| (&r.body, r.status))),
                "step {step}"
            );
        }
        whole
    }

    #[tokio::test]
    async fn a_content_length_body_is_read_exactly() -> Result<(), ReadError> {
        let r = read_all_ways(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 7\r\n\r\n{\"a\":1}",
        )
        .await?;
        assert_eq!(
            (r.status, &r.body[..], r.reusable),
            (200, &b"{\"a\":1}"[..], true)
        );
        Ok(())
    }

    #[tokio::test]
    async fn a_chunked_body_is_decoded_with_extensions_and_trailers() -> Result<(), ReadError> {
        let r = read_all_ways(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
             4;ext=1\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nx-trailer: 1\r\n\r\n",
        )
        .await?;
        assert_eq!(&r.body[..], b"Wikipedia in\r\n\r\nchunks.");
        assert!(r.reusable);
        Ok(())
    }

    #[tokio::test]
    async fn interim_answers_are_skipped() -> Result<(), ReadError> {
        let r = read_all_ways(
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 429 Too Many Requests\r\nRetry-After: 1.5\r\n\
             content-length: 2\r\n\r\n{}",
        )
        .await?;
        assert_eq!(
            (r.status, r.retry_after, &r.body[..]),
            (429, Some(2), &b"{}"[..])
        );
        Ok(())
    }

    #[tokio::test]
    async fn a_body_without_framing_runs_to_the_close_and_ends_the_connection()
    -> Result<(), ReadError> {
        let r = read_all_ways("HTTP/1.1 200 OK\r\n\r\nall of it").await?;
        assert_eq!((&r.body[..], r.reusable), (&b"all of it"[..], false));
        let r = read_all_ways("HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nok").await?;
        assert!(!r.reusable, "HTTP/1.0 closes");
        let r =
            read_all_ways("HTTP/1.1 200 OK\r\nConnection: close\r\ncontent-length: 2\r\n\r\nok")
                .await?;
        assert!(!r.reusable);
        let r = read_all_ways("HTTP/1.1 204 No Content\r\n\r\n").await?;
        assert_eq!((&r.body[..], r.reusable), (&b""[..], true));
        Ok(())
    }

    #[tokio::test]
    async fn bytes_after_the_body_make_the_connection_unusable() -> Result<(), ReadError> {
        let r = read(&mut &b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokHTTP/1.1"[..]).await?;
        assert_eq!((&r.body[..], r.reusable), (&b"ok"[..], false));
        Ok(())
    }

    #[tokio::test]
    async fn a_closed_connection_before_any_byte_is_told_apart() {
        assert!(matches!(
            read(&mut &b""[..]).await,
            Err(ReadError::ClosedBeforeResponse(None))
        ));
        assert!(matches!(
            read(&mut &b"HTTP/1.1 200"[..]).await,
            Err(ReadError::Malformed(_))
        ));
    }

    #[tokio::test]
    async fn broken_framing_is_refused() {
        for wire in [
            "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nabc",
            "HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\nabc",
            "HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n",
            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nab\r\n",
            "HTTP/1.1 101 Switching Protocols\r\n\r\n",
            "NOT HTTP\r\n\r\n",
        ] {
            let result = read(&mut wire.as_bytes()).await;
            assert!(
                matches!(result, Err(ReadError::Malformed(_))),
                "{wire:?}: {result:?}"
            );
        }
        let huge = format!(
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n",
            MAX_BODY + 1
        );
        assert!(matches!(
            read(&mut huge.as_bytes()).await,
            Err(ReadError::TooLarge)
        ));
    }
}
