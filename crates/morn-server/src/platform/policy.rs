//! What rate limits and budgets share: who a policy applies to (its scope, checked
//! against the workspace), small field validators, and the usage filter and period of
//! a subject.
//!
//! A scope names something inside the route's workspace: one of its API keys, one of
//! its members, or the workspace itself. Anything else is an `invalid_value` on
//! `scope_id`, with the same answer for a missing id and another tenant's, so the
//! check reveals nothing outside the workspace.

use morn_store::{PolicyScope, Role, UsageFilter};

use super::access::{WsAccess, rank};
use super::error::{PResult, PlatformError};
use crate::state::Shared;

/// Checks `scope` and `scope_id` against the workspace; returns them parsed. For the
/// workspace scope `scope_id` may be left out.
pub async fn resolve_scope(
    state: &Shared,
    access: &WsAccess,
    scope: &str,
    scope_id: Option<&str>,
) -> PResult<(PolicyScope, String)> {
    let scope = PolicyScope::parse(scope)
        .ok_or_else(|| PlatformError::invalid("scope", "Use key, user or workspace."))?;
    let ws = &access.workspace;
    let store = &state.identity.store;
    let id = match (scope, scope_id) {
        (PolicyScope::Workspace, None) => return Ok((scope, ws.id.clone())),
        (_, None) => return Err(PlatformError::MissingField("scope_id".to_owned())),
        (_, Some(id)) => valid_text("scope_id", id, 100)?,
    };
    let ok = match scope {
        PolicyScope::Workspace => id == ws.id,
        PolicyScope::Key => store
            .get_api_key(&id)
            .await?
            .is_some_and(|key| key.workspace_id == ws.id),
        PolicyScope::User => {
            // Organization owners and admins act in every workspace without a
            // membership of their own (see `access.rs`), so they can be limited here.
            let member = store.get_workspace_membership(&ws.id, &id).await?.is_some();
            member
                || store
                    .get_org_membership(&ws.org_id, &id)
                    .await?
                    .is_some_and(|m| rank(m.role) >= rank(Role::Admin))
        }
    };
    if !ok {
        let message = match scope {
            PolicyScope::Key => "No API key with this id in the workspace.",
            PolicyScope::User => "No member with this id in the workspace.",
            PolicyScope::Workspace => "A workspace scope names this workspace.",
        };
        return Err(PlatformError::invalid("scope_id", message));
    }
    Ok((scope, id))
}

/// The ledger rows a policy on `scope`/`scope_id` in the workspace counts.
pub fn usage_filter(
    org_id: &str,
    workspace_id: &str,
    scope: PolicyScope,
    scope_id: &str,
    since: i64,
    until: i64,
) -> UsageFilter {
    let mut filter = UsageFilter {
        org_id: Some(org_id.to_owned()),
        workspace_id: Some(workspace_id.to_owned()),
        since,
        until,
        ..UsageFilter::default()
    };
    match scope {
        PolicyScope::Key => filter.key_id = Some(scope_id.to_owned()),
        PolicyScope::User => filter.user_id = Some(scope_id.to_owned()),
        PolicyScope::Workspace => {}
    }
    filter
}

/// A short identifier-like text: trimmed, 1 to `max` characters, no control
/// characters (which no id or model name has, and which some databases refuse).
pub fn valid_text(param: &'static str, text: &str, max: usize) -> PResult<String> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > max || text.chars().any(char::is_control) {
        return Err(PlatformError::invalid(
            param,
            format!("1 to {max} characters, without control characters."),
        ));
    }
    Ok(text.to_owned())
}

/// A positive limit.
pub fn positive(param: &'static str, value: i64) -> PResult<i64> {
    if value > 0 {
        Ok(value)
    } else {
        Err(PlatformError::invalid(param, "A positive integer."))
    }
}

/// Whether an id from a path can name a row at all: a lookup with a control
/// character in it would fail in some databases instead of finding nothing.
pub fn plausible_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 100 && !id.chars().any(char::is_control)
}

/// Deserialises a field that may be absent (outer `None`), `null` (inner `None`) or
/// set, for PATCH bodies where `null` clears.
pub fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}
