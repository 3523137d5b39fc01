//! One configured upstream and the HTTP calls made to it.

use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, Response, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use morn_protocol::{
    ApiError, ChatRequest, ChatResponse, EmbeddingInput, EmbeddingRequest, EmbeddingResponse,
    StreamDecoder, anthropic, gemini, openai,
};
use tokio::time::{Instant, timeout, timeout_at};

use crate::h1::{H1Client, H1Error, LeanBody};
use crate::kind::{chat_url, embeddings_url};
use crate::stream::{EventStream, UpstreamBody};
use crate::transport::{self, Chain, HttpClient, absolute_uri};
use crate::{ProviderKind, ProxySettings, Secret};

/// A non-streamed chat answer.
#[derive(Debug)]
pub enum ChatAnswer {
    /// Decoded into the canonical form.
    Decoded(ChatResponse),
    /// An OpenAI answer passed on as the upstream's bytes (see [`Provider::chat_answer`]).
    Relayed {
        body: Bytes,
        relay: morn_protocol::openai::Relay,
    },
}

/// What it takes to build a [`Provider`].
#[derive(Debug, Clone)]
pub struct ProviderSettings {
    /// The name used in config and logs.
    pub name: String,
    pub kind: ProviderKind,
    /// Base URL without a trailing slash (see `ProviderKind::default_base_url`).
    pub base_url: String,
    pub api_key: Option<Secret>,
    /// Extra headers sent on every call (OpenRouter's `HTTP-Referer`, an org id, ...).
    pub headers: Vec<(String, String)>,
    pub connect_timeout: Duration,
    /// Upper bound on a whole call, streams included.
    pub request_timeout: Duration,
}

/// A ready-to-call upstream. Cheap to share behind an `Arc`; the HTTP client inside
/// pools connections.
#[derive(Debug)]
pub struct Provider {
    settings: ProviderSettings,
    http: HttpClient,
    /// Whole-answer calls to a plain-`http://` upstream reached without a proxy:
    /// the lean client (see `h1`); everything else goes through `http`.
    lean: Option<H1Client>,
    /// Sent on every call; cloned per request.
    headers: HeaderMap,
    /// The chat URL parsed once, when it does not depend on the model (not Gemini):
    /// URL parsing showed in profiles when done per request.
    chat_uri: Option<Uri>,
}

impl Provider {
    /// Builds the client, with the outbound proxy the environment names
    /// ([`ProxySettings::from_env`]). Fails on header names or values that are not
    /// valid HTTP, and on a proxy that cannot be used.
    pub fn new(settings: ProviderSettings) -> Result<Self, String> {
        Self::with_proxy(settings, &ProxySettings::from_env())
    }

    /// Builds the client with the given outbound proxy settings instead of the
    /// environment's.
    pub fn with_proxy(settings: ProviderSettings, proxy: &ProxySettings) -> Result<Self, String> {
        let headers = build_headers(&settings)?;
        let chat_uri = match settings.kind {
            ProviderKind::Gemini => None,
            kind => Some(
                absolute_uri(chat_url(kind, &settings.base_url, "", false))
                    .map_err(|e| format!("provider {}: invalid base_url: {e}", settings.name))?,
            ),
        };
        // Every call goes to the base URL's scheme and host, so one decision holds for
        // all of them. A base URL that does not parse fails its calls anyway (Gemini
        // builds its URLs per call).
        let base = absolute_uri(settings.base_url.clone()).ok();
        let route = match &base {
            Some(base) => proxy.route(&settings.name, base)?,
            None => None,
        };
        let lean = match (&base, &route) {
            (Some(base), None) => H1Client::for_base(base, &headers, settings.connect_timeout),
            _ => None,
        };
        let http = transport::build_client(settings.connect_timeout, route.as_ref())?;
        Ok(Self {
            settings,
            http,
            lean,
            headers,
            chat_uri,
        })
    }

    pub fn name(&self) -> &str {
        &self.settings.name
    }

    pub fn kind(&self) -> ProviderKind {
        self.settings.kind
    }

