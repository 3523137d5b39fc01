//! Connection workers: one thread per core, each running its own single-threaded
//! runtime, as nginx runs one worker process per core.
//!
//! The accept loop hands each new connection to the worker with the fewest open
//! connections; the connection then lives on that thread for good. On tokio's shared
//! multi-threaded runtime the two workers of a 2-core machine kept waking each other
//! to steal tasks (futex and epoll calls, context switches, cache lines moving between
//! cores): one worker per core cut Morn's CPU per chat request by ~7% (bench/README.md).
//!
//! A worker's thread outlives `serve`: objects made on its runtime (a pooled upstream
//! connection, a database connection opened by a request) may be shared with the rest
//! of the process, and stop working once the runtime that drives them is gone. So a
//! worker whose connections have all ended parks until the process exits. Upstream
//! connections are pooled per worker (`morn_providers::worker_index`), so a request
//! never waits on another worker's thread for its upstream's answer.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};

use crate::front::App;

/// What a connection needs besides its socket.
#[derive(Clone)]
pub(crate) struct ConnectionSetup {
    pub app: App,
    pub idle_timeout: Duration,
    /// Becomes `true` when shutdown begins.
    pub stopping: watch::Receiver<bool>,
    /// Held by every open connection: the server has drained once all are dropped.
    pub live: mpsc::Sender<()>,
}

/// A new connection on its way to a worker.
type Handoff = (std::net::TcpStream, SocketAddr);

/// The running workers.
pub(crate) struct Workers {
    workers: Vec<Worker>,
}

struct Worker {
    inbox: mpsc::UnboundedSender<Handoff>,
    /// Connections open on it.
    open: Arc<AtomicUsize>,
}

impl Workers {
    /// Starts `count` worker threads.
    pub(crate) fn start(count: usize, setup: &ConnectionSetup) -> io::Result<Self> {
        let mut workers = Vec::with_capacity(count);
        for index in 0..count {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let (inbox, connections) = mpsc::unbounded_channel();
            let open = Arc::new(AtomicUsize::new(0));
            let (setup, counter) = (setup.clone(), open.clone());
            std::thread::Builder::new()
                .name(format!("morn-worker-{index}"))
                .spawn(move || {
                    // Index 0 is every thread outside the workers (see `worker_index`).
                    morn_providers::set_worker_index(index + 1);
                    runtime.block_on(run(connections, setup, counter));
                })?;
            workers.push(Worker { inbox, open });
        }
        Ok(Self { workers })
    }

    /// Hands `stream` to the worker with the fewest open connections.
    pub(crate) fn dispatch(&self, stream: TcpStream, peer: SocketAddr) {
        let Some(worker) = self
            .workers
            .iter()
            .min_by_key(|w| w.open.load(Ordering::Relaxed))
        else {
            return;
        };
        let stream = match stream.into_std() {
            Ok(stream) => stream,
            Err(err) => {
                tracing::debug!(error = %err, "cannot hand a connection to a worker");
                return;
            }
        };
        worker.open.fetch_add(1, Ordering::Relaxed);
        if worker.inbox.send((stream, peer)).is_err() {
            worker.open.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// A worker's life: serve the connections it is handed until the accept loop stops,
/// let them finish, then park (see the module docs).
async fn run(
    mut connections: mpsc::UnboundedReceiver<Handoff>,
    setup: ConnectionSetup,
    open: Arc<AtomicUsize>,
) {
    while let Some((stream, peer)) = connections.recv().await {
        let stream = match TcpStream::from_std(stream) {
            Ok(stream) => stream,
            Err(err) => {
                tracing::debug!(error = %err, "cannot register a connection");
                open.fetch_sub(1, Ordering::Relaxed);
                continue;
            }
        };
        let (setup, open) = (setup.clone(), open.clone());
        tokio::spawn(async move {
            crate::h1::serve_connection(
                stream,
                peer,
                setup.app,
                setup.idle_timeout,
                setup.stopping,
            )
            .await;
            open.fetch_sub(1, Ordering::Relaxed);
            drop(setup.live);
        });
    }
    drop(setup);
    std::future::pending::<()>().await;
}
