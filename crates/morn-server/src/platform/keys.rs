//! Workspace API keys: create (the full key is shown once), list, read, update,
//! rotate with a grace period, revoke.
//!
//! Members manage their own keys; admins and owners every key of the workspace. Every
//! change is applied to this replica's key cache at once; other replicas pick it up
//! with their next refresh (500 ms by default).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use morn_store::{ApiKey, ApiKeyPatch, Role};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::access::{WsAccess, rank};
use super::audit::{Entry, record};
use super::error::{PResult, PlatformError};
use super::extract::{Body, List, ListQuery, Query, new_id, now_ms};
use crate::state::Shared;

const SCOPES: [&str; 4] = ["chat", "embeddings", "models", "*"];
const DAY_MS: i64 = 86_400_000;
/// Longest rotation grace: 30 days.
const MAX_GRACE_SECS: i64 = 30 * 86_400;

/// A key as lists show it; `key` only in create and rotate answers.
#[derive(Debug, Serialize)]
pub struct KeyView {
    id: String,
    object: &'static str,
    workspace_id: String,
    user_id: Option<String>,
    name: String,
    prefix: String,
    scopes: Vec<String>,
    allowed_models: Vec<String>,
    metadata: Value,
    expires_at: Option<i64>,
    disabled: bool,
    last_used_at: Option<i64>,
    created_at: i64,
    revoked_at: Option<i64>,
    rotated_from: Option<String>,
    grace_until: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<String>,
}

