//! Idle connections to one upstream host, shared by the client and the streams it
//! opened (a stream puts its connection back when its body has ended).

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
    /// Most recently used last, and taken first: its state is the warmest.
    idle: Mutex<Vec<Idle>>,
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
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
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
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
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
            .len()
    }
}
