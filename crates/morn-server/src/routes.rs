//! The route table: every path Morn serves and the handler behind it.

use axum::Router;
use axum::extract::{OriginalUri, Request};
use axum::middleware;
use axum::response::Response;
use axum::routing::{get, post};
use morn_protocol::{ApiError, ErrorKind};

use crate::auth;
use crate::dialect::Dialect;
use crate::handlers::{admin, health, metrics, openai};
use crate::state::Shared;

/// Builds the router behind the front door (`crate::front`), which gives every
/// request its id and serves the model calls (`POST /v1/chat/completions`,
/// `/v1/messages`, `/v1/embeddings`) itself.
pub(crate) fn router(state: Shared) -> Router {
    // Flat paths with the key check as a route layer: no nested router to strip
    // prefixes.
    let v1 = Router::new()
        .route("/v1/models", get(openai::list_models))
        .route("/v1/models/{id}", get(openai::get_model))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_key,
        ));
    let admin = Router::new()
        .route("/admin/deployments", get(admin::deployments))
        .route("/admin/reload", post(admin::reload))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_key,
        ));
    // The platform API authenticates per handler (user tokens or the master key).
    let api = Router::new()
        .merge(admin)
        .merge(crate::platform::routes())
        .fallback(unknown_route)
        .method_not_allowed_fallback(unknown_route);
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::metrics))
        .merge(v1)
        .nest("/api/v1", api)
        .fallback(unknown_route)
        .method_not_allowed_fallback(unknown_route)
        .with_state(state)
}

/// Unknown paths and methods: 404 in the caller's dialect.
async fn unknown_route(OriginalUri(uri): OriginalUri, request: Request) -> Response {
    let path = uri.path().to_owned();
    Dialect::detect(&path, request.headers()).error(
        &ApiError::new(
            ErrorKind::NotFound,
            format!("Unknown route: {} {path}", request.method()),
        )
        .with_code("unknown_route"),
    )
}
