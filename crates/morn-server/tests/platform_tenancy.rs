//! Organizations, workspaces, members, users created by admins, password resets,
//! providers and models, and the audit trail they leave.

mod common;
mod platform_support;

use common::{KEY, TestEnv};
use platform_support::{PASSWORD, delete, get, login, patch, post, signup};
use serde_json::json;

#[tokio::test]
async fn admins_build_a_team_and_the_audit_log_tells_the_story() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let boss = signup(&env, "boss@example.com").await?;
    let org = format!("/orgs/{}", boss.org);

    let ws = post(
        &env,
        &format!("{org}/workspaces"),
        &boss.access,
        json!({"name": "Research Team"}),
    )
    .await?;
    assert_eq!(ws.status, 201, "{ws:?}");
    assert_eq!(ws.str("/slug"), "research-team");
    let ws_id = ws.str("/id");
    let list = get(&env, &format!("{org}/workspaces?limit=1"), &boss.access).await?;
    assert_eq!(list.body["data"].as_array().map(Vec::len), Some(1));
    let next = list.str("/next_after");
    assert!(!next.is_empty(), "{list:?}");
    let page2 = get(
        &env,
        &format!("{org}/workspaces?limit=1&after={next}"),
        &boss.access,
    )
    .await?;
    assert_eq!(page2.body["data"].as_array().map(Vec::len), Some(1));
    assert!(page2.body["next_after"].is_null());

    // An admin-created user signs in and is added to the new workspace.
    let body =
        json!({"email": "new@example.com", "password": PASSWORD, "name": "New", "role": "member"});
    let created = post(&env, &format!("{org}/users"), &boss.access, body).await?;
    assert_eq!(created.status, 201, "{created:?}");
    let new_id = created.str("/id");
    let (new_access, _) = login(&env, "new@example.com", PASSWORD).await?;
    let members = format!("/workspaces/{ws_id}/members");
    let added = post(
        &env,
        &members,
        &boss.access,
        json!({"email": "new@example.com", "role": "viewer"}),
    )
    .await?;
    assert_eq!(added.status, 201, "{added:?}");
    let promoted = patch(
        &env,
        &format!("{members}/{new_id}"),
        &boss.access,
        json!({"role": "member"}),
    )
    .await?;
    assert_eq!(promoted.str("/role"), "member");
    let listed = get(&env, &members, &new_access).await?;
    assert_eq!(
        listed.body["data"].as_array().map(Vec::len),
        Some(2),
        "{listed:?}"
    );

    // A member cannot read the audit log; the owner can, filtered.
    let denied = get(&env, &format!("{org}/audit"), &new_access).await?;
    assert_eq!((denied.status, denied.code()), (403, "forbidden"));
    let audit = get(
        &env,
        &format!("{org}/audit?workspace_id={ws_id}"),
        &boss.access,
    )
    .await?;
    let actions: Vec<&str> = audit.body["data"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["action"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(actions, ["member.update", "member.add", "workspace.create"]);
    assert_eq!(audit.body["data"][0]["actor_id"], boss.user_id.as_str());
    assert_eq!(audit.body["data"][0]["user_agent"], "platform-tests/1.0");

    // Removing and deleting.
    assert_eq!(
        delete(&env, &format!("{members}/{new_id}"), &boss.access)
            .await?
            .status,
        204
    );
    assert_eq!(
        get(&env, &format!("/workspaces/{ws_id}"), &new_access)
            .await?
            .status,
        404
    );
    assert_eq!(
        delete(&env, &format!("/workspaces/{ws_id}"), &boss.access)
            .await?
            .status,
        204
    );
    assert_eq!(
        get(&env, &format!("/workspaces/{ws_id}"), &boss.access)
            .await?
            .status,
        404
    );
    Ok(())
}

#[tokio::test]
async fn admins_cannot_grant_admin_and_resets_end_sessions() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let boss = signup(&env, "boss@example.com").await?;
    let org = format!("/orgs/{}", boss.org);
    let body =
        json!({"email": "adm@example.com", "password": PASSWORD, "name": "Adm", "role": "admin"});
    post(&env, &format!("{org}/users"), &boss.access, body).await?;
    let (admin, _) = login(&env, "adm@example.com", PASSWORD).await?;
    let body =
        json!({"email": "x@example.com", "password": PASSWORD, "name": "X", "role": "admin"});
    let escalate = post(&env, &format!("{org}/users"), &admin, body).await?;
    assert_eq!((escalate.status, escalate.code()), (403, "forbidden"));
    let body =
        json!({"email": "y@example.com", "password": PASSWORD, "name": "Y", "role": "viewer"});
    let viewer = post(&env, &format!("{org}/users"), &admin, body).await?;
    let (viewer_access, _) = login(&env, "y@example.com", PASSWORD).await?;

    let reset = format!("/users/{}/password", viewer.str("/id"));
    let done = post(
        &env,
        &reset,
        &admin,
        json!({"new_password": "brand new secret"}),
    )
    .await?;
    assert_eq!(done.status, 204, "{done:?}");
    assert_eq!(get(&env, "/me", &viewer_access).await?.status, 401);
    login(&env, "y@example.com", "brand new secret").await?;

    // Someone outside the organization cannot even see the user.
    let stranger = signup(&env, "stranger@example.com").await?;
    let hidden = post(
        &env,
        &reset,
        &stranger.access,
        json!({"new_password": "whatever 123"}),
    )
    .await?;
    assert_eq!((hidden.status, hidden.code()), (404, "not_found"));
    Ok(())
}

#[tokio::test]
async fn provider_keys_are_write_only() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let boss = signup(&env, "boss@example.com").await?;
    let providers = format!("/orgs/{}/providers", boss.org);
    let secret = "sk-upstream-abcdef123456";
    let body = json!({"name": "openai-main", "kind": "openai", "api_key": secret, "headers": {"x-team": "a"}});
    let created = post(&env, &providers, &boss.access, body).await?;
    assert_eq!(created.status, 201, "{created:?}");
    assert_eq!(created.str("/api_key_hint"), "…3456");
    let list = get(&env, &providers, &boss.access).await?;
    assert!(!list.body.to_string().contains(secret));
    assert_eq!(list.body["data"][0]["name"], "openai-main");
    let bad = post(
        &env,
        &providers,
        &boss.access,
        json!({"name": "x", "kind": "cohere"}),
    )
    .await?;
    assert_eq!((bad.status, bad.code()), (400, "invalid_value"));

    let models = format!("/orgs/{}/models", boss.org);
    let model = post(
        &env,
        &models,
        &boss.access,
        json!({"name": "team/gpt", "spec": {"deployments": []}}),
    )
    .await?;
    assert_eq!(model.status, 201, "{model:?}");
    let dup = post(
        &env,
        &models,
        &boss.access,
        json!({"name": "team/gpt", "spec": {}}),
    )
    .await?;
    assert_eq!((dup.status, dup.code()), (409, "conflict"));
    let id = model.str("/id");
    assert_eq!(
        delete(&env, &format!("{models}/{id}"), &boss.access)
            .await?
            .status,
        204
    );
    let pid = created.str("/id");
    assert_eq!(
        delete(&env, &format!("{providers}/{pid}"), &boss.access)
            .await?
            .status,
        204
    );

    // The master key sees every organization.
    let orgs = get(&env, "/orgs", KEY).await?;
    assert_eq!(orgs.body["data"].as_array().map(Vec::len), Some(1));
    Ok(())
}