    /// A non-streamed chat call.
    pub async fn chat(
        &self,
        req: &ChatRequest,
        upstream_model: &str,
    ) -> Result<ChatResponse, ApiError> {
        match self.chat_answer(req, upstream_model, false).await? {
            ChatAnswer::Decoded(resp) => Ok(resp),
            // Not asked for a relay: never given one.
            ChatAnswer::Relayed { body, .. } => self.decode_chat(&body),
        }
    }

    /// A non-streamed chat call. With `relay` (the client speaks OpenAI) an OpenAI
    /// upstream's answer that needs no normalising is kept as its bytes
    /// ([`morn_protocol::openai::check_relay`]); anything else is decoded.
    pub async fn chat_answer(
        &self,
        req: &ChatRequest,
        upstream_model: &str,
        relay: bool,
    ) -> Result<ChatAnswer, ApiError> {
        let body = encode_chat(self.kind(), req, upstream_model)?;
        let uri = self.chat_target(upstream_model, false)?;
        let bytes = self.post(uri, body).await?;
        if relay
            && self.kind() == ProviderKind::OpenAi
            && let Some(relay) = openai::check_relay(&bytes)
        {
            return Ok(ChatAnswer::Relayed { body: bytes, relay });
        }
        self.decode_chat(&bytes).map(ChatAnswer::Decoded)
    }

    fn decode_chat(&self, bytes: &[u8]) -> Result<ChatResponse, ApiError> {
        let mut resp = match self.kind() {
            ProviderKind::OpenAi => openai::decode_chat_response(bytes),
            ProviderKind::Anthropic => anthropic::decode_messages_response(bytes),
            ProviderKind::Gemini => gemini::decode_generate_response(bytes),
        }
        .inspect_err(|e| self.log_bad_body(e))?;
        if resp.created == 0 {
            resp.created = unix_now();
        }
        Ok(resp)
    }

    /// A streamed chat call. Returns once the upstream has produced its first event, so
    /// a failure before any output is still an ordinary error the caller can answer
    /// with a status code (or fail over from).
    pub async fn chat_stream(
        &self,
        req: &ChatRequest,
        upstream_model: &str,
    ) -> Result<EventStream, ApiError> {
        let body = encode_chat(self.kind(), req, upstream_model)?;
        let uri = self.chat_target(upstream_model, true)?;
        // The deadline covers the whole stream: `EventStream` applies it to every read.
        let deadline = Instant::now() + self.settings.request_timeout;
        let opened = async {
            if let Some(lean) = self.lean.as_ref().filter(|lean| lean.serves(&uri)) {
                return self
                    .open_lean(lean, &uri, &body)
                    .await
                    .map(UpstreamBody::Lean);
            }
            let response = self.send(uri, body).await?;
            Ok(UpstreamBody::Hyper(response.into_body()))
        };
        let body = timeout_at(deadline, opened)
            .await
            .unwrap_or_else(|_| Err(self.timed_out()))?;
        let decoder: Box<dyn StreamDecoder> = match self.kind() {
            ProviderKind::OpenAi => Box::new(openai::ChatStreamDecoder::new()),
            ProviderKind::Anthropic => Box::new(anthropic::MessagesStreamDecoder::new()),
            ProviderKind::Gemini => Box::new(gemini::GenerateStreamDecoder::new()),
        };
        let normalize = self.kind() != ProviderKind::OpenAi;
        let mut stream = EventStream::new(
            body,
            deadline,
            decoder,
            self.settings.name.clone(),
            normalize,
        );
        stream.prime().await?;
        Ok(stream)
    }

