//! Rate limits as data: `/workspaces/{ws}/limits`. A rule caps requests per minute,
//! tokens per minute and concurrent requests for one key, one member or the whole
//! workspace, on every model together or on one model.
//!
//! Viewers read the rules; admins and owners change them. Every change is audited and
//! applied to this replica's in-memory policies at once.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use morn_store::RateLimitRule;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::access::WsAccess;
use super::audit::{Entry, record};
use super::error::{PResult, PlatformError};
use super::extract::{Body, List, new_id, now_ms};
use super::policy::{double_option, plausible_id, positive, resolve_scope, valid_text};
use crate::state::Shared;

/// A rule as the API shows it.
#[derive(Debug, Serialize)]
pub struct LimitView {
    #[serde(flatten)]
    rule: RateLimitRule,
    object: &'static str,
}

impl From<RateLimitRule> for LimitView {
    fn from(rule: RateLimitRule) -> Self {
        Self {
            rule,
            object: "rate_limit",
        }
    }
}

/// The body of create and update. On update, absent fields stay and `null` clears an
/// optional one (`model`, `rpm`, `tpm`, `max_concurrent`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitBody {
    scope: Option<String>,
    scope_id: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    model: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    rpm: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    tpm: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    max_concurrent: Option<Option<i64>>,
}

/// `GET /workspaces/{ws}/limits`.
pub async fn list(State(state): State<Shared>, access: WsAccess) -> PResult<Json<List<LimitView>>> {
    let rules = state
        .identity
        .store
        .list_rate_limits(&access.workspace.org_id, &access.workspace.id)
        .await?;
    Ok(Json(List::all(rules.into_iter().map(Into::into).collect())))
}

/// `POST /workspaces/{ws}/limits`.
pub async fn create(
    State(state): State<Shared>,
    access: WsAccess,
    Body(body): Body<LimitBody>,
) -> PResult<(StatusCode, Json<LimitView>)> {
    let scope = body
        .scope
        .as_deref()
        .ok_or_else(|| PlatformError::MissingField("scope".to_owned()))?;
    let (scope, scope_id) = resolve_scope(&state, &access, scope, body.scope_id.as_deref()).await?;
    let now = now_ms();
    let mut rule = RateLimitRule {
        id: new_id(),
        org_id: access.workspace.org_id.clone(),
        workspace_id: access.workspace.id.clone(),
        scope,
        scope_id,
        model: None,
        rpm: None,
        tpm: None,
        max_concurrent: None,
        created_at: now,
        updated_at: now,
    };
    apply_limits(&mut rule, &body)?;
    state.identity.store.create_rate_limit(&rule).await?;
    changed(&state, &access, "rate_limit.create", &rule).await;
    Ok((StatusCode::CREATED, Json(rule.into())))
}

/// `GET /workspaces/{ws}/limits/{id}`.
pub async fn get(
    State(state): State<Shared>,
    access: WsAccess,
    Path((_, id)): Path<(String, String)>,
) -> PResult<Json<LimitView>> {
    Ok(Json(find(&state, &access, &id).await?.into()))
}

/// `PATCH /workspaces/{ws}/limits/{id}`.
pub async fn update(
    State(state): State<Shared>,
    access: WsAccess,
    Path((_, id)): Path<(String, String)>,
    Body(body): Body<LimitBody>,
) -> PResult<Json<LimitView>> {
    let mut rule = find(&state, &access, &id).await?;
    if body.scope.is_some() || body.scope_id.is_some() {
        let scope = body.scope.as_deref().unwrap_or(rule.scope.as_str());
        let scope_id = body.scope_id.as_deref().or(
            // Changing only the scope to `workspace` needs no id; for other scopes the
            // old id would name something of another kind.
            (body.scope.is_none()).then_some(rule.scope_id.as_str()),
        );
        (rule.scope, rule.scope_id) = resolve_scope(&state, &access, scope, scope_id).await?;
    }
    apply_limits(&mut rule, &body)?;
    rule.updated_at = now_ms();
    state.identity.store.update_rate_limit(&rule).await?;
    changed(&state, &access, "rate_limit.update", &rule).await;
    Ok(Json(rule.into()))
}

/// `DELETE /workspaces/{ws}/limits/{id}`.
pub async fn delete(
    State(state): State<Shared>,
    access: WsAccess,
    Path((_, id)): Path<(String, String)>,
) -> PResult<StatusCode> {
    let rule = find(&state, &access, &id).await?;
    state
        .identity
        .store
        .delete_rate_limit(&rule.org_id, &rule.id)
        .await?;
    changed(&state, &access, "rate_limit.delete", &rule).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Applies the set limit fields of `body`; at least one limit must remain.
fn apply_limits(rule: &mut RateLimitRule, body: &LimitBody) -> PResult<()> {
    if let Some(model) = &body.model {
        rule.model = model
            .as_deref()
            .map(|m| valid_text("model", m, 200))
            .transpose()?;
    }
    let set = |param, value: Option<Option<i64>>, field: &mut Option<i64>| -> PResult<()> {
        if let Some(value) = value {
            *field = value.map(|v| positive(param, v)).transpose()?;
        }
        Ok(())
    };
    set("rpm", body.rpm, &mut rule.rpm)?;
    set("tpm", body.tpm, &mut rule.tpm)?;
    set(
        "max_concurrent",
        body.max_concurrent,
        &mut rule.max_concurrent,
    )?;
    if rule.rpm.is_none() && rule.tpm.is_none() && rule.max_concurrent.is_none() {
        return Err(PlatformError::InvalidRequest(
            "Set at least one of `rpm`, `tpm` and `max_concurrent`.".to_owned(),
        ));
    }
    Ok(())
}

/// The workspace's rule `id` (404 for another workspace's).
async fn find(state: &Shared, access: &WsAccess, id: &str) -> PResult<RateLimitRule> {
    let missing = PlatformError::NotFound("rate limit");
    if !plausible_id(id) {
        return Err(missing);
    }
    match state
        .identity
        .store
        .get_rate_limit(&access.workspace.org_id, id)
        .await?
    {
        Some(rule) if rule.workspace_id == access.workspace.id => Ok(rule),
        _ => Err(missing),
    }
}

/// Applies a change to this replica's policies, then audits it.
async fn changed(state: &Shared, access: &WsAccess, action: &'static str, rule: &RateLimitRule) {
    crate::metering::policies_changed(state).await;
    let entry = Entry::new(&access.caller, action, "rate_limit")
        .workspace(&rule.workspace_id)
        .target(&rule.id)
        .details(json!({
            "scope": rule.scope,
            "scope_id": rule.scope_id,
            "model": rule.model,
            "rpm": rule.rpm,
            "tpm": rule.tpm,
            "max_concurrent": rule.max_concurrent,
        }));
    record(state, &rule.org_id, &access.meta, entry).await;
}
