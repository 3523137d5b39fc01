//! Sign-in and sessions: login, refresh-token rotation with reuse detection, logout,
//! the session list, password change, and self-service sign-up.
//!
//! A session is a refresh-token family (`session_id` = family id). Each refresh uses
//! its token once (an atomic conditional update) and issues the next one; presenting
//! a token that was already used revokes the whole family, since either the user or a
//! thief holds a copy. Access tokens carry the family id and stop working as soon as
//! the family is revoked.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use morn_store::{Organization, RefreshToken, User, UserPatch, Workspace};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::access::Caller;
use super::audit::{Entry, record_for_user};
use super::error::{PResult, PlatformError};
use super::extract::{Body, List, Meta, new_id, now_ms};
use super::users::{UserView, hash_password, new_user, verify_password};
use crate::state::Shared;

/// A fresh credential pair.
#[derive(Debug, Serialize)]
pub struct TokenPair {
    access_token: String,
    token_type: &'static str,
    /// Seconds the access token stays valid.
    expires_in: i64,
    refresh_token: String,
}

#[derive(Debug, Deserialize)]
pub struct LoginBody {
    email: String,
    password: String,
}

/// `POST /auth/login`.
pub async fn login(
    State(state): State<Shared>,
    meta: Meta,
    Body(body): Body<LoginBody>,
) -> PResult<Json<TokenPair>> {
    let store = &state.identity.store;
    let user = store.get_user_by_email(body.email.trim()).await?;
    let hash = user
        .as_ref()
        .filter(|u| u.is_active)
        .and_then(|u| u.password_hash.clone());
    // Unknown users cost the same hashing time as known ones.
    let ok = verify_password(body.password, hash).await?;
    let Some(user) = user.filter(|_| ok) else {
        if let Some(user) = store.get_user_by_email(body.email.trim()).await? {
            let entry =
                Entry::new_actor(("user", &user.id), "auth.login_failed", "user").target(&user.id);
            record_for_user(&state, &user.id, &meta, entry).await;
        } else {
            tracing::info!(ip = ?meta.ip, "sign-in with an unknown email");
        }
        return Err(PlatformError::InvalidCredentials);
    };
    Ok(Json(start_session(&state, &user.id, &meta).await?))
}

/// Opens a new session for `user_id` and returns its first tokens.
pub async fn start_session(state: &Shared, user_id: &str, meta: &Meta) -> PResult<TokenPair> {
    issue(state, user_id, &new_id(), meta).await
}

async fn issue(state: &Shared, user_id: &str, family: &str, meta: &Meta) -> PResult<TokenPair> {
    let now = now_ms();
    let (token, hash) = morn_auth::new_refresh_token();
    let record = RefreshToken {
        id: new_id(),
        user_id: user_id.to_owned(),
        family_id: family.to_owned(),
        hash,
        created_at: now,
        expires_at: now + morn_auth::REFRESH_TTL_SECS * 1000,
        used_at: None,
        revoked_at: None,
        user_agent: meta.user_agent.clone(),
        ip: meta.ip.clone(),
    };
    state.identity.store.insert_refresh_token(&record).await?;
    let claims = morn_auth::AccessClaims::new(user_id, family, now / 1000);
    Ok(TokenPair {
        access_token: state.identity.jwt.issue(&claims)?,
        token_type: "Bearer",
        expires_in: morn_auth::ACCESS_TTL_SECS,
        refresh_token: token,
    })
}

#[derive(Debug, Deserialize)]
pub struct RefreshBody {
    refresh_token: String,
}

/// `POST /auth/refresh`: rotates the refresh token.
pub async fn refresh(
    State(state): State<Shared>,
    meta: Meta,
    Body(body): Body<RefreshBody>,
) -> PResult<Json<TokenPair>> {
    let store = &state.identity.store;
    let now = now_ms();
    let hash = morn_auth::hash_token(&body.refresh_token);
    let invalid = PlatformError::Unauthenticated("Invalid refresh token.");
    let token = store
        .get_refresh_token_by_hash(&hash)
        .await?
        .ok_or(invalid)?;
    if token.revoked_at.is_some() {
        return Err(PlatformError::Unauthenticated("This session has ended."));
    }
    if token.expires_at <= now {
        return Err(PlatformError::TokenExpired);
    }
    // A deactivated user's sessions stay stored (reactivation brings them back) but
    // rotate no more; checked before the token is used, so nothing is consumed.
    if !store
        .get_user(&token.user_id)
        .await?
        .is_some_and(|u| u.is_active)
    {
        return Err(PlatformError::Unauthenticated(
            "This account is deactivated.",
        ));
    }
    if token.used_at.is_some() || !store.mark_refresh_token_used(&token.id, now).await? {
        store.revoke_refresh_family(&token.family_id, now).await?;
        let entry = Entry::new_actor(("user", &token.user_id), "auth.token_reused", "session")
            .target(&token.family_id);
        record_for_user(&state, &token.user_id, &meta, entry).await;
        return Err(PlatformError::TokenReused);
    }
    Ok(Json(
        issue(&state, &token.user_id, &token.family_id, &meta).await?,
    ))
}

