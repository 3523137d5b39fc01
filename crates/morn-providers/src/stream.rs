//! A streamed upstream answer as canonical events.

use std::collections::VecDeque;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use morn_protocol::{ApiError, SseEvent, SseParser, StreamDecoder, StreamEvent};
use tokio::time::{Instant, timeout_at};

use crate::h1::LeanBody;
use crate::transport::{self, Chain};

/// Where the stream's bytes come from: hyper's client, or the lean client's
/// connection read by this task (`h1`).
pub(crate) enum UpstreamBody {
    Hyper(Incoming),
    Lean(LeanBody),
}

impl UpstreamBody {
    /// The next piece of body data; `None` at its end. A failure comes with what the
    /// caller answers and what it logs.
    async fn chunk(&mut self) -> Option<Result<Bytes, (ApiError, String)>> {
        match self {
            Self::Hyper(body) => loop {
                match body.frame().await? {
                    // Trailers carry no events.
                    Ok(frame) => match frame.into_data() {
                        Ok(data) => return Some(Ok(data)),
                        Err(_) => continue,
                    },
                    Err(e) => {
                        let err = if transport::is_timeout(&e) {
                            transport::timed_out()
                        } else {
                            ApiError::stream_interrupted()
                        };
                        return Some(Err((err, Chain(&e).to_string())));
                    }
                }
            },
            Self::Lean(body) => Some(
                body.chunk()
                    .await?
                    .map_err(|e| (ApiError::stream_interrupted(), e.to_string())),
            ),
        }
    }

    /// The content is complete; nothing more will be read.
    fn finish(&mut self) {
        if let Self::Lean(body) = self {
            body.finish();
        }
    }
}

/// Canonical events decoded from an upstream SSE body.
///
/// The body is pulled on demand (no background task, no extra buffering beyond one
/// upstream chunk), so backpressure from a slow client reaches the upstream. A body
/// that ends before the upstream's end marker, fails mid-way, or carries an event Morn
/// cannot parse yields one final `StreamEvent::Error`: a cut stream is never reported
/// as a clean finish. The whole stream ends by the call's deadline (`request_timeout`
/// after it started); a stream still running then ends in a timeout error.
pub struct EventStream {
    body: UpstreamBody,
    deadline: Instant,
    parser: SseParser,
    decoder: Box<dyn StreamDecoder>,
    pending: VecDeque<StreamEvent>,
    /// Room reused by every read: the SSE events one read completed, and what they
    /// decoded to (growing fresh vectors per read cost ~1.2 k of a streamed answer's
    /// ~245 k instructions).
    sse_events: Vec<SseEvent>,
    decoded: Vec<StreamEvent>,
    done: bool,
    provider: String,
    /// Replace in-band error codes with Morn's stable ones (non-OpenAI upstreams), as
    /// for error responses.
    normalize_codes: bool,
}

impl EventStream {
    pub(crate) fn new(
        body: UpstreamBody,
        deadline: Instant,
        decoder: Box<dyn StreamDecoder>,
        provider: String,
        normalize_codes: bool,
    ) -> Self {
        Self {
            body,
            deadline,
            parser: SseParser::new(),
            decoder,
            // A usual answer's events, when they arrive together (sized once rather
            // than doubled four times on the first read).
            pending: VecDeque::with_capacity(32),
            sse_events: Vec::with_capacity(32),
            decoded: Vec::with_capacity(32),
            done: false,
            provider,
            normalize_codes,
        }
    }

    /// Reads until the first canonical event is buffered. An error before any output
    /// is returned as `Err`, so the caller can still answer with an HTTP error status.
    pub(crate) async fn prime(&mut self) -> Result<(), ApiError> {
        while self.pending.is_empty() && !self.done {
            self.fill().await;
        }
        match self.pending.front() {
            Some(StreamEvent::Error(err)) => Err(err.clone()),
            Some(_) => Ok(()),
            None => Err(ApiError::stream_interrupted()),
        }
    }

    /// Whether `next` would return at once: an event is decoded and waiting, or the
    /// stream is over. Lets the relay batch what one upstream read produced into one
    /// write to the client.
    pub fn is_ready(&self) -> bool {
        !self.pending.is_empty() || self.done
    }

    /// The next canonical event, or `None` after the last one.
    pub async fn next(&mut self) -> Option<StreamEvent> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            if self.done {
                return None;
            }
            self.fill().await;
        }
    }

    /// Pulls one upstream chunk and decodes it into `pending`.
    async fn fill(&mut self) {
        let Ok(chunk) = timeout_at(self.deadline, self.body.chunk()).await else {
            tracing::warn!(provider = %self.provider, "upstream stream ran past the request timeout");
            self.fail(transport::timed_out());
            return;
        };
        match chunk {
            Some(Ok(chunk)) => {
                let mut events = std::mem::take(&mut self.sse_events);
                let mut out = std::mem::take(&mut self.decoded);
                self.parser.push_into(&chunk, &mut events);
                for event in events.drain(..) {
                    if let Err(err) = self.decoder.decode(&event, &mut out) {
                        tracing::warn!(provider = %self.provider, error = %err.message, "malformed upstream stream event");
                        out.push(StreamEvent::Error(err));
                        break;
                    }
                }
                self.absorb(&mut out);
                (self.sse_events, self.decoded) = (events, out);
            }
            Some(Err((err, detail))) => {
                tracing::warn!(provider = %self.provider, error = %detail, "upstream stream failed");
                self.fail(err);
            }
            None => {
                self.done = true;
                if !self.decoder.is_complete() {
                    tracing::warn!(provider = %self.provider, "upstream stream ended before its end marker");
                    self.pending
                        .push_back(StreamEvent::Error(ApiError::stream_interrupted()));
                }
            }
        }
    }

    /// Queues decoded events; an error event ends the stream.
    fn absorb(&mut self, events: &mut Vec<StreamEvent>) {
        for mut event in events.drain(..) {
            if let (true, StreamEvent::Error(err)) = (self.normalize_codes, &mut event) {
                err.code = err.kind.default_code().to_owned();
            }
            let is_error = matches!(event, StreamEvent::Error(_));
            self.pending.push_back(event);
            if is_error {
                self.done = true;
                return;
            }
        }
        // Once the upstream's end marker is seen the answer is complete; anything after
        // it (an OpenAI server keeping the connection open) is not waited for.
        if self.decoder.is_complete() {
            self.done = true;
            self.body.finish();
        }
    }

    fn fail(&mut self, err: ApiError) {
        self.pending.push_back(StreamEvent::Error(err));
        self.done = true;
    }
}
