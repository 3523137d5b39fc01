//! OpenAI-compatible endpoints: chat completions, embeddings, models.

use axum::Extension;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use morn_protocol::{ApiError, ChatRequest, ErrorKind, StreamEncoder, openai};

use crate::body::read_limited;
use crate::dialect::{Dialect, json_response, rate_headers, served_headers};
use crate::identity::Principal;
use crate::metering::{Finish, Start};
use crate::request_id::RequestInfo;
use crate::state::Shared;

/// `POST /v1/chat/completions` (dispatched by the front door).
pub(crate) async fn chat_completions(
    state: Shared,
    span: tracing::Span,
    principal: Principal,
    info: RequestInfo,
    body: Body,
) -> Response {
    chat(state, span, principal, info, body)
        .await
        .unwrap_or_else(|err| Dialect::OpenAi.error(&err))
}

async fn chat(
    state: Shared,
    span: tracing::Span,
    principal: Principal,
    info: RequestInfo,
    body: Body,
) -> Result<Response, ApiError> {
    let bytes = read_limited(body, state.max_body_bytes).await?;
    let req = openai::parse_chat_request(&bytes)?;
    let encoder = |req: &ChatRequest| -> Box<dyn StreamEncoder> {
        Box::new(openai::ChatStreamEncoder::new(
            req.include_usage,
            unix_now(),
        ))
    };
    let call = super::chat::Call {
        state: &state,
        span,
        principal: &principal,
        info: &info,
        endpoint: "chat",
        relay: true,
    };
    super::chat::serve(call, req, encoder, openai::render_chat_response).await
}

/// `POST /v1/embeddings` (dispatched by the front door).
pub(crate) async fn embeddings(
    state: Shared,
    principal: Principal,
    info: RequestInfo,
    body: Body,
) -> Response {
    let result = async {
        let bytes = read_limited(body, state.max_body_bytes).await?;
        let req = openai::parse_embedding_request(&bytes)?;
        super::chat::check_model(&principal, &req.model)?;
        let prompt = crate::metering::estimate::embedding_inputs(&req);
        let metered = state
            .meter
            .begin(Start {
                principal: &principal,
                request_id: &info.id,
                client_request_id: info.client_id.as_deref(),
                started: info.started,
                endpoint: "embeddings",
                model: &req.model,
                stream: false,
                prompt_tokens: prompt as i64,
                max_output_tokens: Some(0),
            })
            .await?;
        let headers = metered.rate_headers().cloned();
        let gateway = crate::tenancy::gateway_for(&state, &principal);
        let (resp, served) = match gateway.embed(&req).await {
            Ok(answer) => answer,
            Err(err) => {
                metered.finish(Finish::failed(&err, &err.code));
                return Err(err);
            }
        };
        metered.finish(Finish {
            status: 200,
            usage: Some(resp.usage),
            prompt_count: Some(prompt),
            served_model: Some(&served.model),
            deployment: Some(&served.deployment),
            ..Finish::default()
        });
        let body = openai::render_embedding_response(&resp, req.encoding_format);
        let mut response = json_response(body);
        served_headers(&mut response, &served);
        rate_headers(&mut response, headers.as_ref());
        Ok::<_, ApiError>(response)
    }
    .await;
    result.unwrap_or_else(|err| Dialect::OpenAi.error(&err))
}

/// `GET /v1/models`, in Anthropic's shape for Anthropic clients.
pub async fn list_models(
    State(state): State<Shared>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
) -> Response {
    let mut models = crate::tenancy::gateway_for(&state, &principal).models();
    models.retain(|m| principal.allows_model(&m.id));
    match Dialect::detect("/v1/models", &headers) {
        Dialect::Anthropic => json_response(morn_protocol::anthropic::render_model_list(&models)),
        Dialect::OpenAi => json_response(openai::render_model_list(&models)),
    }
}

/// `GET /v1/models/{id}`.
pub async fn get_model(
    State(state): State<Shared>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let dialect = Dialect::detect("/v1/models", &headers);
    match crate::tenancy::gateway_for(&state, &principal)
        .model(&id)
        .filter(|m| principal.allows_model(&m.id))
    {
        Some(model) if dialect == Dialect::Anthropic => {
            let body = serde_json::json!({
                "type": "model",
                "id": model.id,
                "display_name": model.id,
                "created_at": morn_protocol::anthropic::rfc3339(model.created),
            });
            json_response(body.to_string().into_bytes())
        }
        Some(model) => json_response(openai::render_model(&model)),
        None => dialect.error(
            &ApiError::new(
                ErrorKind::NotFound,
                format!("The model `{id}` does not exist."),
            )
            .with_code("model_not_found")
            .with_param("model"),
        ),
    }
}

pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
