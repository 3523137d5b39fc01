//! `GET /metrics`: Prometheus text exposition of request, token, cost, limiter, budget
//! and ledger metrics. Unauthenticated like the health probes: it carries counts per
//! model, never keys, tenants or prompts.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::state::Shared;

pub async fn metrics(State(state): State<Shared>) -> Response {
    let body = state.meter.metrics.render(&state.meter.ledger.stats());
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}
