//! The audit trail: every administrative action appends an event (who, what, to
//! what, from where), and `GET /orgs/{org}/audit` reads it back for owners and admins.
//!
//! Events belong to an organization. Account events (password change, failed
//! sign-in, refresh-token reuse, sign-out of a session) are written to each
//! organization the user belongs to; a failed sign-in for an unknown email has no
//! organization and is only logged. Details never carry secrets.
//!
//! Writing an event happens after the action succeeded; if the write fails the action
//! stands and the failure is logged (the caller cannot undo it by retrying).

use axum::Json;
use axum::extract::State;
use morn_store::{AuditEvent, AuditFilter, Page};
use serde::Deserialize;
use serde_json::Value;

use super::access::{Caller, OrgAccess};
use super::error::PResult;
use super::extract::{List, Meta, Query, new_id, now_ms};
use crate::state::Shared;

/// One event to append.
pub struct Entry<'a> {
    pub workspace_id: Option<&'a str>,
    pub actor: (&'a str, &'a str),
    /// Dotted verb such as `api_key.create`.
    pub action: &'static str,
    pub target_type: &'static str,
    pub target_id: Option<&'a str>,
    pub details: Value,
}

impl<'a> Entry<'a> {
    pub fn new(caller: &'a Caller, action: &'static str, target_type: &'static str) -> Self {
        Self::new_actor(caller.actor(), action, target_type)
    }

    /// An event whose actor is not the request's caller (sign-in failures, token
    /// reuse: the request carries no credentials).
    pub fn new_actor(
        actor: (&'a str, &'a str),
        action: &'static str,
        target_type: &'static str,
    ) -> Self {
        Self {
            workspace_id: None,
            actor,
            action,
            target_type,
            target_id: None,
            details: Value::Object(Default::default()),
        }
    }

    pub fn workspace(mut self, id: &'a str) -> Self {
        self.workspace_id = Some(id);
        self
    }

    pub fn target(mut self, id: &'a str) -> Self {
        self.target_id = Some(id);
        self
    }

    pub fn details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }
}

/// Appends `entry` to the organization's trail.
pub async fn record(state: &Shared, org_id: &str, meta: &Meta, entry: Entry<'_>) {
    let event = AuditEvent {
        id: new_id(),
        org_id: org_id.to_owned(),
        workspace_id: entry.workspace_id.map(str::to_owned),
        actor_type: entry.actor.0.to_owned(),
        actor_id: entry.actor.1.to_owned(),
        action: entry.action.to_owned(),
        target_type: entry.target_type.to_owned(),
        target_id: entry.target_id.map(str::to_owned),
        ip: meta.ip.clone(),
        user_agent: meta.user_agent.clone(),
        details: entry.details,
        created_at: now_ms(),
    };
    if let Err(err) = state.identity.store.append_audit(&event).await {
        tracing::error!(error = %err, action = event.action, "audit event not written");
    }
}

/// Appends `entry` to every organization `user_id` belongs to.
pub async fn record_for_user(state: &Shared, user_id: &str, meta: &Meta, entry: Entry<'_>) {
    let orgs = match state.identity.store.list_user_orgs(user_id).await {
        Ok(orgs) => orgs,
        Err(err) => {
            tracing::error!(error = %err, action = entry.action, "audit event not written");
            return;
        }
    };
    for membership in orgs {
        record(state, &membership.org.id, meta, entry.clone()).await;
    }
}

impl Clone for Entry<'_> {
    fn clone(&self) -> Self {
        Self {
            details: self.details.clone(),
            ..*self
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    action: Option<String>,
    actor_id: Option<String>,
    workspace_id: Option<String>,
    since: Option<i64>,
    until: Option<i64>,
    limit: Option<u32>,
    after: Option<String>,
}

/// `GET /orgs/{org}/audit`: newest first, filtered.
pub async fn list(
    State(state): State<Shared>,
    access: OrgAccess,
    Query(q): Query<AuditQuery>,
) -> PResult<Json<List<AuditEvent>>> {
    let filter = AuditFilter {
        workspace_id: q.workspace_id,
        actor_id: q.actor_id,
        action: q.action,
        since: q.since,
        until: q.until,
    };
    let page = Page {
        limit: q.limit.unwrap_or(Page::DEFAULT_LIMIT),
        after: q.after.filter(|a| !a.is_empty()),
    };
    let events = state
        .identity
        .store
        .list_audit(&access.org.id, &filter, page)
        .await?;
    Ok(Json(List::map(events, |e| e)))
}
