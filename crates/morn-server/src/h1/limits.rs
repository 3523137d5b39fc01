//! Limits on slow and idle clients for the connections hyper serves (`handoff.rs`):
//! a request body that stalls, and a connection left idle.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use tokio::time::{Instant, Sleep};

/// A request body that fails with [`BodyReadTimeout`] when its next piece does not
/// arrive within `limit` (nginx's `client_body_timeout`). The timer exists only while
/// the body is waiting, so a body that arrives whole costs nothing.
pub(super) struct ReadTimeoutBody {
    inner: Incoming,
    limit: Duration,
    waiting: Option<Pin<Box<Sleep>>>,
}

impl ReadTimeoutBody {
    pub(super) fn new(inner: Incoming, limit: Duration) -> Self {
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

/// When a connection last moved bytes either way, shared between its I/O and the
/// task that watches it.
#[derive(Clone)]
pub(super) struct Activity {
    start: Instant,
    /// Milliseconds from `start`.
    last: Arc<AtomicU64>,
}

impl Activity {
    pub(super) fn new() -> Self {
        Self {
            start: Instant::now(),
            last: Arc::new(AtomicU64::new(0)),
        }
    }

    pub(super) fn touch(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.store(ms, Ordering::Relaxed);
    }

    pub(super) fn last(&self) -> Instant {
        self.start + Duration::from_millis(self.last.load(Ordering::Relaxed))
    }
}

/// The requests of a connection whose answer is being made or sent: from the
/// request's arrival until its answer's body is dropped (sent, or abandoned). A
/// connection is only idle with none: an upstream may take minutes to answer, and a
/// stream may pause, with no traffic on the client's connection.
#[derive(Clone, Default)]
pub(super) struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    pub(super) fn enter(&self) -> Answering {
        self.0.fetch_add(1, Ordering::Relaxed);
        Answering(Arc::clone(&self.0))
    }

    pub(super) fn is_empty(&self) -> bool {
        self.0.load(Ordering::Relaxed) == 0
    }
}

/// One request counted in [`InFlight`] until dropped.
pub(super) struct Answering(Arc<AtomicUsize>);

impl Answering {
    /// `response`, whose body keeps this request counted until it is dropped.
    pub(super) fn until_sent(self, response: Response) -> Response {
        response.map(|body| {
            Body::new(Counted {
                inner: body,
                _answering: self,
            })
        })
    }
}

impl Drop for Answering {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// An answer's body that keeps its request in flight while it exists.
struct Counted {
    inner: Body,
    _answering: Answering,
}

impl HttpBody for Counted {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
