//! Handing a connection to hyper: the bytes the lean loop already read are replayed
//! first, so hyper sees the connection from the start of the request it takes over,
//! and serves it (and every later request on it) through the same front door.
//!
//! The connection keeps the lean loop's limits on slow clients, as far as hyper can
//! hold them: a request head must be complete within the shorter of the idle and read
//! timeouts, counted from the end of the previous answer (hyper's header timer also
//! runs while a kept-alive connection waits, so it is the idle limit as well), and a
//! request body may pause no longer than the read timeout between two pieces
//! (`ReadTimeoutBody`). Without these, a client sending a chunked body, or any
//! request after one, could hold a connection open for ever by trickling bytes. A
//! connection (HTTP/2 included) with no answer being made or sent and no traffic for
//! the idle timeout is closed gracefully.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use bytes::{Buf, Bytes};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::ConnectionTimeouts;
use super::limits::{Activity, InFlight, ReadTimeoutBody};
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
    mut stop: Pin<&mut impl Future<Output = ()>>,
) {
    let activity = Activity::new();
    let in_flight = InFlight::default();
    let io = TokioIo::new(Replay {
        read,
        stream,
        activity: activity.clone(),
    });
    let answering = in_flight.clone();
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let answer = answering.enter();
        let request = request.map(|body| Body::new(ReadTimeoutBody::new(body, timeouts.read)));
        let served = app.serve(request, Some(peer));
        async move {
            let mut response = served.await;
            // hyper writes the head from the header map only.
            crate::dialect::rate_headers_into_map(&mut response);
            Ok::<_, Infallible>(answer.until_sent(response))
        }
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(timeouts.idle.min(timeouts.read));
    let connection = builder.serve_connection_with_upgrades(io, service);
    let mut connection = std::pin::pin!(connection);
    // The idle limit for what hyper's header timer does not cover (HTTP/2): checked
    // when the connection could first have been idle that long, then again from its
    // last traffic or, while an answer is being made or sent, after another period.
    let mut idle = std::pin::pin!(tokio::time::sleep(timeouts.idle));
    loop {
        tokio::select! {
            result = connection.as_mut() => return finished(result),
            () = stop.as_mut() => break,
            () = idle.as_mut() => {
                let now = Instant::now();
                let quiet_until = activity.last() + timeouts.idle;
                if in_flight.is_empty() && quiet_until <= now {
                    // HTTP/2 ends gracefully only once the client answers a ping;
                    // one that does not is dropped (nothing is in flight).
                    connection.as_mut().graceful_shutdown();
                    let grace = timeouts.idle.min(timeouts.read);
                    if let Ok(result) = tokio::time::timeout(grace, connection.as_mut()).await {
                        finished(result);
                    }
                    return;
                }
                let next = if in_flight.is_empty() { quiet_until } else { now + timeouts.idle };
                idle.as_mut().reset(next);
            }
        }
    }
    connection.as_mut().graceful_shutdown();
    finished(connection.await);
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
    /// Told of every read and write that moved bytes.
    activity: Activity,
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
        let before = buf.filled().len();
        let read = Pin::new(&mut self.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        read
    }
}

impl AsyncWrite for Replay {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.stream).poll_write(cx, buf);
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        written
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        written
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
