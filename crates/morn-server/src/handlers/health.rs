//! Liveness and readiness probes.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::state::Shared;

/// `GET /healthz`: the process is up and serving HTTP.
pub async fn healthz() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

/// `GET /readyz`: config is loaded (it is, or the server would not run) and the store
/// answers within a second.
pub async fn readyz(State(state): State<Shared>) -> Response {
    match tokio::time::timeout(Duration::from_secs(1), state.identity.store.ping()).await {
        Ok(Ok(())) => Json(json!({"status": "ready", "checks": {"store": "ok", "config": "ok"}}))
            .into_response(),
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "readiness: store check failed");
            not_ready()
        }
        Err(_) => {
            tracing::warn!("readiness: store check timed out");
            not_ready()
        }
    }
}

fn not_ready() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({"status": "not_ready", "checks": {"store": "unavailable", "config": "ok"}})),
    )
        .into_response()
}