    /// An embeddings call.
    pub async fn embed(
        &self,
        req: &EmbeddingRequest,
        upstream_model: &str,
    ) -> Result<EmbeddingResponse, ApiError> {
        let Some(url) = embeddings_url(self.kind(), &self.settings.base_url, upstream_model) else {
            return Err(ApiError::invalid(
                "model",
                "This model's provider does not offer embeddings.",
            )
            .with_code("embeddings_not_supported"));
        };
        let body = match self.kind() {
            ProviderKind::Gemini => gemini::encode_embed_request(req, upstream_model)?,
            _ => openai::encode_embedding_request(req, upstream_model)?,
        };
        let bytes = self.post(model_uri(url)?, body).await?;
        let decoded = match self.kind() {
            ProviderKind::Gemini => {
                let texts: Vec<String> = req
                    .input
                    .iter()
                    .map(|i| match i {
                        EmbeddingInput::Text(t) => t.clone(),
                        EmbeddingInput::Tokens(_) => String::new(),
                    })
                    .collect();
                gemini::decode_embed_response(&bytes, &texts)
            }
            _ => openai::decode_embedding_response(&bytes),
        };
        decoded.inspect_err(|e| self.log_bad_body(e))
    }

    /// Where a chat call goes: the URL parsed at start, or for Gemini the one naming
    /// the model.
    fn chat_target(&self, upstream_model: &str, stream: bool) -> Result<Uri, ApiError> {
        if let Some(uri) = &self.chat_uri {
            return Ok(uri.clone());
        }
        model_uri(chat_url(
            self.kind(),
            &self.settings.base_url,
            upstream_model,
            stream,
        ))
    }

    /// POSTs and returns the body of a successful answer, all within `request_timeout`.
    async fn post(&self, uri: Uri, body: Vec<u8>) -> Result<Bytes, ApiError> {
        let call = async {
            if let Some(lean) = self.lean.as_ref().filter(|lean| lean.serves(&uri)) {
                return self.post_lean(lean, &uri, &body).await;
            }
            let response = self.send(uri, body).await?;
            match response.into_body().collect().await {
                Ok(body) => Ok(body.to_bytes()),
                Err(e) => {
                    tracing::warn!(provider = %self.settings.name, error = %Chain(&e), "upstream body read failed");
                    Err(transport::body_error(&e))
                }
            }
        };
        timeout(self.settings.request_timeout, call)
            .await
            .unwrap_or_else(|_| Err(self.timed_out()))
    }

    /// [`post`](Self::post) through the lean client.
    async fn post_lean(&self, lean: &H1Client, uri: &Uri, body: &[u8]) -> Result<Bytes, ApiError> {
        let response = lean
            .post(uri, body)
            .await
            .map_err(|e| self.lean_error(&e))?;
        if (200..300).contains(&response.status) {
            return Ok(response.body);
        }
        Err(self.error_answer(response.status, &response.body, response.retry_after))
    }

    /// A streamed call through the lean client, up to a successful answer's head.
    async fn open_lean(
        &self,
        lean: &H1Client,
        uri: &Uri,
        body: &[u8],
    ) -> Result<LeanBody, ApiError> {
        let opened = lean
            .open(uri, body)
            .await
            .map_err(|e| self.lean_error(&e))?;
        if (200..300).contains(&opened.status) {
            return Ok(opened.body);
        }
        let body = opened.body.read_to_end().await.unwrap_or_default();
        Err(self.error_answer(opened.status, &body, opened.retry_after))
    }

    fn lean_error(&self, e: &H1Error) -> ApiError {
        tracing::warn!(provider = %self.settings.name, error = %Chain(e), "upstream transport error");
        if e.is_timeout() {
            transport::timed_out()
        } else if e.is_connect() {
            transport::unreachable()
        } else {
            transport::connection_failed()
        }
    }

