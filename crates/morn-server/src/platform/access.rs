//! Who is calling and what they may touch, as extractors.
//!
//! [`Caller`] authenticates: `Authorization: Bearer <access token>` (a user, whose
//! session must still be live: revoking a session stops its access tokens at once, and
//! who must still be active: deactivating a user stops them at once too) or the master
//! key (the `system` actor, owner of everything).
//!
//! [`WsAccess`], [`OrgAccess`] and [`UserAccess`] authorize against the route's
//! [`Rule`](super::routes::Rule), which the route table attaches to every route, so the
//! minimum role lives in one place. Order of checks: the resource must exist and the
//! caller must belong to it, else 404 (existence is hidden from outsiders); then the
//! caller's role must reach the minimum, else 403.
//!
//! A workspace role is the higher of the workspace membership and the organization
//! role when that is owner or admin (organization admins administer every workspace).

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use morn_store::{Organization, Role, User, Workspace};
use std::collections::HashMap;

use super::error::{PResult, PlatformError};
use super::extract::{Meta, now_ms};
use super::routes::{Rule, Scope};
use crate::state::Shared;

/// The authenticated caller of a platform endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    User {
        user_id: String,
        session_id: String,
    },
    /// The master key: a super-admin with no user behind it.
    Master,
}

impl Caller {
    /// `(actor_type, actor_id)` for the audit trail.
    pub fn actor(&self) -> (&'static str, &str) {
        match self {
            Self::User { user_id, .. } => ("user", user_id),
            Self::Master => ("system", "master"),
        }
    }

    pub fn user_id(&self) -> Option<&str> {
        match self {
            Self::User { user_id, .. } => Some(user_id),
            Self::Master => None,
        }
    }

    /// The caller's user id, or 403 for the master key (which has no account).
    pub fn require_user(&self) -> PResult<(&str, &str)> {
        match self {
            Self::User {
                user_id,
                session_id,
            } => Ok((user_id, session_id)),
            Self::Master => Err(PlatformError::Forbidden(
                "The master key has no user account; sign in as a user.",
            )),
        }
    }
}

impl FromRequestParts<Shared> for Caller {
    type Rejection = PlatformError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> PResult<Self> {
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        let token = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(PlatformError::Unauthenticated(
                "Missing credentials. Send `Authorization: Bearer <access token>`.",
            ))?;
        let caller = authenticate(state, token).await?;
        parts.extensions.insert(caller.clone());
        Ok(caller)
    }
}

