//! Handing a connection to hyper: the bytes the lean loop already read are replayed
//! first, so hyper sees the connection from the start of the request it takes over,
//! and serves it (and every later request on it) through the same front door.
//!
//! The connection keeps the lean loop's limits on slow clients, as far as hyper can
//! hold them: a request head must be complete within the shorter of the idle and read
//! timeouts, counted from the end of the previous answer (hyper's header timer also
//! runs while a kept-alive connection waits, so it is the idle limit as well), and a
//! request body may pause no longer than the read timeout between two pieces
//! ([`ReadTimeoutBody`]). Without these, a client sending a chunked body, or any
//! request after one, could hold a connection open for ever by trickling bytes.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use bytes::{Buf, Bytes};
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Sleep;

use super::ConnectionTimeouts;
use crate::front::App;

/// Serves the rest of the connection with hyper (HTTP/1 or, for a client starting
/// with the HTTP/2 preface, h2c), finishing in-flight work when `stop` resolves
/// (shutdown began).
pub(super) async fn serve(
    stream: TcpStream,
    read: Bytes,
    peer: SocketAddr,
    app: App,
    timeouts: ConnectionTimeouts,
    stop: Pin<&mut impl Future<Output = ()>>,
) {
    let io = TokioIo::new(Replay { read, stream });
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let request = request.map(|body| Body::new(ReadTimeoutBody::new(body, timeouts.read)));
        let served = app.serve(request, Some(peer));
        async move { Ok::<_, Infallible>(served.await) }
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(timeouts.idle.min(timeouts.read));
    let connection = builder.serve_connection_with_upgrades(io, service);
    let mut connection = std::pin::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => finished(result),
        () = stop => {
            connection.as_mut().graceful_shutdown();
            finished(connection.await);
        }
    }
}

fn finished(result: Result<(), Box<dyn std::error::Error + Send + Sync>>) {
    if let Err(err) = result {
        tracing::debug!(error = %err, "connection ended with an error");
    }
}

/// A connection whose first bytes were already read: they are read again first.
struct Replay {
    read: Bytes,
    stream: TcpStream,
}

impl AsyncRead for Replay {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.read.has_remaining() {
            let n = self.read.len().min(buf.remaining());
            buf.put_slice(&self.read[..n]);
            self.read.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Replay {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// A request body that fails with [`BodyReadTimeout`] when its next piece does not
/// arrive within `limit` (nginx's `client_body_timeout`). The timer exists only while
/// the body is waiting, so a body that arrives whole costs nothing.
struct ReadTimeoutBody {
    inner: Incoming,
    limit: Duration,
    waiting: Option<Pin<Box<Sleep>>>,
}

impl ReadTimeoutBody {
    fn new(inner: Incoming, limit: Duration) -> Self {
        Self {
            inner,
            limit,
            waiting: None,
        }
    }
}

impl HttpBody for ReadTimeoutBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.waiting = None;
                Poll::Ready(frame.map(|frame| frame.map_err(Into::into)))
            }
            Poll::Pending => {
                let limit = this.limit;
                let waiting = this
                    .waiting
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
                match waiting.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyReadTimeout(limit))))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A request body paused longer than the read timeout (`body.rs` answers it with a
/// 408 in the caller's protocol).
#[derive(Debug)]
pub(crate) struct BodyReadTimeout(Duration);

impl std::fmt::Display for BodyReadTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "request body paused for over {} s", self.0.as_secs())
    }
}

impl std::error::Error for BodyReadTimeout {}