    /// POSTs and returns the response once its status is known to be a success;
    /// an error status is read and decoded in the provider's error format. The caller
    /// bounds it in time.
    async fn send(&self, uri: Uri, body: Vec<u8>) -> Result<Response<Incoming>, ApiError> {
        let response = self.http.request(self.request(uri, body)).await.map_err(|e| {
            tracing::warn!(provider = %self.settings.name, error = %Chain(&e), "upstream transport error");
            transport::call_error(&e)
        })?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(response);
        }
        let retry_after = retry_after_seconds(response.headers());
        let body = match response.into_body().collect().await {
            Ok(body) => body.to_bytes(),
            Err(_) => Bytes::new(),
        };
        Err(self.error_answer(status, &body, retry_after))
    }

    /// An upstream's error answer in its provider's format, as an `ApiError`.
    fn error_answer(&self, status: u16, body: &[u8], retry_after: Option<u64>) -> ApiError {
        let err = match self.kind() {
            // OpenAI's codes (`context_length_exceeded`, ...) are the vocabulary OpenAI
            // clients know, so they pass through.
            ProviderKind::OpenAi => openai::decode_error(status, body, retry_after),
            // Other providers' codes would make Morn's codes depend on the route taken;
            // the caller gets Morn's stable code for the class, and the upstream's
            // message.
            ProviderKind::Anthropic => {
                normalize_code(anthropic::decode_error(status, body, retry_after))
            }
            ProviderKind::Gemini => normalize_code(gemini::decode_error(status, body, retry_after)),
        };
        tracing::warn!(provider = %self.settings.name, status, code = %err.code, "upstream returned an error");
        err
    }

    /// The POST with this provider's headers. `Host` is set by the client from the URI.
    fn request(&self, uri: Uri, body: Vec<u8>) -> Request<Full<Bytes>> {
        let mut headers = self.headers.clone();
        headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
        let mut request = Request::new(Full::new(Bytes::from(body)));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = uri;
        *request.headers_mut() = headers;
        request
    }

    fn timed_out(&self) -> ApiError {
        tracing::warn!(provider = %self.settings.name, timeout = ?self.settings.request_timeout, "upstream call timed out");
        transport::timed_out()
    }

    fn log_bad_body(&self, e: &ApiError) {
        tracing::warn!(provider = %self.settings.name, error = %e.message, "upstream body could not be decoded");
    }
}

/// A URL built from config and a model name; a model name that makes it invalid is
/// the request's fault.
fn model_uri(url: String) -> Result<Uri, ApiError> {
    absolute_uri(url).map_err(|_| {
        ApiError::invalid("model", "The model name cannot be used in an upstream URL.")
    })
}

fn normalize_code(err: ApiError) -> ApiError {
    let code = err.kind.default_code();
    err.with_code(code)
}

fn encode_chat(
    kind: ProviderKind,
    req: &ChatRequest,
    upstream_model: &str,
) -> Result<Vec<u8>, ApiError> {
    match kind {
        ProviderKind::OpenAi => openai::encode_chat_request(req, upstream_model),
        ProviderKind::Anthropic => anthropic::encode_messages_request(req, upstream_model),
        ProviderKind::Gemini => gemini::encode_generate_request(req),
    }
}

fn build_headers(settings: &ProviderSettings) -> Result<HeaderMap, String> {
    let mut headers = HeaderMap::new();
    // What reqwest sent by default; kept so upstreams see the same request.
    headers.insert(ACCEPT, HeaderValue::from_static("*/*"));
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(key) = &settings.api_key {
        let (name, value) = match settings.kind {
            ProviderKind::OpenAi => ("authorization", format!("Bearer {}", key.expose())),
            ProviderKind::Anthropic => ("x-api-key", key.expose().to_owned()),
            ProviderKind::Gemini => ("x-goog-api-key", key.expose().to_owned()),
        };
        let mut value = HeaderValue::from_str(&value).map_err(|_| {
            format!(
                "provider {}: the API key is not a valid header value",
                settings.name
            )
        })?;
        value.set_sensitive(true);
        headers.insert(HeaderName::from_static(name), value);
    }
    if settings.kind == ProviderKind::Anthropic {
        headers.insert("anthropic-version", HeaderValue::from_static("2023-06-01"));
    }
    for (name, value) in &settings.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("provider {}: invalid header name {name:?}", settings.name))?;
        let value = HeaderValue::from_str(value).map_err(|_| {
            format!(
                "provider {}: invalid value for header {name}",
                settings.name
            )
        })?;
        headers.insert(name, value);
    }
    Ok(headers)
}

fn retry_after_seconds(headers: &HeaderMap) -> Option<u64> {
    transport::retry_after_secs(headers.get("retry-after")?.as_bytes())
}

pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
