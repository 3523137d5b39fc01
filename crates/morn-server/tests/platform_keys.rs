//! Workspace API keys through the platform API, checked where they are used: a key
//! works on `/v1` the moment it is created and stops the moment it is revoked,
//! disabled or expired; model allowlists and rotation grace hold.

mod common;
mod platform_support;

use common::TestEnv;
use platform_support::{Account, Reply, chat, delete, get, patch, post, signup};
use serde_json::{Value, json};

const MODEL: &str = "gpt-4o-mini";

async fn create_key(env: &TestEnv, who: &Account, body: Value) -> anyhow::Result<Reply> {
    post(
        env,
        &format!("/workspaces/{}/keys", who.ws),
        &who.access,
        body,
    )
    .await
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[tokio::test]
async fn a_created_key_works_at_once_and_a_revoked_one_stops_at_once() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let alice = signup(&env, "alice@example.com").await?;
    let created = create_key(&env, &alice, json!({"name": "ci", "scopes": ["chat"]})).await?;
    assert_eq!(created.status, 201, "{created:?}");
    let key = created.str("/key");
    assert!(key.starts_with(&created.str("/prefix")));
    assert_eq!(chat(&env, &key, MODEL).await?.0, 200);

    // Lists and reads never show the secret.
    let list = get(
        &env,
        &format!("/workspaces/{}/keys", alice.ws),
        &alice.access,
    )
    .await?;
    assert_eq!(list.body["object"], "list");
    assert_eq!(list.body["data"].as_array().map(Vec::len), Some(1));
    assert!(!list.body.to_string().contains(&key));
    assert!(list.body["data"][0].get("key").is_none());
    assert_eq!(list.body["data"][0]["name"], "ci");

    let id = created.str("/id");
    let path = format!("/workspaces/{}/keys/{id}", alice.ws);
    assert_eq!(delete(&env, &path, &alice.access).await?.status, 204);
    assert_eq!(chat(&env, &key, MODEL).await?.0, 401);
    assert!(get(&env, &path, &alice.access).await?.body["revoked_at"].is_i64());
    Ok(())
}

#[tokio::test]
async fn disabled_and_expired_keys_are_refused() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let bob = signup(&env, "bob@example.com").await?;
    let created = create_key(&env, &bob, json!({"name": "k", "expires_in_days": 30})).await?;
    let (key, id) = (created.str("/key"), created.str("/id"));
    let path = format!("/workspaces/{}/keys/{id}", bob.ws);

    let disabled = patch(&env, &path, &bob.access, json!({"disabled": true})).await?;
    assert_eq!(disabled.body["disabled"], true, "{disabled:?}");
    assert_eq!(chat(&env, &key, MODEL).await?.0, 401);
    patch(&env, &path, &bob.access, json!({"disabled": false})).await?;
    assert_eq!(chat(&env, &key, MODEL).await?.0, 200);

    let expired = patch(
        &env,
        &path,
        &bob.access,
        json!({"expires_at": now_ms() - 1}),
    )
    .await?;
    assert_eq!(expired.status, 200, "{expired:?}");
    assert_eq!(chat(&env, &key, MODEL).await?.0, 401);

    let past = create_key(&env, &bob, json!({"name": "old", "expires_at": 1000})).await?;
    assert_eq!((past.status, past.code()), (400, "invalid_value"));
    let bad_scope = create_key(&env, &bob, json!({"name": "x", "scopes": ["admin"]})).await?;
    assert_eq!(bad_scope.body["error"]["param"], "scopes");
    Ok(())
}

#[tokio::test]
async fn allowed_models_are_enforced_on_v1() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let carol = signup(&env, "carol@example.com").await?;
    let body = json!({"name": "only-mini", "allowed_models": [MODEL]});
    let key = create_key(&env, &carol, body).await?.str("/key");
    assert_eq!(chat(&env, &key, MODEL).await?.0, 200);
    let refused = chat(&env, &key, "claude-sonnet-4-5").await?;
    assert_eq!(refused, (403, "model_not_allowed".to_owned()));
    Ok(())
}

#[tokio::test]
async fn rotation_keeps_the_old_key_for_the_grace_period_only() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let dave = signup(&env, "dave@example.com").await?;
    let created = create_key(&env, &dave, json!({"name": "svc"})).await?;
    let (old, id) = (created.str("/key"), created.str("/id"));
    let rotate = format!("/workspaces/{}/keys/{id}/rotate", dave.ws);
    let rotated = post(&env, &rotate, &dave.access, json!({"grace_secs": 1})).await?;
    assert_eq!(rotated.status, 201, "{rotated:?}");
    let new = rotated.str("/key");
    assert_eq!(rotated.str("/rotated_from"), id);
    assert_eq!(rotated.str("/name"), "svc");
    assert_eq!(chat(&env, &new, MODEL).await?.0, 200);
    assert_eq!(chat(&env, &old, MODEL).await?.0, 200);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(chat(&env, &old, MODEL).await?.0, 401);
    assert_eq!(chat(&env, &new, MODEL).await?.0, 200);

    // Without grace the old key stops at once.
    let new_id = rotated.str("/id");
    let again = format!("/workspaces/{}/keys/{new_id}/rotate", dave.ws);
    let third = post(&env, &again, &dave.access, json!({}))
        .await?
        .str("/key");
    assert_eq!(chat(&env, &new, MODEL).await?.0, 401);
    assert_eq!(chat(&env, &third, MODEL).await?.0, 200);
    Ok(())
}

#[tokio::test]
async fn members_manage_only_their_own_keys() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let owner = signup(&env, "owner@example.com").await?;
    let member = signup(&env, "member@example.com").await?;
    let members = format!("/workspaces/{}/members", owner.ws);
    let body = json!({"email": member.email, "role": "member"});
    assert_eq!(post(&env, &members, &owner.access, body).await?.status, 201);
    let member_in_ws = Account {
        ws: owner.ws.clone(),
        ..member.clone()
    };

    let owners_key = create_key(&env, &owner, json!({"name": "owner's"}))
        .await?
        .str("/id");
    let mine = create_key(&env, &member_in_ws, json!({"name": "mine"})).await?;
    assert_eq!(mine.status, 201, "{mine:?}");
    let keys = format!("/workspaces/{}/keys", owner.ws);
    let theirs = delete(&env, &format!("{keys}/{owners_key}"), &member.access).await?;
    assert_eq!((theirs.status, theirs.code()), (403, "forbidden"));
    let own = delete(&env, &format!("{keys}/{}", mine.str("/id")), &member.access).await?;
    assert_eq!(own.status, 204);
    // The owner manages every key, the member's included.
    let list = get(&env, &keys, &member.access).await?;
    assert_eq!(list.body["data"].as_array().map(Vec::len), Some(2));
    Ok(())
}
