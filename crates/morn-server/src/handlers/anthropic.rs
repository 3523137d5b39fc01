//! Anthropic-compatible endpoint: `POST /v1/messages`.

use axum::Extension;
use axum::body::Body;
use axum::extract::State;
use axum::response::Response;
use morn_protocol::{ApiError, anthropic};

use crate::body::read_limited;
use crate::dialect::{Dialect, json_response, served_headers};
use crate::identity::Principal;
use crate::state::Shared;
use crate::stream::sse_response;

/// `POST /v1/messages`.
pub async fn messages(
    State(state): State<Shared>,
    Extension(span): Extension<tracing::Span>,
    Extension(principal): Extension<Principal>,
    body: Body,
) -> Response {
    handle(state, span, principal, body)
        .await
        .unwrap_or_else(|err| Dialect::Anthropic.error(&err))
}

async fn handle(
    state: Shared,
    span: tracing::Span,
    principal: Principal,
    body: Body,
) -> Result<Response, ApiError> {
    let bytes = read_limited(body, state.max_body_bytes).await?;
    let req = anthropic::parse_messages_request(&bytes)?;
    super::openai::check_model(&principal, &req.model)?;
    tracing::debug!(model = %req.model, stream = req.stream, "messages");
    if req.stream {
        let stream = state.gateway.chat_stream(&req).await?;
        return Ok(sse_response(
            stream,
            Box::new(anthropic::MessagesStreamEncoder::new()),
            span,
        ));
    }
    let (resp, served) = state.gateway.chat(&req).await?;
    let mut response = json_response(anthropic::render_messages_response(&resp));
    served_headers(&mut response, &served);
    Ok(response)
}
