//! The server loop: accept with TCP_NODELAY, serve each connection on its own task
//! (`h1/`), stop on a signal, drain within a grace period.

use std::future::Future;
use std::io;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

use crate::front::app;
use crate::state::AppState;

/// How to run the server.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// How long in-flight requests and streams may run after shutdown begins.
    pub shutdown_grace: Duration,
    /// How long a kept-alive connection may sit idle between requests before it is
    /// closed.
    pub idle_timeout: Duration,
    /// How long a request head may take to arrive once it has begun, and how long a
    /// request body may pause between two reads; past it the connection is closed.
    pub read_timeout: Duration,
}

/// Serves until `shutdown` resolves, then stops accepting and waits for in-flight
/// requests and streams to finish, at most `shutdown_grace`. Returns `true` when
/// everything drained, `false` when the grace period cut connections short.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<bool> {
    let app = app(state);
    // Connections watch `stopping`; each holds a `live` sender, so the receiver
    // sees the channel close once the last connection has ended.
    let (stopping_tx, stopping) = watch::channel(false);
    let (live, mut all_done) = mpsc::channel::<()>(1);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    accept_failed(&err).await;
                    continue;
                }
            },
        };
        // Nagle plus delayed ACKs stalls small SSE writes by ~40 ms under load.
        if let Err(err) = stream.set_nodelay(true) {
            tracing::debug!(error = %err, "cannot set TCP_NODELAY");
        }
        let (app, stopping, live) = (app.clone(), stopping.clone(), live.clone());
        let timeouts = crate::h1::ConnectionTimeouts {
            idle: options.idle_timeout,
            read: options.read_timeout,
        };
        tokio::spawn(async move {
            crate::h1::serve_connection(stream, peer, app, timeouts, stopping).await;
            drop(live);
        });
    }
    tracing::info!("shutdown requested: no new connections, draining in-flight requests");
    drop(listener);
    let _ = stopping_tx.send(true);
    drop(live);
    let grace = options.shutdown_grace;
    let drained = tokio::time::timeout(grace, all_done.recv()).await.is_ok();
    if !drained {
        tracing::warn!(
            grace_secs = grace.as_secs(),
            "grace period over: closing remaining connections"
        );
    }
    Ok(drained)
}

/// A failed accept: a connection reset before it was taken is the client's business;
/// anything else (out of file descriptors, say) is logged and waited out, so the
/// loop does not spin.
async fn accept_failed(err: &io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        err.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %err, "accept failed");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
