//! The front door: the one service every request goes through, from the lean HTTP/1.1
//! loop (`h1/`) or from hyper.
//!
//! It gives each request its id and span (and writes the access line), then serves
//! the three model-call routes (`POST /v1/chat/completions`, `/v1/messages`,
//! `/v1/embeddings`) directly: key check, then the handler, with no router lookup,
//! middleware boxing or extension map in between. Everything else goes to the axum
//! router. The model calls are nearly all of a gateway's traffic, and the generic
//! path cost several allocations and dynamic calls per request (measured in the load
//! benchmark, bench/README.md).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::http::Method;
use axum::response::Response;
use tower::Service;
use tracing::Instrument;

use crate::dialect::Dialect;
use crate::handlers::{anthropic, openai};
use crate::request_id::Tagged;
use crate::state::{AppState, Shared};

/// The application: the front door in front of the router. Cheap to clone (one per
/// connection).
#[derive(Clone)]
pub struct App {
    state: Shared,
    router: Router,
}

/// Builds the application.
pub fn app(state: AppState) -> App {
    let state: Shared = Arc::new(state);
    App {
        router: crate::routes::router(state.clone()),
        state,
    }
}

/// A request being served: its answer, when it is ready.
pub(crate) type Served = Pin<Box<dyn Future<Output = Response> + Send>>;

/// The routes the front door serves itself.
#[derive(Clone, Copy)]
enum Direct {
    Chat,
    Messages,
    Embeddings,
}

impl Direct {
    fn for_request(method: &Method, path: &str) -> Option<Self> {
        if method != Method::POST {
            return None;
        }
        match path {
            "/v1/chat/completions" => Some(Self::Chat),
            "/v1/messages" => Some(Self::Messages),
            "/v1/embeddings" => Some(Self::Embeddings),
            _ => None,
        }
    }
}

impl App {
    /// Serves one request from `peer`: the front door as the connection loops
    /// (`h1/`) call it. The peer address reaches routed handlers as axum's
    /// `ConnectInfo` (audit log, sessions); model calls do not need it.
    pub(crate) fn serve(&self, mut request: Request, peer: Option<SocketAddr>) -> Served {
        let tagged = Tagged::new(&request);
        let span = tagged.span.clone();
        // Boxed where it is made: the handler futures are large, and every move of an
        // unboxed one (into a wrapper, into the connection's future) is a memcpy of
        // kilobytes per request.
        match Direct::for_request(request.method(), request.uri().path()) {
            Some(route) => {
                Box::pin(direct(self.state.clone(), route, tagged, request).instrument(span))
            }
            None => {
                if let Some(peer) = peer {
                    request.extensions_mut().insert(ConnectInfo(peer));
                }
                Box::pin(routed(self.router.clone(), tagged, request).instrument(span))
            }
        }
    }

    /// Largest request body accepted, in bytes.
    pub(crate) fn max_body_bytes(&self) -> usize {
        self.state.max_body_bytes
    }
}

impl Service<Request> for App {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let served = self.serve(request, None);
        Box::pin(async move {
            let mut response = served.await;
            // hyper writes the head from the header map only.
            crate::dialect::rate_headers_into_map(&mut response);
            Ok(response)
        })
    }
}

/// A model call: key check, then the handler.
async fn direct(state: Shared, route: Direct, tagged: Tagged, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let mut response = match crate::auth::admit(&state, parts.uri.path(), &parts.headers) {
        Err(err) => Dialect::detect(parts.uri.path(), &parts.headers).error(&err),
        Ok(principal) => {
            let info = tagged.info.clone();
            match route {
                Direct::Chat => {
                    let span = tagged.span.clone();
                    openai::chat_completions(state, span, principal, info, body).await
                }
                Direct::Messages => {
                    let span = tagged.span.clone();
                    anthropic::messages(state, span, principal, info, body).await
                }
                Direct::Embeddings => openai::embeddings(state, principal, info, body).await,
            }
        }
    };
    tagged.finish(&mut response);
    response
}

/// Anything else: through the router, with the id and span as request extensions.
async fn routed(mut router: Router, tagged: Tagged, mut request: Request) -> Response {
    request.extensions_mut().insert(tagged.span.clone());
    request.extensions_mut().insert(tagged.info.clone());
    let mut response = match router.call(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    tagged.finish(&mut response);
    response
}
