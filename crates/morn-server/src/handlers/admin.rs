//! Admin endpoints under `/api/v1/admin`: deployment health and config reload.
//! Errors use the platform shape `{"error": {message, code, type, param}}`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::state::Shared;

/// `GET /api/v1/admin/deployments`: every deployment with its circuit-breaker state,
/// error rate, latency and outstanding requests.
pub async fn deployments(State(state): State<Shared>) -> Response {
    Json(json!({"object": "list", "data": state.gateway.health()})).into_response()
}

/// `POST /api/v1/admin/reload`: re-reads the configuration and swaps the routing
/// table. In-flight requests finish on the table they started with.
pub async fn reload(State(state): State<Shared>) -> Response {
    let Some(hook) = state.reload.clone() else {
        return platform_error(
            StatusCode::CONFLICT,
            "reload_unavailable",
            "This server was started without a configuration file to reload.",
        );
    };
    match tokio::task::spawn_blocking(move || hook()).await {
        Ok(Ok(models)) => Json(json!({"status": "reloaded", "models": models})).into_response(),
        Ok(Err(problems)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"error": {
                "message": "The configuration has problems; the running configuration was kept.",
                "code": "invalid_config",
                "type": "invalid_request_error",
                "param": null,
                "problems": problems,
            }})),
        )
            .into_response(),
        Err(err) => {
            tracing::error!(error = %err, "reload task failed");
            platform_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "The reload failed.",
            )
        }
    }
}

fn platform_error(status: StatusCode, code: &str, message: &str) -> Response {
    let kind = if status.is_server_error() {
        "server_error"
    } else {
        "invalid_request_error"
    };
    (
        status,
        Json(json!({"error": {"message": message, "code": code, "type": kind, "param": null}})),
    )
        .into_response()
}
