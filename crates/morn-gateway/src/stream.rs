//! A streamed answer being relayed: idle-gap timeout, health reporting for failures
//! after the first chunk, and (when the route asks for it) continuing a broken answer
//! on another deployment.
//!
//! What the client sees when a stream breaks after output reached it:
//! - by default, the text so far and then the protocol's error event (never a clean
//!   end);
//! - with `continue_on_failure`, when the answer so far is plain text: the rest of the
//!   answer from another deployment of the same model, asked to continue from the
//!   partial text (sent as an assistant prefix), with no visible seam. Usage then comes
//!   from the continuation call. If the answer already held tool calls or thinking, or
//!   no other deployment can continue, the error event is sent as by default.

use std::sync::Arc;
use std::time::Instant;

use morn_protocol::{ApiError, ChatRequest, ErrorKind, Message, Role, StreamEvent};
use morn_providers::EventStream;

use crate::deployment::Deployment;
use crate::pipeline::Served;
use crate::routes::ModelRoute;
use crate::routing::classify;
use crate::spec::Timeouts;

/// State needed to continue a broken stream elsewhere.
pub(crate) struct Continuation {
    route: Arc<ModelRoute>,
    request: ChatRequest,
    text: String,
    /// Only text so far: tool calls and thinking cannot be resumed mid-way.
    only_text: bool,
    /// Deployments that already failed this request.
    failed: Vec<String>,
}

impl Continuation {
    pub(crate) fn new(route: Arc<ModelRoute>, request: ChatRequest) -> Self {
        Self {
            route,
            request,
            text: String::new(),
            only_text: true,
            failed: Vec::new(),
        }
    }
}

/// A stream being relayed to the client.
pub struct ChatStream {
    events: EventStream,
    /// Who serves it (the first deployment; continuations are logged).
    pub served: Served,
    deployment: Arc<Deployment>,
    timeouts: Timeouts,
    continuation: Option<Continuation>,
    /// A continuation's `Start` is not relayed: the client already had one.
    skip_start: bool,
    finished: bool,
}

impl ChatStream {
    pub(crate) fn new(
        events: EventStream,
        served: Served,
        deployment: Arc<Deployment>,
        timeouts: Timeouts,
        continuation: Option<Continuation>,
    ) -> Self {
        Self {
            events,
            served,
            deployment,
            timeouts,
            continuation,
            skip_start: false,
            finished: false,
        }
    }

    /// Whether `next` would return without waiting for the upstream.
    pub fn is_ready(&self) -> bool {
        self.finished || self.events.is_ready()
    }

    /// The next event for the client, with the model name set to the served model.
    pub async fn next(&mut self) -> Option<StreamEvent> {
        loop {
            if self.finished {
                return None;
            }
            // An event already decoded needs no idle timer: arming one per event (a
            // clock read and a timer entry) cost more than relaying the event.
            let next = if self.events.is_ready() {
                Ok(self.events.next().await)
            } else {
                tokio::time::timeout(self.timeouts.idle, self.events.next()).await
            };
            let event = match next {
                Ok(Some(event)) => event,
                Ok(None) => {
                    self.finished = true;
                    return None;
                }
                Err(_) => StreamEvent::Error(
                    ApiError::new(
                        ErrorKind::GatewayTimeout,
                        "The upstream provider stopped sending the answer.",
                    )
                    .with_code("upstream_idle_timeout"),
                ),
            };
            match event {
                StreamEvent::Start { .. } if self.skip_start => continue,
                StreamEvent::Start { id, usage, .. } => {
                    return Some(StreamEvent::Start {
                        id,
                        model: self.served.model.clone(),
                        usage,
                    });
                }
                StreamEvent::Error(err) => {
                    let class = classify(&err);
                    let retry_after = err.retry_after.map(std::time::Duration::from_secs);
                    self.deployment.health.on_failure(
                        Instant::now(),
                        class,
                        &err.code,
                        retry_after,
                    );
                    if self.resume().await {
                        continue;
                    }
                    self.finished = true;
                    return Some(StreamEvent::Error(err));
                }
                StreamEvent::TextDelta { ref text, .. } => {
                    if let Some(c) = &mut self.continuation {
                        c.text.push_str(text);
                    }
                }
                StreamEvent::Usage(usage) => {
                    self.deployment.capacity.record_tokens(usage.total_tokens())
                }
                StreamEvent::ToolCallStart { .. } | StreamEvent::ThinkingDelta { .. } => {
                    if let Some(c) = &mut self.continuation {
                        c.only_text = false;
                    }
                }
                _ => {}
            }
            return Some(event);
        }
    }

    /// Tries to continue the answer on another deployment. `true` when the stream now
    /// reads from the continuation.
    async fn resume(&mut self) -> bool {
        let Some(c) = &mut self.continuation else {
            return false;
        };
        if !c.only_text {
            return false;
        }
        c.failed.push(self.deployment.id.clone());
        let now = Instant::now();
        let next = c
            .route
            .deployments
            .iter()
            .find(|d| !c.failed.contains(&d.id) && d.health.is_available(now))
            .cloned();
        let deployment = match next {
            Some(d) if d.health.admit(now) => d,
            _ => {
                // None in rotation: the one closest to coming back gets a probe.
                let failed: Vec<usize> = c
                    .route
                    .deployments
                    .iter()
                    .enumerate()
                    .filter(|(_, d)| c.failed.contains(&d.id))
                    .map(|(i, _)| i)
                    .collect();
                let Some(index) = crate::pipeline::last_resort(&c.route, &failed, now, 0) else {
                    return false;
                };
                let d = c.route.deployments[index].clone();
                // Another broken stream may hold the probe: wait for its verdict.
                let deadline = now + self.timeouts.ttfb;
                if !d.health.force_probe(now) && !crate::pipeline::await_probe(&d, deadline).await {
                    return false;
                }
                d
            }
        };
        let mut request = c.request.clone();
        if !c.text.is_empty() {
            request
                .messages
                .push(Message::text(Role::Assistant, c.text.clone()));
        }
        let call = deployment
            .provider
            .chat_stream(&request, &deployment.upstream_model);
        match tokio::time::timeout(self.timeouts.ttfb, call).await {
            Ok(Ok(events)) => {
                deployment.health.on_success(Instant::now(), now.elapsed());
                tracing::info!(from = %self.deployment.id, to = %deployment.id, resumed_after_chars = c.text.len(), "stream continued on another deployment");
                self.events = events;
                self.deployment = deployment;
                self.skip_start = true;
                true
            }
            Ok(Err(err)) => {
                deployment
                    .health
                    .on_failure(Instant::now(), classify(&err), &err.code, None);
                false
            }
            Err(_) => false,
        }
    }
}
