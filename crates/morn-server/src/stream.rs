//! Relaying a canonical event stream to the client as SSE in its own protocol, and
//! metering it: time to first token, usage from the final event (or Morn's own count),
//! and a usage record when the stream ends, breaks, or the client leaves.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use morn_gateway::ChatStream;
use morn_protocol::{ChatRequest, StreamEncoder, StreamEvent, Usage};
use tracing::Instrument;

/// Builds the `200 text/event-stream` response. The first upstream event has already
/// arrived (the gateway primes the stream), so an upstream that fails before producing
/// output never gets here. Later failures arrive as a `StreamEvent::Error`, which the
/// encoder writes as the protocol's error event before the stream ends.
pub fn sse_response(
    stream: ChatStream,
    encoder: Box<dyn StreamEncoder>,
    span: tracing::Span,
    meter: Option<StreamMeter>,
) -> Response {
    let served = stream.served.clone();
    let relay = Relay {
        meter: meter.map(|m| m.served_by(&served)),
        stream,
        encoder,
        finished: false,
        events: 0,
        span,
    };
    // Boxed: the relay (the upstream connection, its decoder and the encoder) moves
    // in and out of the body's future on every chunk, and a pointer is cheaper to
    // move than the whole of it.
    let body = futures::stream::unfold(Box::new(relay), |mut relay| {
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
    meter: Option<StreamMeter>,
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
        // Room for a burst of encoded chunks (a 20-chunk answer read at once encodes
        // to ~5 KB): growing from empty reallocated it about six times per chunk, and
        // from 1 KB three times per burst (callgrind).
        let mut out = Vec::with_capacity(4096);
        // Encode everything already decoded into one chunk: one write to the client per
        // upstream read instead of one per event.
        while out.is_empty() || (!self.finished && self.stream.is_ready()) {
            if self.finished {
                return None;
            }
            match self.stream.next().await {
                Some(event) => {
                    self.events += 1;
                    if let Some(meter) = &mut self.meter {
                        meter.observe(&event);
                    }
                    if let StreamEvent::Error(err) = &event {
                        tracing::warn!(code = %err.code, after_events = self.events, "stream ended with an error");
                        self.finished = true;
                    }
                    self.encoder.encode(&event, &mut out);
                    if self.finished
                        && let Some(meter) = self.meter.take()
                    {
                        meter.finish(None);
                    }
                }
                None => {
                    self.finished = true;
                    // Recorded before the last bytes go out: a client that saw the
                    // stream end cleanly can count on its usage being in the ledger.
                    if let Some(meter) = self.meter.take() {
                        meter.finish(None);
                    }
                    self.encoder.finish(&mut out);
                    tracing::debug!(events = self.events, "stream finished");
                }
            }
        }
        Some(Bytes::from(out))
    }
}

impl Drop for Relay {
    /// The client went away mid-stream: what was generated so far is still recorded.
    fn drop(&mut self) {
        if let Some(meter) = self.meter.take() {
            meter.finish(Some("client_closed"));
        }
    }
}

/// Output text kept for counting when an upstream reports no usage; longer answers
/// are counted from their first megabyte and scaled.
const MAX_COUNTED_TEXT: usize = 1 << 20;

/// Metering state of one stream.
pub struct StreamMeter {
    metered: crate::metering::Metered,
    req: Arc<ChatRequest>,
    model: Option<String>,
    deployment: Option<String>,
    ttft: Option<Duration>,
    usage: Option<Usage>,
    text: String,
    text_bytes: usize,
    error: Option<String>,
}

impl StreamMeter {
    pub fn new(metered: crate::metering::Metered, req: Arc<ChatRequest>) -> Self {
        Self {
            metered,
            req,
            model: None,
            deployment: None,
            ttft: None,
            usage: None,
            // The text of a short answer without growing from eight bytes by doubling.
            text: String::with_capacity(256),
            text_bytes: 0,
            error: None,
        }
    }

    fn served_by(mut self, served: &morn_gateway::Served) -> Self {
        self.model = Some(served.model.clone());
        self.deployment = Some(served.deployment.clone());
        self
    }

    fn observe(&mut self, event: &StreamEvent) {
        let text = match event {
            StreamEvent::TextDelta { text, .. } | StreamEvent::ThinkingDelta { text, .. } => {
                Some(text.as_str())
            }
            StreamEvent::ToolCallDelta { arguments, .. } => Some(arguments.as_str()),
            StreamEvent::ToolCallStart { name, .. } => Some(name.as_str()),
            StreamEvent::Usage(usage) => {
                self.usage = Some(*usage);
                None
            }
            StreamEvent::Start {
                usage: Some(usage), ..
            } if self.usage.is_none() => {
                self.usage = Some(*usage);
                None
            }
            StreamEvent::Error(err) => {
                self.error = Some(err.code.clone());
                None
            }
            _ => None,
        };
        if let Some(text) = text {
            if self.ttft.is_none() {
                self.ttft = Some(self.metered.elapsed());
            }
            self.text_bytes += text.len();
            if self.text.len() < MAX_COUNTED_TEXT {
                self.text.push_str(text);
            }
        }
    }

    fn finish(self, closed: Option<&str>) {
        let usage = self
            .usage
            .filter(|u| u.input_tokens + u.output_tokens > 0 && u.output_tokens > 0);
        let (prompt_count, output_estimate) = if usage.is_some() {
            (None, 0)
        } else {
            let counted = morn_meter::tokens::count_text(&self.req.model, &self.text);
            let scaled = if self.text.is_empty() {
                0
            } else {
                counted * self.text_bytes as u64 / self.text.len() as u64
            };
            (Some(morn_meter::tokens::count_prompt(&self.req)), scaled)
        };
        let error_class = closed.map(str::to_owned).or(self.error);
        self.metered.finish(crate::metering::Finish {
            status: 200,
            error_class: error_class.as_deref(),
            usage,
            output_estimate,
            prompt_count,
            served_model: self.model.as_deref(),
            deployment: self.deployment.as_deref(),
            ttft: self.ttft,
            upstream: false,
        });
    }
}
