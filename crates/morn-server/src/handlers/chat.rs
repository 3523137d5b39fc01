//! The chat flow both protocols share: parse (by the caller), check the key may use the
//! model, admit and meter it, then relay a stream or render a whole answer in the
//! caller's wire format.

use std::sync::Arc;

use axum::response::Response;
use morn_gateway::Served;
use morn_protocol::{ApiError, ChatRequest, ChatResponse, ErrorKind, StreamEncoder};
use morn_providers::ChatAnswer;

use crate::dialect::{json_response, rate_headers, served_headers};
use crate::identity::Principal;
use crate::metering::{Finish, Metered, Start};
use crate::request_id::RequestInfo;
use crate::state::Shared;
use crate::stream::{StreamMeter, sse_response};

/// Who is calling and on which endpoint.
pub(crate) struct Call<'a> {
    pub state: &'a Shared,
    pub span: tracing::Span,
    pub principal: &'a Principal,
    pub info: &'a RequestInfo,
    /// `chat` or `messages`.
    pub endpoint: &'static str,
    /// The caller speaks OpenAI: an OpenAI upstream's answer may be relayed as its
    /// own bytes instead of decoded and rendered again.
    pub relay: bool,
}

/// Serves a parsed chat request. `encoder` builds the stream encoder of the caller's
/// protocol; `render` renders a whole answer in it.
pub(crate) async fn serve(
    call: Call<'_>,
    mut req: ChatRequest,
    encoder: impl FnOnce(&ChatRequest) -> Box<dyn StreamEncoder>,
    render: fn(&ChatResponse) -> Vec<u8>,
) -> Result<Response, ApiError> {
    let state = call.state;
    check_model(call.principal, &req.model)?;
    tracing::debug!(model = %req.model, stream = req.stream, "chat");
    let metered = state
        .meter
        .begin(Start {
            principal: call.principal,
            request_id: &call.info.id,
            client_request_id: call.info.client_id.as_deref(),
            started: call.info.started,
            endpoint: call.endpoint,
            model: &req.model,
            stream: req.stream,
            prompt_tokens: crate::metering::estimate::prompt_fast(&req) as i64,
            max_output_tokens: req.max_tokens,
        })
        .await?;
    // Under a hard budget the worst case must be bounded: a request without
    // `max_tokens` gets the default Morn reserved for it.
    if metered.needs_max_tokens() && req.max_tokens.is_none() {
        req.max_tokens = Some(state.meter.default_max_output_tokens());
    }
    let headers = metered.rate_headers().cloned();
    if req.stream {
        let req = Arc::new(req);
        let gateway = crate::tenancy::gateway_for(state, call.principal);
        let stream = match gateway.chat_stream(&req).await {
            Ok(stream) => stream,
            Err(err) => {
                metered.finish(Finish::failed(&err, &err.code));
                return Err(err);
            }
        };
        let meter = StreamMeter::new(metered, req.clone());
        let mut response = sse_response(stream, encoder(&req), call.span, Some(meter));
        rate_headers(&mut response, headers.as_ref());
        return Ok(response);
    }
    let gateway = crate::tenancy::gateway_for(state, call.principal);
    let (answer, served) = match gateway.chat_answer(&req, call.relay).await {
        Ok(answer) => answer,
        Err(err) => {
            metered.finish(Finish::failed(&err, &err.code));
            return Err(err);
        }
    };
    let body = match answer {
        ChatAnswer::Relayed { body, relay } => {
            metered.finish(Finish {
                status: 200,
                usage: Some(relay.usage),
                served_model: Some(&served.model),
                deployment: Some(&served.deployment),
                ..Finish::default()
            });
            relay.render(&body, &served.model)
        }
        ChatAnswer::Decoded(resp) => {
            finish_decoded(metered, &req, &resp, &served);
            render(&resp)
        }
    };
    let mut response = json_response(body);
    served_headers(&mut response, &served);
    rate_headers(&mut response, headers.as_ref());
    Ok(response)
}

/// Meters a decoded answer; without reported usage, the tokens are counted here.
fn finish_decoded(metered: Metered, req: &ChatRequest, resp: &ChatResponse, served: &Served) {
    let reported = resp.usage.input_tokens + resp.usage.output_tokens > 0;
    let (prompt_count, output_estimate) = if reported {
        (None, 0)
    } else {
        let text: String = resp
            .choices
            .iter()
            .map(|c| c.message.joined_text())
            .collect();
        (
            Some(morn_meter::tokens::count_prompt(req)),
            morn_meter::tokens::count_text(&req.model, &text),
        )
    };
    metered.finish(Finish {
        status: 200,
        usage: Some(resp.usage),
        prompt_count,
        output_estimate,
        served_model: Some(&served.model),
        deployment: Some(&served.deployment),
        ..Finish::default()
    });
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
