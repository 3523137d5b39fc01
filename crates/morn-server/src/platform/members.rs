//! Workspace members, users created by organization admins, and password resets.
//!
//! Admins manage members and viewers; only owners grant, change or remove the admin
//! and owner roles. Nobody demotes or removes a workspace's last owner: the store
//! refuses it atomically and the answer is `409 last_owner`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use morn_store::{OrgMembership, Role, StoreError, UserPatch, WorkspaceMembership};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::access::{OrgAccess, UserAccess, WsAccess, rank};
use super::audit::{Entry, record};
use super::error::{PResult, PlatformError};
use super::extract::{Body, List, ListQuery, Query, now_ms};
use super::users::{UserView, hash_password, new_user};
use crate::state::Shared;

#[derive(Debug, Serialize)]
pub struct MemberView {
    object: &'static str,
    user_id: String,
    email: Option<String>,
    name: Option<String>,
    role: Role,
    created_at: i64,
}

/// A platform error, or the one code of this module: `409 last_owner`. Kept here
/// because only membership writes can produce it.
#[derive(Debug)]
pub enum MemberError {
    Platform(PlatformError),
    LastOwner,
}

impl From<PlatformError> for MemberError {
    fn from(err: PlatformError) -> Self {
        Self::Platform(err)
    }
}

impl From<StoreError> for MemberError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Conflict { what: "last owner" } => Self::LastOwner,
            other => Self::Platform(other.into()),
        }
    }
}

impl IntoResponse for MemberError {
    fn into_response(self) -> Response {
        match self {
            Self::Platform(err) => err.into_response(),
            // The platform error shape, with its own stable code.
            Self::LastOwner => {
                let body = json!({"error": {
                    "message": "This is the last owner; make someone else an owner first.",
                    "code": "last_owner",
                    "type": "conflict_error",
                    "param": null,
                }});
                (StatusCode::CONFLICT, Json(body)).into_response()
            }
        }
    }
}

/// Only owners touch the owner and admin roles.
fn may_manage(caller_role: Role, role: Role) -> PResult<()> {
    if rank(role) >= rank(Role::Admin) && caller_role != Role::Owner {
        return Err(PlatformError::Forbidden(
            "Only owners manage owners and admins.",
        ));
    }
    Ok(())
}

async fn view(state: &Shared, m: WorkspaceMembership) -> PResult<MemberView> {
    let user = state.identity.store.get_user(&m.user_id).await?;
    Ok(MemberView {
        object: "workspace_member",
        email: user.as_ref().map(|u| u.email.clone()),
        name: user.map(|u| u.name),
        user_id: m.user_id,
        role: m.role,
        created_at: m.created_at,
    })
}

