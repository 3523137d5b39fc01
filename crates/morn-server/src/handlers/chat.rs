//! The chat flow both protocols share: parse (by the caller), check the key may use the
//! model, then relay a stream or render a whole answer in the caller's wire format.

use axum::response::Response;
use morn_protocol::{ApiError, ChatRequest, ChatResponse, ErrorKind, StreamEncoder};

use crate::dialect::{json_response, served_headers};
use crate::identity::Principal;
use crate::state::Shared;
use crate::stream::sse_response;

/// Serves a parsed chat request. `encoder` builds the stream encoder of the caller's
/// protocol; `render` renders a whole answer in it.
pub(crate) async fn serve(
    state: &Shared,
    span: tracing::Span,
    principal: &Principal,
    req: &ChatRequest,
    encoder: impl FnOnce(&ChatRequest) -> Box<dyn StreamEncoder>,
    render: fn(&ChatResponse) -> Vec<u8>,
) -> Result<Response, ApiError> {
    check_model(principal, &req.model)?;
    tracing::debug!(model = %req.model, stream = req.stream, "chat");
    if req.stream {
        let stream = state.gateway.chat_stream(req).await?;
        return Ok(sse_response(stream, encoder(req), span));
    }
    let (resp, served) = state.gateway.chat(req).await?;
    let mut response = json_response(render(&resp));
    served_headers(&mut response, &served);
    Ok(response)
}

/// A key limited to some models may only call those (403 `model_not_allowed`).
pub(crate) fn check_model(principal: &Principal, model: &str) -> Result<(), ApiError> {
    if principal.allows_model(model) {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorKind::PermissionDenied,
        format!("This API key is not allowed to use the model `{model}`."),
    )
    .with_code("model_not_allowed")
    .with_param("model"))
}