async fn authenticate(state: &Shared, token: &str) -> PResult<Caller> {
    if constant_time_eq(token.as_bytes(), state.auth.master_key.expose().as_bytes()) {
        return Ok(Caller::Master);
    }
    let now = now_ms();
    let claims = state.identity.jwt.verify(token, now / 1000)?;
    // Two indexed lookups per call, run concurrently so they cost one round trip of
    // latency: a revoked or signed-out session, or a deactivated user, loses its access
    // tokens at once instead of when they expire. The platform API is not the hot path;
    // a cache here would delay both by its refresh interval.
    let store = &state.identity.store;
    let (sessions, user) = tokio::try_join!(
        store.list_sessions(&claims.sub, now),
        store.get_user(&claims.sub)
    )?;
    if !user.is_some_and(|u| u.is_active) {
        return Err(PlatformError::Unauthenticated(
            "This account is deactivated.",
        ));
    }
    if !sessions.iter().any(|s| s.family_id == claims.sid) {
        return Err(PlatformError::Unauthenticated("This session has ended."));
    }
    Ok(Caller::User {
        user_id: claims.sub,
        session_id: claims.sid,
    })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Orders roles: owner > admin > member > viewer.
pub fn rank(role: Role) -> u8 {
    match role {
        Role::Owner => 3,
        Role::Admin => 2,
        Role::Member => 1,
        Role::Viewer => 0,
    }
}

fn rule(parts: &Parts, expected: Scope) -> PResult<Rule> {
    match parts.extensions.get::<Rule>() {
        Some(rule) if rule.scope == expected => Ok(*rule),
        _ => Err(PlatformError::internal(format!(
            "route {} has no {expected:?} rule",
            parts.uri.path()
        ))),
    }
}

fn check(role: Role, rule: Rule) -> PResult<()> {
    match rule.min_role {
        Some(min) if rank(role) < rank(min) => Err(PlatformError::Forbidden(
            "Your role does not allow this action.",
        )),
        _ => Ok(()),
    }
}

async fn param(parts: &mut Parts, state: &Shared, name: &str) -> PResult<String> {
    let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
        .await
        .map_err(|e| PlatformError::internal(e.body_text()))?;
    params
        .get(name)
        .cloned()
        .ok_or_else(|| PlatformError::internal(format!("route lacks {{{name}}}")))
}

/// A caller allowed into the workspace named by `{ws}` with at least the route's role.
#[derive(Debug, Clone)]
pub struct WsAccess {
    pub caller: Caller,
    pub role: Role,
    pub workspace: Workspace,
    pub meta: Meta,
}

impl FromRequestParts<Shared> for WsAccess {
    type Rejection = PlatformError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> PResult<Self> {
        let rule = rule(parts, Scope::Workspace)?;
        let caller = Caller::from_request_parts(parts, state).await?;
        let ws_id = param(parts, state, "ws").await?;
        let store = &state.identity.store;
        let missing = || PlatformError::NotFound("workspace");
        let workspace = store.get_workspace(&ws_id).await?.ok_or_else(missing)?;
        let role = match caller.user_id() {
            None => Role::Owner,
            Some(user) => {
                let ws_role = store
                    .get_workspace_membership(&workspace.id, user)
                    .await?
                    .map(|m| m.role);
                let org_role = store
                    .get_org_membership(&workspace.org_id, user)
                    .await?
                    .map(|m| m.role)
                    .filter(|r| rank(*r) >= rank(Role::Admin));
                [ws_role, org_role]
                    .into_iter()
                    .flatten()
                    .max_by_key(|r| rank(*r))
                    .ok_or_else(missing)?
            }
        };
        check(role, rule)?;
        let Ok(meta) = Meta::from_request_parts(parts, state).await;
        Ok(Self {
            caller,
            role,
            workspace,
            meta,
        })
    }
}

/// A caller allowed into the organization named by `{org}` with at least the route's
/// role.
#[derive(Debug, Clone)]
pub struct OrgAccess {
    pub caller: Caller,
    pub role: Role,
    pub org: Organization,
    pub meta: Meta,
}

impl FromRequestParts<Shared> for OrgAccess {
    type Rejection = PlatformError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> PResult<Self> {
        let rule = rule(parts, Scope::Org)?;
        let caller = Caller::from_request_parts(parts, state).await?;
        let org_id = param(parts, state, "org").await?;
        let store = &state.identity.store;
        let missing = || PlatformError::NotFound("organization");
        let org = store.get_org(&org_id).await?.ok_or_else(missing)?;
        let role = match caller.user_id() {
            None => Role::Owner,
            Some(user) => {
                let membership = store.get_org_membership(&org.id, user).await?;
                membership.ok_or_else(missing)?.role
            }
        };
        check(role, rule)?;
        let Ok(meta) = Meta::from_request_parts(parts, state).await;
        Ok(Self {
            caller,
            role,
            org,
            meta,
        })
    }
}

/// A caller allowed to administer the user named by `{id}`: the master key, or an
/// owner or admin (the route's role) of an organization the user belongs to. A caller
/// sharing no organization with the user gets 404.
#[derive(Debug, Clone)]
pub struct UserAccess {
    pub caller: Caller,
    pub target: User,
    /// An organization through which access was granted (for the audit trail).
    pub org_id: Option<String>,
    pub meta: Meta,
}

impl FromRequestParts<Shared> for UserAccess {
    type Rejection = PlatformError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> PResult<Self> {
        let rule = rule(parts, Scope::TargetUser)?;
        let caller = Caller::from_request_parts(parts, state).await?;
        let user_id = param(parts, state, "id").await?;
        let store = &state.identity.store;
        let missing = || PlatformError::NotFound("user");
        let target = store.get_user(&user_id).await?.ok_or_else(missing)?;
        let target_orgs = store.list_user_orgs(&target.id).await?;
        let org_id = match caller.user_id() {
            None => target_orgs.first().map(|o| o.org.id.clone()),
            Some(me) => {
                let mine = store.list_user_orgs(me).await?;
                let shared = mine
                    .iter()
                    .filter(|m| target_orgs.iter().any(|t| t.org.id == m.org.id))
                    .max_by_key(|m| rank(m.role))
                    .ok_or_else(missing)?;
                check(shared.role, rule)?;
                Some(shared.org.id.clone())
            }
        };
        let Ok(meta) = Meta::from_request_parts(parts, state).await;
        Ok(Self {
            caller,
            target,
            org_id,
            meta,
        })
    }
}
