//! Idle connections to one upstream host, shared by the client and the streams it
//! opened (a stream puts its connection back when its body has ended).
//!
//! Kept apart per server worker ([`crate::worker_index`]): a connection is driven by
//! the runtime of the worker that opened it, so another worker using it would wait on
//! that worker's thread for every answer.

use std::io;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::net::TcpStream;

/// Idle connections kept at most (as `pool_max_idle_per_host` for hyper).
const MAX_IDLE: usize = 1024;

/// An idle connection older than this is closed instead of used (as hyper's pool).
const IDLE_TIMEOUT: Duration = Duration::from_secs(90);

#[derive(Debug, Default)]
pub(crate) struct Pool {
    /// Per worker index, most recently used last, and taken first: its state is the
    /// warmest.
    idle: Mutex<Vec<Vec<Idle>>>,
}

#[derive(Debug)]
struct Idle {
    stream: TcpStream,
    since: Instant,
}

impl Pool {
    /// The most recently idle connection still open, as far as can be told without
    /// waiting: a close (or stray bytes) that already arrived rules it out.
    pub(crate) fn checkout(&self) -> Option<TcpStream> {
        let mut workers = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        let idle = workers.get_mut(crate::worker_index())?;
        while let Some(Idle { stream, since }) = idle.pop() {
            if since.elapsed() > IDLE_TIMEOUT {
                continue;
            }
            // No system call unless the socket was reported readable since its last
            // read: the common, healthy case costs a flag check.
            match stream.try_read(&mut [0u8; 1]) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Some(stream),
                _ => continue,
            }
        }
        None
    }

    /// Keeps a connection whose last answer ended cleanly.
    pub(crate) fn checkin(&self, stream: TcpStream) {
        let mut workers = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        let worker = crate::worker_index();
        if workers.len() <= worker {
            workers.resize_with(worker + 1, Vec::new);
        }
        let idle = &mut workers[worker];
        // The oldest entry is first: drop it when it has expired, so connections
        // nobody takes any more do not stay open for ever.
        if idle
            .first()
            .is_some_and(|oldest| oldest.since.elapsed() > IDLE_TIMEOUT)
        {
            idle.remove(0);
        }
        if idle.len() < MAX_IDLE {
            idle.push(Idle {
                stream,
                since: Instant::now(),
            });
        }
    }

    #[cfg(test)]
    pub(crate) fn idle_count(&self) -> usize {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(Vec::len)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests")]

    use super::*;

    /// A connection goes back to the worker that used it, and only that worker takes
    /// it again: another worker's runtime would have to drive it.
    #[tokio::test]
    async fn connections_are_kept_per_worker() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accept = tokio::spawn(async move {
            let mut held = Vec::new();
            for _ in 0..2 {
                held.push(listener.accept().await.unwrap().0);
            }
            held
        });
        let pool = Pool::default();
        crate::set_worker_index(1);
        pool.checkin(TcpStream::connect(addr).await.unwrap());
        crate::set_worker_index(2);
        pool.checkin(TcpStream::connect(addr).await.unwrap());
        let _held = accept.await.unwrap();
        assert_eq!(pool.idle_count(), 2);
        crate::set_worker_index(3);
        assert!(pool.checkout().is_none(), "worker 3 has none of its own");
        for worker in [1, 2] {
            crate::set_worker_index(worker);
            assert!(pool.checkout().is_some(), "worker {worker} takes its own");
            assert!(pool.checkout().is_none(), "and only its own");
        }
        crate::set_worker_index(0);
    }
}