/// `GET /workspaces/{ws}/members`.
pub async fn list(
    State(state): State<Shared>,
    access: WsAccess,
    Query(q): Query<ListQuery>,
) -> PResult<Json<List<MemberView>>> {
    let page = state
        .identity
        .store
        .list_workspace_members(&access.workspace.id, q.page())
        .await?;
    let mut data = Vec::with_capacity(page.data.len());
    for m in page.data {
        data.push(view(&state, m).await?);
    }
    Ok(Json(List {
        object: "list",
        data,
        next_after: page.next_after,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    email: String,
    role: Role,
}

/// `POST /workspaces/{ws}/members`: adds an existing user (and makes them a member of
/// the organization if they were not).
pub async fn add(
    State(state): State<Shared>,
    access: WsAccess,
    Body(body): Body<NewMember>,
) -> PResult<(StatusCode, Json<MemberView>)> {
    may_manage(access.role, body.role)?;
    let store = &state.identity.store;
    let user = store
        .get_user_by_email(body.email.trim())
        .await?
        .ok_or(PlatformError::NotFound("user"))?;
    let ws = &access.workspace;
    if store
        .get_workspace_membership(&ws.id, &user.id)
        .await?
        .is_some()
    {
        return Err(PlatformError::Conflict(
            "This user is already a member.".to_owned(),
        ));
    }
    let now = now_ms();
    if store
        .get_org_membership(&ws.org_id, &user.id)
        .await?
        .is_none()
    {
        let org_member = OrgMembership {
            org_id: ws.org_id.clone(),
            user_id: user.id.clone(),
            role: Role::Member,
            created_at: now,
        };
        store.upsert_org_membership(&org_member).await?;
    }
    let membership = WorkspaceMembership {
        workspace_id: ws.id.clone(),
        user_id: user.id.clone(),
        role: body.role,
        created_at: now,
    };
    store.upsert_workspace_membership(&membership).await?;
    audit(&state, &access, "member.add", &user.id, body.role).await;
    Ok((StatusCode::CREATED, Json(view(&state, membership).await?)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleChange {
    role: Role,
}

/// `PATCH /workspaces/{ws}/members/{user_id}`.
pub async fn update(
    State(state): State<Shared>,
    access: WsAccess,
    Path((_, user_id)): Path<(String, String)>,
    Body(body): Body<RoleChange>,
) -> Result<Json<MemberView>, MemberError> {
    let mut membership = find(&state, &access, &user_id).await?;
    may_manage(access.role, membership.role)?;
    may_manage(access.role, body.role)?;
    membership.role = body.role;
    state
        .identity
        .store
        .upsert_workspace_membership(&membership)
        .await?;
    audit(&state, &access, "member.update", &user_id, body.role).await;
    Ok(Json(view(&state, membership).await?))
}

/// `DELETE /workspaces/{ws}/members/{user_id}`.
pub async fn remove(
    State(state): State<Shared>,
    access: WsAccess,
    Path((_, user_id)): Path<(String, String)>,
) -> Result<StatusCode, MemberError> {
    let membership = find(&state, &access, &user_id).await?;
    may_manage(access.role, membership.role)?;
    let store = &state.identity.store;
    store
        .remove_workspace_membership(&access.workspace.id, &user_id)
        .await?;
    audit(&state, &access, "member.remove", &user_id, membership.role).await;
    Ok(StatusCode::NO_CONTENT)
}

async fn find(state: &Shared, access: &WsAccess, user_id: &str) -> PResult<WorkspaceMembership> {
    state
        .identity
        .store
        .get_workspace_membership(&access.workspace.id, user_id)
        .await?
        .ok_or(PlatformError::NotFound("member"))
}

async fn audit(state: &Shared, access: &WsAccess, action: &'static str, user: &str, role: Role) {
    let entry = Entry::new(&access.caller, action, "user")
        .workspace(&access.workspace.id)
        .target(user)
        .details(json!({"role": role}));
    record(state, &access.workspace.org_id, &access.meta, entry).await;
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    email: String,
    password: String,
    name: String,
    role: Role,
}

#[derive(Debug, Serialize)]
pub struct OrgUserView {
    #[serde(flatten)]
    user: UserView,
    role: Role,
}

/// `POST /orgs/{org}/users`: creates a user and adds them to the organization.
pub async fn create_user(
    State(state): State<Shared>,
    access: OrgAccess,
    Body(body): Body<NewUser>,
) -> PResult<(StatusCode, Json<OrgUserView>)> {
    may_manage(access.role, body.role)?;
    let user = new_user(&state, &body.email, &body.name, body.password).await?;
    let membership = OrgMembership {
        org_id: access.org.id.clone(),
        user_id: user.id.clone(),
        role: body.role,
        created_at: user.created_at,
    };
    state
        .identity
        .store
        .upsert_org_membership(&membership)
        .await?;
    let entry = Entry::new(&access.caller, "user.create", "user")
        .target(&user.id)
        .details(json!({"email": user.email, "role": body.role}));
    record(&state, &access.org.id, &access.meta, entry).await;
    let view = OrgUserView {
        user: user.into(),
        role: body.role,
    };
    Ok((StatusCode::CREATED, Json(view)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetBody {
    new_password: String,
}

/// `POST /users/{id}/password`: an organization admin sets a user's password; every
/// session of that user ends.
pub async fn reset_password(
    State(state): State<Shared>,
    access: UserAccess,
    Body(body): Body<ResetBody>,
) -> PResult<StatusCode> {
    let hash = hash_password(body.new_password).await?;
    let now = now_ms();
    let store = &state.identity.store;
    let patch = UserPatch {
        name: None,
        password_hash: Some(Some(hash)),
        is_active: None,
        updated_at: now,
    };
    store.update_user(&access.target.id, &patch).await?;
    store.revoke_user_sessions(&access.target.id, now).await?;
    if let Some(org_id) = &access.org_id {
        let entry =
            Entry::new(&access.caller, "user.password_reset", "user").target(&access.target.id);
        record(&state, org_id, &access.meta, entry).await;
    }
    Ok(StatusCode::NO_CONTENT)
}
