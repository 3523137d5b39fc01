//! Anthropic-compatible endpoint: `POST /v1/messages`.

use axum::body::Body;
use axum::response::Response;
use morn_protocol::{ApiError, ChatRequest, StreamEncoder, anthropic};

use crate::body::read_limited;
use crate::dialect::Dialect;
use crate::identity::Principal;
use crate::request_id::RequestInfo;
use crate::state::Shared;

/// `POST /v1/messages` (dispatched by the front door).
pub(crate) async fn messages(
    state: Shared,
    span: tracing::Span,
    principal: Principal,
    info: RequestInfo,
    body: Body,
) -> Response {
    handle(state, span, principal, info, body)
        .await
        .unwrap_or_else(|err| Dialect::Anthropic.error(&err))
}

async fn handle(
    state: Shared,
    span: tracing::Span,
    principal: Principal,
    info: RequestInfo,
    body: Body,
) -> Result<Response, ApiError> {
    let bytes = read_limited(body, state.max_body_bytes).await?;
    let req = anthropic::parse_messages_request(&bytes)?;
    let encoder = |_: &ChatRequest| -> Box<dyn StreamEncoder> {
        Box::new(anthropic::MessagesStreamEncoder::new())
    };
    let call = super::chat::Call {
        state: &state,
        span,
        principal: &principal,
        info: &info,
        endpoint: "messages",
        relay: false,
    };
    super::chat::serve(call, req, encoder, anthropic::render_messages_response).await
}
