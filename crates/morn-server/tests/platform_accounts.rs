//! Account safety rules seen from outside: a workspace keeps its last owner (`409
//! last_owner`), and a deactivated user loses sign-in, tokens and API keys.

mod common;
mod platform_support;

use std::time::{Duration, Instant};

use common::TestEnv;
use platform_support::{PASSWORD, chat, delete, get, patch, post, public, signup};
use serde_json::json;

#[tokio::test]
async fn the_last_owner_can_be_neither_demoted_nor_removed() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let alice = signup(&env, "alice@example.com").await?;
    let bob = signup(&env, "bob@example.com").await?;
    let me = format!("/workspaces/{}/members/{}", alice.ws, alice.user_id);
    let demote = patch(&env, &me, &alice.access, json!({"role": "member"})).await?;
    assert_eq!(
        (demote.status, demote.code()),
        (409, "last_owner"),
        "{demote:?}"
    );
    let remove = delete(&env, &me, &alice.access).await?;
    assert_eq!((remove.status, remove.code()), (409, "last_owner"));

    // With a second owner, the first may step down.
    let added = post(
        &env,
        &format!("/workspaces/{}/members", alice.ws),
        &alice.access,
        json!({"email": bob.email, "role": "owner"}),
    )
    .await?;
    assert_eq!(added.status, 201, "{added:?}");
    let demote = patch(&env, &me, &alice.access, json!({"role": "member"})).await?;
    assert_eq!(demote.status, 200, "{demote:?}");
    Ok(())
}

#[tokio::test]
async fn a_deactivated_user_loses_sign_in_tokens_and_keys() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let alice = signup(&env, "alice@example.com").await?;
    let created = post(
        &env,
        &format!("/workspaces/{}/keys", alice.ws),
        &alice.access,
        json!({"name": "app"}),
    )
    .await?;
    let key = created.str("/key");
    assert_eq!(chat(&env, &key, "gpt-4o-mini").await?.0, 200);

    // No endpoint deactivates yet: the store does, as `morn admin` tooling would.
    let set_active = |flag: bool| morn_store::UserPatch {
        name: None,
        password_hash: None,
        is_active: Some(flag),
        updated_at: 1,
    };
    env.store
        .update_user(&alice.user_id, &set_active(false))
        .await?;

    let me = get(&env, "/me", &alice.access).await?;
    assert_eq!((me.status, me.code()), (401, "unauthenticated"));
    let refresh = public(
        &env,
        "/auth/refresh",
        json!({"refresh_token": alice.refresh}),
    )
    .await?;
    assert_eq!((refresh.status, refresh.code()), (401, "unauthenticated"));
    let login = public(
        &env,
        "/auth/login",
        json!({"email": alice.email, "password": PASSWORD}),
    )
    .await?;
    assert_eq!((login.status, login.code()), (401, "invalid_credentials"));
    let deadline = Instant::now() + Duration::from_secs(1);
    while chat(&env, &key, "gpt-4o-mini").await?.0 != 401 {
        assert!(
            Instant::now() < deadline,
            "the key still works after a second"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Reactivated: the same refresh token (unused) and key work again.
    env.store
        .update_user(&alice.user_id, &set_active(true))
        .await?;
    let refresh = public(
        &env,
        "/auth/refresh",
        json!({"refresh_token": alice.refresh}),
    )
    .await?;
    assert_eq!(refresh.status, 200, "{refresh:?}");
    let deadline = Instant::now() + Duration::from_secs(1);
    while chat(&env, &key, "gpt-4o-mini").await?.0 != 200 {
        assert!(
            Instant::now() < deadline,
            "the key is not back after a second"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}