/// `POST /auth/logout`: ends the session the refresh token belongs to. Always 204, so
/// the answer says nothing about the token.
pub async fn logout(
    State(state): State<Shared>,
    Body(body): Body<RefreshBody>,
) -> PResult<StatusCode> {
    let store = &state.identity.store;
    let hash = morn_auth::hash_token(&body.refresh_token);
    if let Some(token) = store.get_refresh_token_by_hash(&hash).await? {
        store
            .revoke_refresh_family(&token.family_id, now_ms())
            .await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// A live session as its owner sees it (never a token or its hash).
#[derive(Debug, Serialize)]
pub struct SessionView {
    id: String,
    object: &'static str,
    created_at: i64,
    last_used_at: i64,
    expires_at: i64,
    user_agent: Option<String>,
    ip: Option<String>,
    current: bool,
}

/// `GET /auth/sessions`.
pub async fn list(State(state): State<Shared>, caller: Caller) -> PResult<Json<List<SessionView>>> {
    let (user_id, current) = caller.require_user()?;
    let sessions = state
        .identity
        .store
        .list_sessions(user_id, now_ms())
        .await?;
    let views = sessions
        .into_iter()
        .map(|t| SessionView {
            created_at: family_started(&t.family_id).unwrap_or(t.created_at),
            current: t.family_id == current,
            id: t.family_id,
            object: "session",
            last_used_at: t.created_at,
            expires_at: t.expires_at,
            user_agent: t.user_agent,
            ip: t.ip,
        })
        .collect();
    Ok(Json(List::all(views)))
}

/// Family ids are UUID v7: their timestamp is when the session started.
fn family_started(id: &str) -> Option<i64> {
    let (secs, nanos) = uuid::Uuid::parse_str(id).ok()?.get_timestamp()?.to_unix();
    Some(secs as i64 * 1000 + i64::from(nanos / 1_000_000))
}

/// `DELETE /auth/sessions/{id}`.
pub async fn revoke(
    State(state): State<Shared>,
    caller: Caller,
    meta: Meta,
    Path(id): Path<String>,
) -> PResult<StatusCode> {
    let (user_id, _) = caller.require_user()?;
    let store = &state.identity.store;
    let now = now_ms();
    let sessions = store.list_sessions(user_id, now).await?;
    if !sessions.iter().any(|s| s.family_id == id) {
        return Err(PlatformError::NotFound("session"));
    }
    store.revoke_refresh_family(&id, now).await?;
    let entry = Entry::new(&caller, "session.revoke", "session").target(&id);
    record_for_user(&state, user_id, &meta, entry).await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
pub struct PasswordBody {
    current_password: String,
    new_password: String,
}

/// `POST /auth/password`: changes the caller's password and ends their other sessions.
pub async fn change_password(
    State(state): State<Shared>,
    caller: Caller,
    meta: Meta,
    Body(body): Body<PasswordBody>,
) -> PResult<StatusCode> {
    let (user_id, current) = caller.require_user()?;
    let store = &state.identity.store;
    let user = store
        .get_user(user_id)
        .await?
        .ok_or(PlatformError::NotFound("user"))?;
    if !verify_password(body.current_password, user.password_hash.clone()).await? {
        return Err(PlatformError::invalid(
            "current_password",
            "The current password is wrong.",
        ));
    }
    let hash = hash_password(body.new_password).await?;
    let now = now_ms();
    let patch = UserPatch {
        name: None,
        password_hash: Some(Some(hash)),
        is_active: None,
        updated_at: now,
    };
    store.update_user(user_id, &patch).await?;
    for session in store.list_sessions(user_id, now).await? {
        if session.family_id != current {
            store.revoke_refresh_family(&session.family_id, now).await?;
        }
    }
    let entry = Entry::new(&caller, "user.password_change", "user").target(user_id);
    record_for_user(&state, user_id, &meta, entry).await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
pub struct SignupBody {
    email: String,
    password: String,
    name: String,
}

#[derive(Debug, Serialize)]
pub struct SignupView {
    user: UserView,
    org: Organization,
    workspace: Workspace,
    #[serde(flatten)]
    tokens: TokenPair,
}

/// `POST /auth/signup`: a new user with a personal organization and a default
/// workspace they own, signed in.
pub async fn signup(
    State(state): State<Shared>,
    meta: Meta,
    Body(body): Body<SignupBody>,
) -> PResult<(StatusCode, Json<SignupView>)> {
    if !state.identity.allow_signup {
        return Err(PlatformError::SignupDisabled);
    }
    let user: User = new_user(&state, &body.email, &body.name, body.password).await?;
    let now = now_ms();
    let org = Organization {
        id: new_id(),
        name: format!("{}'s organization", user.name),
        slug: super::orgs::unique_slug(&user.name),
        created_at: now,
    };
    let workspace = Workspace {
        id: new_id(),
        org_id: org.id.clone(),
        name: "Default".to_owned(),
        slug: "default".to_owned(),
        created_at: now,
    };
    let store = &state.identity.store;
    store
        .create_org_with_owner(&org, &workspace, &user.id)
        .await?;
    let actor = Caller::User {
        user_id: user.id.clone(),
        session_id: String::new(),
    };
    let entry = Entry::new(&actor, "user.signup", "user")
        .target(&user.id)
        .details(json!({"email": user.email}));
    super::audit::record(&state, &org.id, &meta, entry).await;
    let tokens = start_session(&state, &user.id, &meta).await?;
    let view = SignupView {
        user: UserView::from(user),
        org,
        workspace,
        tokens,
    };
    Ok((StatusCode::CREATED, Json(view)))
}
