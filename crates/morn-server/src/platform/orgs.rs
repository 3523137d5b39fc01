//! Organizations and workspaces: `/me`, `/orgs`, `/orgs/{org}`, workspace listing,
//! creation and deletion.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use morn_store::{Organization, Role, Workspace};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::access::{Caller, OrgAccess, WsAccess};
use super::audit::{Entry, record};
use super::error::{PResult, PlatformError};
use super::extract::{Body, List, ListQuery, Query, new_id, now_ms};
use super::users::UserView;
use crate::state::Shared;

#[derive(Debug, Serialize)]
pub struct WithRole<T> {
    #[serde(flatten)]
    item: T,
    role: Role,
}

#[derive(Debug, Serialize)]
pub struct MeView {
    /// `user`, or `system` for the master key.
    actor: &'static str,
    user: Option<UserView>,
    orgs: Vec<WithRole<Organization>>,
    workspaces: Vec<WithRole<Workspace>>,
}

/// `GET /me`: the caller, their organizations and workspaces with their roles.
pub async fn me(State(state): State<Shared>, caller: Caller) -> PResult<Json<MeView>> {
    let Some(user_id) = caller.user_id() else {
        let view = MeView {
            actor: "system",
            user: None,
            orgs: Vec::new(),
            workspaces: Vec::new(),
        };
        return Ok(Json(view));
    };
    let store = &state.identity.store;
    let user = store
        .get_user(user_id)
        .await?
        .ok_or(PlatformError::NotFound("user"))?;
    let orgs = store.list_user_orgs(user_id).await?;
    let workspaces = store.list_user_workspaces(user_id).await?;
    Ok(Json(MeView {
        actor: "user",
        user: Some(user.into()),
        orgs: orgs
            .into_iter()
            .map(|o| WithRole {
                item: o.org,
                role: o.role,
            })
            .collect(),
        workspaces: workspaces
            .into_iter()
            .map(|w| WithRole {
                item: w.workspace,
                role: w.role,
            })
            .collect(),
    }))
}

/// `GET /orgs`: the caller's organizations (every one for the master key).
pub async fn list(
    State(state): State<Shared>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> PResult<Json<List<Organization>>> {
    let store = &state.identity.store;
    match caller.user_id() {
        None => Ok(Json(List::map(store.list_orgs(q.page()).await?, |o| o))),
        Some(user_id) => {
            let orgs = store.list_user_orgs(user_id).await?;
            Ok(Json(List::all(orgs.into_iter().map(|o| o.org).collect())))
        }
    }
}

/// `GET /orgs/{org}`.
pub async fn get(access: OrgAccess) -> Json<WithRole<Organization>> {
    Json(WithRole {
        item: access.org,
        role: access.role,
    })
}

/// `GET /orgs/{org}/workspaces`.
pub async fn list_workspaces(
    State(state): State<Shared>,
    access: OrgAccess,
    Query(q): Query<ListQuery>,
) -> PResult<Json<List<Workspace>>> {
    let page = state
        .identity
        .store
        .list_workspaces(&access.org.id, q.page())
        .await?;
    Ok(Json(List::map(page, |w| w)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewWorkspace {
    name: String,
    slug: Option<String>,
}

/// `POST /orgs/{org}/workspaces`: the creator (a user) becomes its owner.
pub async fn create_workspace(
    State(state): State<Shared>,
    access: OrgAccess,
    Body(body): Body<NewWorkspace>,
) -> PResult<(StatusCode, Json<Workspace>)> {
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(PlatformError::invalid(
            "name",
            "The name must have 1 to 100 characters.",
        ));
    }
    let slug = match body.slug {
        Some(slug) if is_slug(&slug) => slug,
        Some(_) => {
            return Err(PlatformError::invalid(
                "slug",
                "A slug has 1 to 64 lower-case letters, digits and dashes.",
            ));
        }
        None => slugify(name),
    };
    let workspace = Workspace {
        id: new_id(),
        org_id: access.org.id.clone(),
        name: name.to_owned(),
        slug,
        created_at: now_ms(),
    };
    let store = &state.identity.store;
    store.create_workspace(&workspace).await?;
    if let Some(user_id) = access.caller.user_id() {
        let owner = morn_store::WorkspaceMembership {
            workspace_id: workspace.id.clone(),
            user_id: user_id.to_owned(),
            role: Role::Owner,
            created_at: workspace.created_at,
        };
        store.upsert_workspace_membership(&owner).await?;
    }
    let entry = Entry::new(&access.caller, "workspace.create", "workspace")
        .workspace(&workspace.id)
        .target(&workspace.id)
        .details(json!({"name": workspace.name, "slug": workspace.slug}));
    record(&state, &access.org.id, &access.meta, entry).await;
    Ok((StatusCode::CREATED, Json(workspace)))
}

/// `GET /workspaces/{ws}`.
pub async fn get_workspace(access: WsAccess) -> Json<WithRole<Workspace>> {
    Json(WithRole {
        item: access.workspace,
        role: access.role,
    })
}

/// `DELETE /workspaces/{ws}`: with its members, keys, secrets, providers and models.
pub async fn delete_workspace(
    State(state): State<Shared>,
    access: WsAccess,
) -> PResult<StatusCode> {
    let ws = &access.workspace;
    let keys = all_key_ids(&state, &ws.id).await?;
    if !state.identity.store.delete_workspace(&ws.id).await? {
        return Err(PlatformError::NotFound("workspace"));
    }
    for id in keys {
        state.identity.keys.remove_id(&id);
    }
    let entry = Entry::new(&access.caller, "workspace.delete", "workspace")
        .workspace(&ws.id)
        .target(&ws.id)
        .details(json!({"name": ws.name}));
    record(&state, &ws.org_id, &access.meta, entry).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Every key id of a workspace, to drop them from this replica's cache.
async fn all_key_ids(state: &Shared, ws_id: &str) -> PResult<Vec<String>> {
    let mut ids = Vec::new();
    let mut page = morn_store::Page::first(morn_store::Page::MAX_LIMIT);
    loop {
        let batch = state.identity.store.list_api_keys(ws_id, page).await?;
        ids.extend(batch.data.into_iter().map(|k| k.id));
        match batch.next_after {
            Some(after) => page = morn_store::Page::after(morn_store::Page::MAX_LIMIT, after),
            None => return Ok(ids),
        }
    }
}

fn is_slug(slug: &str) -> bool {
    (1..=64).contains(&slug.len())
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Lower-case letters and digits of `name`, dashes between words.
pub fn slugify(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
        if slug.len() >= 40 {
            break;
        }
    }
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        "workspace".to_owned()
    } else {
        slug.to_owned()
    }
}

/// `slugify(name)` plus a random suffix, for installation-wide unique organization
/// slugs without a lookup.
pub fn unique_slug(name: &str) -> String {
    let suffix: String = (0..6)
        .map(|_| fastrand::alphanumeric().to_ascii_lowercase())
        .collect();
    format!("{}-{suffix}", slugify(name))
}