impl KeyView {
    fn new(k: ApiKey, secret: Option<String>) -> Self {
        Self {
            id: k.id,
            object: "api_key",
            workspace_id: k.workspace_id,
            user_id: k.user_id,
            name: k.name,
            prefix: k.prefix,
            scopes: k.scopes,
            allowed_models: k.allowed_models,
            metadata: k.metadata,
            expires_at: k.expires_at,
            disabled: k.disabled,
            last_used_at: k.last_used_at,
            created_at: k.created_at,
            revoked_at: k.revoked_at,
            rotated_from: k.rotated_from,
            grace_until: k.grace_until,
            key: secret,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    name: String,
    scopes: Option<Vec<String>>,
    allowed_models: Option<Vec<String>>,
    expires_at: Option<i64>,
    expires_in_days: Option<i64>,
    metadata: Option<Value>,
}

/// `POST /workspaces/{ws}/keys`.
pub async fn create(
    State(state): State<Shared>,
    access: WsAccess,
    Body(body): Body<NewKey>,
) -> PResult<(StatusCode, Json<KeyView>)> {
    let now = now_ms();
    let expires_at = match (body.expires_at, body.expires_in_days) {
        (Some(_), Some(_)) => {
            return Err(PlatformError::InvalidRequest(
                "Give `expires_at` or `expires_in_days`, not both.".to_owned(),
            ));
        }
        (Some(at), None) if at <= now => {
            return Err(PlatformError::invalid(
                "expires_at",
                "`expires_at` is in the past.",
            ));
        }
        (None, Some(days)) if !(1..=3650).contains(&days) => {
            return Err(PlatformError::invalid(
                "expires_in_days",
                "Between 1 and 3650 days.",
            ));
        }
        (at, days) => at.or(days.map(|d| now + d * DAY_MS)),
    };
    let generated = morn_auth::generate_api_key();
    let key = ApiKey {
        id: new_id(),
        workspace_id: access.workspace.id.clone(),
        user_id: access.caller.user_id().map(str::to_owned),
        name: valid_name(&body.name)?,
        prefix: generated.prefix,
        hash: generated.hash,
        scopes: valid_scopes(body.scopes.unwrap_or_default())?,
        allowed_models: body.allowed_models.unwrap_or_default(),
        metadata: valid_metadata(body.metadata)?,
        expires_at,
        disabled: false,
        created_at: now,
        last_used_at: None,
        revoked_at: None,
        rotated_from: None,
        grace_until: None,
    };
    state.identity.store.create_api_key(&key).await?;
    state.identity.keys.put(&key, &access.workspace.org_id);
    audit(&state, &access, "api_key.create", &key).await;
    Ok((
        StatusCode::CREATED,
        Json(KeyView::new(key, Some(generated.key))),
    ))
}

/// `GET /workspaces/{ws}/keys`.
pub async fn list(
    State(state): State<Shared>,
    access: WsAccess,
    Query(q): Query<ListQuery>,
) -> PResult<Json<List<KeyView>>> {
    let page = state
        .identity
        .store
        .list_api_keys(&access.workspace.id, q.page())
        .await?;
    Ok(Json(List::map(page, |k| KeyView::new(k, None))))
}

/// `GET /workspaces/{ws}/keys/{id}`.
pub async fn get(
    State(state): State<Shared>,
    access: WsAccess,
    Path((_, id)): Path<(String, String)>,
) -> PResult<Json<KeyView>> {
    Ok(Json(KeyView::new(find(&state, &access, &id).await?, None)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyUpdate {
    name: Option<String>,
    scopes: Option<Vec<String>>,
    allowed_models: Option<Vec<String>>,
    metadata: Option<Value>,
    /// `null` removes the expiry; absent leaves it.
    #[serde(default, deserialize_with = "double_option")]
    expires_at: Option<Option<i64>>,
    disabled: Option<bool>,
}

fn double_option<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    Option::<i64>::deserialize(d).map(Some)
}

/// `PATCH /workspaces/{ws}/keys/{id}`.
pub async fn update(
    State(state): State<Shared>,
    access: WsAccess,
    Path((_, id)): Path<(String, String)>,
    Body(body): Body<KeyUpdate>,
) -> PResult<Json<KeyView>> {
    let key = find_managed(&state, &access, &id).await?;
    let patch = ApiKeyPatch {
        name: body.name.as_deref().map(valid_name).transpose()?,
        scopes: body.scopes.map(valid_scopes).transpose()?,
        allowed_models: body.allowed_models,
        metadata: body.metadata.map(|m| valid_metadata(Some(m))).transpose()?,
        expires_at: body.expires_at,
        disabled: body.disabled,
    };
    let updated = state.identity.store.update_api_key(&key.id, &patch).await?;
    state.identity.keys.put(&updated, &access.workspace.org_id);
    audit(&state, &access, "api_key.update", &updated).await;
    Ok(Json(KeyView::new(updated, None)))
}

/// `DELETE /workspaces/{ws}/keys/{id}`: revokes at once.
pub async fn revoke(
    State(state): State<Shared>,
    access: WsAccess,
    Path((_, id)): Path<(String, String)>,
) -> PResult<StatusCode> {
    let key = find_managed(&state, &access, &id).await?;
    state
        .identity
        .store
        .revoke_api_key(&key.id, now_ms())
        .await?;
    state.identity.keys.remove_id(&key.id);
    audit(&state, &access, "api_key.revoke", &key).await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateBody {
    /// How long the old key keeps working; 0 (the default) ends it at once.
    grace_secs: Option<i64>,
}

/// `POST /workspaces/{ws}/keys/{id}/rotate`: a new key with the same settings.
pub async fn rotate(
    State(state): State<Shared>,
    access: WsAccess,
    Path((_, id)): Path<(String, String)>,
    Body(body): Body<RotateBody>,
) -> PResult<(StatusCode, Json<KeyView>)> {
    let old = find_managed(&state, &access, &id).await?;
    let grace = body.grace_secs.unwrap_or(0);
    if !(0..=MAX_GRACE_SECS).contains(&grace) {
        return Err(PlatformError::invalid(
            "grace_secs",
            "Between 0 and 2592000 seconds.",
        ));
    }
    let now = now_ms();
    let generated = morn_auth::generate_api_key();
    let new = ApiKey {
        id: new_id(),
        prefix: generated.prefix,
        hash: generated.hash,
        created_at: now,
        last_used_at: None,
        revoked_at: None,
        rotated_from: Some(old.id.clone()),
        grace_until: None,
        ..old.clone()
    };
    let store = &state.identity.store;
    store
        .rotate_api_key(&old.id, now + grace * 1000, &new)
        .await?;
    match store.get_api_key(&old.id).await? {
        Some(old) => state.identity.keys.put(&old, &access.workspace.org_id),
        None => state.identity.keys.remove_id(&old.id),
    }
    state.identity.keys.put(&new, &access.workspace.org_id);
    audit(&state, &access, "api_key.rotate", &new).await;
    Ok((
        StatusCode::CREATED,
        Json(KeyView::new(new, Some(generated.key))),
    ))
}

/// The workspace's key `id` (404 for another workspace's key).
async fn find(state: &Shared, access: &WsAccess, id: &str) -> PResult<ApiKey> {
    match state.identity.store.get_api_key(id).await? {
        Some(key) if key.workspace_id == access.workspace.id => Ok(key),
        _ => Err(PlatformError::NotFound("API key")),
    }
}

/// A live key the caller may change: their own, or any for admins and owners.
async fn find_managed(state: &Shared, access: &WsAccess, id: &str) -> PResult<ApiKey> {
    let key = find(state, access, id).await?;
    let own = key.user_id.is_some() && key.user_id.as_deref() == access.caller.user_id();
    if !own && rank(access.role) < rank(Role::Admin) {
        return Err(PlatformError::Forbidden(
            "Members may only manage their own keys.",
        ));
    }
    if key.revoked_at.is_some() {
        return Err(PlatformError::Conflict("This key is revoked.".to_owned()));
    }
    Ok(key)
}

async fn audit(state: &Shared, access: &WsAccess, action: &'static str, key: &ApiKey) {
    let entry = Entry::new(&access.caller, action, "api_key")
        .workspace(&key.workspace_id)
        .target(&key.id)
        .details(json!({
            "name": key.name,
            "prefix": key.prefix,
            "scopes": key.scopes,
            "allowed_models": key.allowed_models,
            "expires_at": key.expires_at,
            "disabled": key.disabled,
            "rotated_from": key.rotated_from,
        }));
    record(state, &access.workspace.org_id, &access.meta, entry).await;
}

fn valid_name(name: &str) -> PResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(PlatformError::invalid(
            "name",
            "The name must have 1 to 100 characters.",
        ));
    }
    Ok(name.to_owned())
}

fn valid_scopes(scopes: Vec<String>) -> PResult<Vec<String>> {
    match scopes.iter().find(|s| !SCOPES.contains(&s.as_str())) {
        Some(bad) => Err(PlatformError::invalid(
            "scopes",
            format!("Unknown scope {bad:?}; use chat, embeddings, models or *."),
        )),
        None => Ok(scopes),
    }
}

fn valid_metadata(metadata: Option<Value>) -> PResult<Value> {
    match metadata {
        None | Some(Value::Null) => Ok(json!({})),
        Some(Value::Object(map)) if map.len() <= 50 => Ok(Value::Object(map)),
        Some(_) => Err(PlatformError::invalid(
            "metadata",
            "An object of at most 50 entries.",
        )),
    }
}
