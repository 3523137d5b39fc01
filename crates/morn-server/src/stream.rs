//! Relaying a canonical event stream to the client as SSE in its own protocol.

use std::convert::Infallible;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use morn_gateway::ChatStream;
use morn_protocol::{StreamEncoder, StreamEvent};
use tracing::Instrument;

/// Builds the `200 text/event-stream` response. The first upstream event has already
/// arrived (the gateway primes the stream), so an upstream that fails before producing
/// output never gets here. Later failures arrive as a `StreamEvent::Error`, which the
/// encoder writes as the protocol's error event before the stream ends.
pub fn sse_response(
    stream: ChatStream,
    encoder: Box<dyn StreamEncoder>,
    span: tracing::Span,
) -> Response {
    let served = stream.served.clone();
    let relay = Relay {
        stream,
        encoder,
        finished: false,
        events: 0,
        span,
    };
    let body = futures::stream::unfold(relay, |mut relay| {
        let span = relay.span.clone();
        async move {
            let chunk = relay.next_chunk().await?;
            Some((Ok::<_, Infallible>(chunk), relay))
        }
        .instrument(span)
    });
    let body = Body::from_stream(body);
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    crate::dialect::served_headers(&mut response, &served);
    response
}

struct Relay {
    stream: ChatStream,
    encoder: Box<dyn StreamEncoder>,
    finished: bool,
    events: u32,
    /// The request's span, so relay log lines carry its id.
    span: tracing::Span,
}

impl Relay {
    /// Encodes events until there are bytes to send; `None` once the stream is over.
    async fn next_chunk(&mut self) -> Option<Bytes> {
        let mut out = Vec::new();
        // Encode everything already decoded into one chunk: one write to the client per
        // upstream read instead of one per event.
        while out.is_empty() || (!self.finished && self.stream.is_ready()) {
            if self.finished {
                return None;
            }
            match self.stream.next().await {
                Some(event) => {
                    self.events += 1;
                    if let StreamEvent::Error(err) = &event {
                        tracing::warn!(code = %err.code, after_events = self.events, "stream ended with an error");
                        self.finished = true;
                    }
                    self.encoder.encode(&event, &mut out);
                }
                None => {
                    self.encoder.finish(&mut out);
                    self.finished = true;
                    tracing::debug!(events = self.events, "stream finished");
                }
            }
        }
        Some(Bytes::from(out))
    }
}
