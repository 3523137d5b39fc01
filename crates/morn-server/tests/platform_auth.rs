//! Platform API accounts and sessions: sign-up, sign-in, refresh-token rotation with
//! reuse detection, logout, the session list, password changes, `/me`, and the error
//! shape of bad requests.

mod common;
mod platform_support;

use common::{KEY, TestEnv};
use platform_support::{PASSWORD, delete, get, login, post, public, signup};
use serde_json::json;

#[tokio::test]
async fn signup_then_me_shows_the_personal_org_and_workspace() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let alice = signup(&env, "alice@example.com").await?;
    let me = get(&env, "/me", &alice.access).await?;
    assert_eq!(me.status, 200, "{me:?}");
    assert_eq!(me.str("/user/email"), "alice@example.com");
    assert!(me.body["user"].get("password_hash").is_none());
    assert_eq!(me.str("/orgs/0/id"), alice.org);
    assert_eq!(me.str("/orgs/0/role"), "owner");
    assert_eq!(me.str("/workspaces/0/id"), alice.ws);
    assert_eq!(me.str("/workspaces/0/role"), "owner");

    let again = public(
        &env,
        "/auth/signup",
        json!({"email": "ALICE@example.com", "password": PASSWORD, "name": "A"}),
    )
    .await?;
    assert_eq!((again.status, again.code()), (409, "conflict"));
    let weak = public(
        &env,
        "/auth/signup",
        json!({"email": "bob@example.com", "password": "short", "name": "B"}),
    )
    .await?;
    assert_eq!((weak.status, weak.code()), (400, "weak_password"));
    Ok(())
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_answer() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    signup(&env, "carol@example.com").await?;
    let wrong = public(
        &env,
        "/auth/login",
        json!({"email": "carol@example.com", "password": "not the password"}),
    )
    .await?;
    let unknown = public(
        &env,
        "/auth/login",
        json!({"email": "nobody@example.com", "password": "not the password"}),
    )
    .await?;
    assert_eq!((wrong.status, wrong.code()), (401, "invalid_credentials"));
    assert_eq!(wrong.body, unknown.body);
    let (access, refresh) = login(&env, "Carol@Example.com", PASSWORD).await?;
    assert!(access.len() > 20 && refresh.starts_with("mr_"));
    Ok(())
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_session() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let dave = signup(&env, "dave@example.com").await?;
    let first = public(
        &env,
        "/auth/refresh",
        json!({"refresh_token": dave.refresh}),
    )
    .await?;
    assert_eq!(first.status, 200, "{first:?}");
    assert_eq!(first.str("/token_type"), "Bearer");
    assert_eq!(first.body["expires_in"], 900);
    let (access2, refresh2) = (first.str("/access_token"), first.str("/refresh_token"));
    assert_ne!(refresh2, dave.refresh);
    assert_eq!(get(&env, "/me", &access2).await?.status, 200);

    // The old token again: a reuse. The whole family dies, new tokens included.
    let reuse = public(
        &env,
        "/auth/refresh",
        json!({"refresh_token": dave.refresh}),
    )
    .await?;
    assert_eq!((reuse.status, reuse.code()), (401, "token_reused"));
    let after = public(&env, "/auth/refresh", json!({"refresh_token": refresh2})).await?;
    assert_eq!(after.status, 401);
    let me = get(&env, "/me", &access2).await?;
    assert_eq!((me.status, me.code()), (401, "unauthenticated"));

    // The reuse is in the audit trail (read with the master key).
    let audit = get(
        &env,
        &format!("/orgs/{}/audit?action=auth.token_reused", dave.org),
        KEY,
    )
    .await?;
    assert_eq!(
        audit.body["data"].as_array().map(Vec::len),
        Some(1),
        "{audit:?}"
    );
    Ok(())
}

#[tokio::test]
async fn sessions_are_listed_revoked_and_logged_out() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let erin = signup(&env, "erin@example.com").await?;
    let (access2, refresh2) = login(&env, &erin.email, PASSWORD).await?;
    let list = get(&env, "/auth/sessions", &erin.access).await?;
    assert_eq!(list.status, 200);
    let sessions = list.body["data"].as_array().cloned().unwrap_or_default();
    assert_eq!(sessions.len(), 2);
    let text = list.body.to_string();
    assert!(
        !text.contains(&erin.refresh) && !text.contains("hash"),
        "{text}"
    );
    assert_eq!(sessions[0]["user_agent"], "platform-tests/1.0");
    let other = sessions
        .iter()
        .find(|s| s["current"] == false)
        .and_then(|s| s["id"].as_str())
        .unwrap_or_default()
        .to_owned();

    // Revoking the second session stops its access token at once.
    let revoked = delete(&env, &format!("/auth/sessions/{other}"), &erin.access).await?;
    assert_eq!(revoked.status, 204);
    assert_eq!(get(&env, "/me", &access2).await?.status, 401);
    let gone = public(&env, "/auth/refresh", json!({"refresh_token": refresh2})).await?;
    assert_eq!(gone.status, 401);

    // Logout ends the first one.
    let out = public(&env, "/auth/logout", json!({"refresh_token": erin.refresh})).await?;
    assert_eq!(out.status, 204);
    assert_eq!(get(&env, "/me", &erin.access).await?.status, 401);
    Ok(())
}

#[tokio::test]
async fn password_change_keeps_this_session_and_ends_the_others() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let fay = signup(&env, "fay@example.com").await?;
    let (other, _) = login(&env, &fay.email, PASSWORD).await?;
    let wrong = post(
        &env,
        "/auth/password",
        &fay.access,
        json!({"current_password": "nope nope nope", "new_password": "another good one"}),
    )
    .await?;
    assert_eq!((wrong.status, wrong.code()), (400, "invalid_value"));
    let changed = post(
        &env,
        "/auth/password",
        &fay.access,
        json!({"current_password": PASSWORD, "new_password": "another good one"}),
    )
    .await?;
    assert_eq!(changed.status, 204, "{changed:?}");
    assert_eq!(get(&env, "/me", &fay.access).await?.status, 200);
    assert_eq!(get(&env, "/me", &other).await?.status, 401);
    assert!(login(&env, &fay.email, PASSWORD).await.is_err());
    login(&env, &fay.email, "another good one").await?;
    Ok(())
}

#[tokio::test]
async fn bad_requests_get_platform_errors() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let missing = public(&env, "/auth/login", json!({"password": "x"})).await?;
    assert_eq!((missing.status, missing.code()), (400, "missing_field"));
    assert_eq!(missing.body["error"]["param"], "email");
    assert_eq!(missing.body["error"]["type"], "invalid_request_error");
    let anonymous = platform_support::call(&env, reqwest::Method::GET, "/me", None, None).await?;
    assert_eq!(
        (anonymous.status, anonymous.code()),
        (401, "unauthenticated")
    );
    let forged = get(&env, "/me", "eyJhbGciOiJIUzI1NiJ9.e30.bad").await?;
    assert_eq!((forged.status, forged.code()), (401, "unauthenticated"));
    let master = get(&env, "/me", KEY).await?;
    assert_eq!(master.str("/actor"), "system");
    Ok(())
}
