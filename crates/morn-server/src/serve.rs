//! The server loop: accept with TCP_NODELAY, stop on a signal, drain within a grace
//! period.

use std::future::Future;
use std::time::Duration;

use axum::ServiceExt;
use axum::serve::ListenerExt;
use tokio::net::TcpListener;

use crate::front::app;
use crate::state::AppState;

/// How to run the server.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// How long in-flight requests and streams may run after shutdown begins.
    pub shutdown_grace: Duration,
}

/// Serves until `shutdown` resolves, then stops accepting and waits for in-flight
/// requests and streams to finish, at most `shutdown_grace`. Returns `true` when
/// everything drained, `false` when the grace period cut connections short.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<bool> {
    // Nagle plus delayed ACKs stalls small SSE writes by ~40 ms under load.
    let listener = listener.tap_io(|tcp| {
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::debug!(error = %err, "cannot set TCP_NODELAY");
        }
    });
    let (began_tx, began_rx) = tokio::sync::oneshot::channel::<()>();
    let signal = async move {
        shutdown.await;
        tracing::info!("shutdown requested: no new connections, draining in-flight requests");
        let _ = began_tx.send(());
    };
    // Connection info gives handlers the peer address (audit log, sessions).
    let app = app(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let server = axum::serve(listener, app).with_graceful_shutdown(signal);
    let server = std::pin::pin!(server.into_future());
    let grace = options.shutdown_grace;
    let deadline = async move {
        if began_rx.await.is_ok() {
            tokio::time::sleep(grace).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        result = server => { result?; Ok(true) }
        () = deadline => {
            tracing::warn!(grace_secs = grace.as_secs(), "grace period over: closing remaining connections");
            Ok(false)
        }
    }
}
