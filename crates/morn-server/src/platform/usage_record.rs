//! One request's usage record: `GET /workspaces/{ws}/usage/records/{id}`.
//!
//! `{id}` is Morn's request id, which every answer carries: in `x-request-id`, or in
//! `x-morn-request-id` when the caller sent its own `x-request-id` (kept in the record
//! as `client_request_id`). The ledger stores records in batches, so a record shows up
//! here within the flush interval (`metering.ledger_flush_ms`, 200 ms by default) of
//! its request's end; until then the answer is 404. A record of another workspace is
//! 404 too, as if it did not exist.

use axum::Json;
use axum::extract::{Path, State};
use morn_store::UsageRecord;
use serde_json::{Value, json};

use super::access::WsAccess;
use super::error::{PResult, PlatformError};
use super::policy::plausible_id;
use super::report::usd;
use crate::state::Shared;

/// `GET /workspaces/{ws}/usage/records/{id}`.
pub async fn get(
    State(state): State<Shared>,
    access: WsAccess,
    Path((_, id)): Path<(String, String)>,
) -> PResult<Json<Value>> {
    let not_found = || PlatformError::NotFound("usage record");
    if !plausible_id(&id) {
        return Err(not_found());
    }
    let record = state
        .identity
        .store
        .get_usage(&id)
        .await?
        .filter(|r| r.workspace_id.as_deref() == Some(access.workspace.id.as_str()))
        .ok_or_else(not_found)?;
    view(record).map(Json)
}

/// The record as stored, with its type and the cost as USD text for people (the
/// integer micro-units stay the figure to add up).
fn view(record: UsageRecord) -> PResult<Value> {
    let cost_usd = usd(record.cost_micros);
    let mut value = serde_json::to_value(record).map_err(PlatformError::internal)?;
    value["object"] = json!("usage_record");
    value["cost_usd"] = json!(cost_usd);
    Ok(value)
}
