//! A lean HTTP/1.1 connection loop for the plain requests that are nearly all of a
//! gateway's traffic, with hyper behind it for everything else.
//!
//! hyper's server runs each request through its dispatcher, a body channel, version
//! sniffing and several layers of generic state: ~7.5 k instructions of a chat
//! request's ~74 k in the gateway's profile, where this loop costs ~3 k (callgrind,
//! bench/README.md). Here the connection's task reads a head, reads the body its
//! `Content-Length` gives, calls the front door ([`App::serve`]) and writes the answer,
//! head and body in one write where the body is whole, as nginx does. The loop keeps
//! connections alive, serves pipelined requests in order, cancels a request whose
//! client hangs up before its answer (as hyper does), and closes connections left idle
//! (`server.idle_timeout_secs`) or whose head or body stalls (`server.read_timeout_secs`;
//! `handoff.rs` and `limits.rs` hold connections handed to hyper to the same limits).
//!
//! What it does not take, it hands over: a request with a chunked body,
//! `Expect: 100-continue`, an upgrade, HTTP/1.0, a head it cannot parse or one over
//! 16 KiB, a body over the size limit, or the HTTP/2 preface (see `head.rs`). hyper
//! then serves the connection from that request on, exactly as before there was a
//! lean loop, so those cases keep hyper's behaviour and its error answers.

mod handoff;
mod head;
mod limits;
mod write;

pub(crate) use self::limits::BodyReadTimeout;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{Method, Version};
use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

use self::head::Parsed;
use self::write::After;
use crate::front::App;

/// Bytes of pipelined requests read while an answer is being made; past this the
/// connection is not read until the answer is out.
const MAX_PIPELINED: usize = 64 * 1024;

/// Largest body the lean loop reads into memory; larger ones go to hyper, which
/// streams them to the handler's own limit.
const MAX_LEAN_BODY: usize = 8 << 20;

/// How long a connection may wait on its client.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnectionTimeouts {
    /// Between requests on a kept-alive connection.
    pub idle: Duration,
    /// For a request head to arrive once it has begun, and between reads of a body.
    pub read: Duration,
}

/// Serves one accepted connection until the client closes it, it sits idle for
/// `idle_timeout`, or shutdown begins (`shutdown` turns true): a request in flight
/// then finishes (its answer says `connection: close` if its head is still to be
/// written) and the connection closes.
pub(crate) async fn serve_connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    app: App,
    timeouts: ConnectionTimeouts,
    shutdown: watch::Receiver<bool>,
) {
    let ConnectionTimeouts {
        idle: idle_timeout,
        read: read_timeout,
    } = timeouts;
    let body_limit = app.max_body_bytes().min(MAX_LEAN_BODY);
    let mut buf = BytesMut::with_capacity(8 * 1024);
    // Both made once per connection: a timer set and a watch waited on per request
    // showed in profiles.
    let mut stop = std::pin::pin!(stopping(shutdown.clone()));
    let mut idle = std::pin::pin!(tokio::time::sleep(idle_timeout));
    let mut last_active = Instant::now();
    loop {
        // The next request's first bytes (pipelined ones may already be here).
        if buf.is_empty() {
            let read = tokio::select! {
                biased;
                () = &mut stop => return,
                () = &mut idle => {
                    // A connection that served requests since the timer was set gets a
                    // new deadline, counted from its last answer.
                    let deadline = last_active + idle_timeout;
                    if deadline <= Instant::now() {
                        return;
                    }
                    idle.as_mut().reset(deadline.into());
                    continue;
                }
                read = stream.read_buf(&mut buf) => read,
            };
            if !matches!(read, Ok(n) if n > 0) {
                return;
            }
        }
        let head = match read_head(&mut stream, &mut buf, body_limit, read_timeout).await {
            Some(Parsed::Lean(head)) => head,
            Some(Parsed::HandOff) => {
                return handoff::serve(stream, buf.freeze(), peer, app, timeouts, stop).await;
            }
            Some(Parsed::Bad) => {
                let _ = stream.write_all(BAD_REQUEST).await;
                return;
            }
            Some(Parsed::Partial) | None => return,
        };
        // Nearly always the body came with the head: no timer for that. A body that
        // trickles in gets `read_timeout` between reads (nginx's `client_body_timeout`).
        while buf.len() < head.body_len {
            buf.reserve(head.body_len - buf.len());
            match tokio::time::timeout(read_timeout, stream.read_buf(&mut buf)).await {
                Ok(Ok(n)) if n > 0 => {}
                _ => return,
            }
        }
        let body = buf.split_to(head.body_len).freeze();
        let head_only = head.method == Method::HEAD;
        let mut request = Request::new(Body::from(body));
        *request.method_mut() = head.method;
        *request.uri_mut() = head.uri;
        *request.version_mut() = Version::HTTP_11;
        *request.headers_mut() = head.headers;
        let mut served = app.serve(request, Some(peer));
        let response = loop {
            tokio::select! {
                biased;
                response = &mut served => break response,
                // The connection is watched while the answer is made: a client that
                // hangs up cancels its request, and with it the upstream call (it is
                // recorded as `client_closed`). Bytes of a pipelined next request are
                // kept for later.
                read = stream.read_buf(&mut buf), if buf.len() < MAX_PIPELINED => match read {
                    Ok(n) if n > 0 => {}
                    _ => return,
                },
            }
        };
        let close = head.close || *shutdown.borrow();
        match write::write(&mut stream, response, head_only, close).await {
            Ok(After::KeepAlive) => last_active = Instant::now(),
            Ok(After::Close) | Err(_) => return,
        }
    }
}

/// Resolves once shutdown has begun (at once if it already has).
async fn stopping(mut shutdown: watch::Receiver<bool>) {
    // The guard `wait_for` returns is not `Send`: drop it here, not in the caller.
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// What hyper answers to a head it cannot make sense of.
const BAD_REQUEST: &[u8] =
    b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";

/// Reads until `buf` starts with a whole head (or one for hyper). `None` when the
/// client closed first, or the head took longer than `timeout` from its first byte.
async fn read_head(
    stream: &mut TcpStream,
    buf: &mut BytesMut,
    body_limit: usize,
    timeout: Duration,
) -> Option<Parsed> {
    // Nearly always the whole head came with the first read: no timer for that.
    match head::parse(buf, body_limit) {
        Parsed::Partial => {}
        parsed => return Some(parsed),
    }
    let reading = async {
        loop {
            match head::parse(buf, body_limit) {
                Parsed::Partial => match stream.read_buf(buf).await {
                    Ok(n) if n > 0 => {}
                    _ => return None,
                },
                parsed => return Some(parsed),
            }
        }
    };
    tokio::time::timeout(timeout, reading).await.ok().flatten()
}
