//! Organizations, workspaces, cascades and transactions.

use std::collections::HashSet;

use morn_store::{
    ModelRecord, OrgMembership, Organization, Page, ProviderRecord, Role, Workspace,
    WorkspaceMembership,
};
use serde_json::json;

use super::{
    Shared, collect_pages, expect_conflict, expect_not_found, expect_reference, found, id,
    key_record, new_org, new_user, new_workspace, secret_record, unique,
};

pub async fn backend_basics(store: Shared) -> anyhow::Result<()> {
    store.ping().await?;
    assert_eq!(store.schema_version().await?, 5);
    assert!(["sqlite", "postgres"].contains(&store.backend_name()));
    Ok(())
}

pub async fn org_round_trip(store: Shared) -> anyhow::Result<()> {
    let org = new_org(&store).await?;
    assert_eq!(store.get_org(&org.id).await?, Some(org.clone()));
    assert_eq!(store.get_org_by_slug(&org.slug).await?, Some(org.clone()));
    assert_eq!(store.get_org(&id()).await?, None);

    let renamed = store.update_org_name(&org.id, "Acme Corp").await?;
    assert_eq!(renamed.name, "Acme Corp");
    assert_eq!(renamed.slug, org.slug);
    assert_eq!(
        found(store.get_org(&org.id).await?, "org")?.name,
        "Acme Corp"
    );
    expect_not_found(store.update_org_name(&id(), "x").await)?;

    let same_slug = Organization {
        id: id(),
        ..org.clone()
    };
    expect_conflict(store.create_org(&same_slug).await, "organization")?;
    Ok(())
}

pub async fn orgs_paginate(store: Shared) -> anyhow::Result<()> {
    let mut created = Vec::new();
    for _ in 0..7 {
        created.push(new_org(&store).await?.id);
    }
    let (ids, pages) = collect_pages(
        3,
        |o: &Organization| o.id.clone(),
        |page| {
            let store = store.clone();
            async move { store.list_orgs(page).await }
        },
    )
    .await?;
    assert_eq!(pages, 3);
    assert_eq!(ids, created, "every org once, in id order");

    let exact = store.list_orgs(Page::first(7)).await?;
    assert_eq!(exact.data.len(), 7);
    assert_eq!(exact.next_after, None, "a full last page has no next");
    let clamped = store.list_orgs(Page::first(0)).await?;
    assert_eq!(clamped.data.len(), 1, "limit 0 is clamped to 1");
    Ok(())
}

pub async fn workspace_round_trip(store: Shared) -> anyhow::Result<()> {
    let org = new_org(&store).await?;
    let other_org = new_org(&store).await?;
    let ws = new_workspace(&store, &org).await?;
    assert_eq!(store.get_workspace(&ws.id).await?, Some(ws.clone()));
    assert_eq!(store.get_workspace(&id()).await?, None);

    let dup = Workspace {
        id: id(),
        ..ws.clone()
    };
    expect_conflict(store.create_workspace(&dup).await, "workspace")?;
    let same_slug_elsewhere = Workspace {
        id: id(),
        org_id: other_org.id.clone(),
        ..ws.clone()
    };
    store.create_workspace(&same_slug_elsewhere).await?;
    let orphan = Workspace {
        id: id(),
        org_id: id(),
        ..ws.clone()
    };
    expect_reference(store.create_workspace(&orphan).await)?;

    let mut created = vec![ws.id.clone()];
    for _ in 0..5 {
        created.push(new_workspace(&store, &org).await?.id);
    }
    let (ids, pages) = collect_pages(
        2,
        |w: &Workspace| w.id.clone(),
        |page| {
            let store = store.clone();
            let org_id = org.id.clone();
            async move { store.list_workspaces(&org_id, page).await }
        },
    )
    .await?;
    assert_eq!(pages, 3);
    assert_eq!(ids, created, "only this org's workspaces, in id order");
    Ok(())
}

pub async fn delete_workspace_cascades(store: Shared) -> anyhow::Result<()> {
    let org = new_org(&store).await?;
    let ws = new_workspace(&store, &org).await?;
    let kept = new_workspace(&store, &org).await?;
    let user = new_user(&store).await?;
    let member = WorkspaceMembership {
        workspace_id: ws.id.clone(),
        user_id: user.id.clone(),
        role: Role::Member,
        created_at: 1,
    };
    store.upsert_workspace_membership(&member).await?;
    store
        .upsert_workspace_membership(&WorkspaceMembership {
            workspace_id: kept.id.clone(),
            ..member.clone()
        })
        .await?;
    let key = key_record(&ws.id);
    store.create_api_key(&key).await?;
    let kept_key = key_record(&kept.id);
    store.create_api_key(&kept_key).await?;
    let secret = store
        .put_secret(&secret_record(&org.id, Some(&ws.id), "openai"))
        .await?;
    // A workspace provider using a workspace secret: both go in one cascade.
    let provider = ProviderRecord {
        id: id(),
        org_id: org.id.clone(),
        workspace_id: Some(ws.id.clone()),
        name: "openai".into(),
        kind: "openai".into(),
        base_url: None,
        secret_id: Some(secret.id.clone()),
        headers: json!({}),
        created_at: 1,
        updated_at: 1,
    };
    store.create_provider(&provider).await?;
    let model = ModelRecord {
        id: id(),
        org_id: org.id.clone(),
        workspace_id: Some(ws.id.clone()),
        name: "fast".into(),
        spec: json!({"deployments": []}),
        created_at: 1,
        updated_at: 1,
    };
    store.create_model(&model).await?;

    assert!(store.delete_workspace(&ws.id).await?);
    assert_eq!(store.get_workspace(&ws.id).await?, None);
    assert_eq!(store.get_api_key(&key.id).await?, None);
    assert_eq!(store.get_api_key_by_hash(&key.hash).await?, None);
    assert_eq!(
        store.get_workspace_membership(&ws.id, &user.id).await?,
        None
    );
    assert_eq!(store.get_secret(&org.id, &secret.id).await?, None);
    assert_eq!(store.get_provider(&org.id, &provider.id).await?, None);
    assert_eq!(store.get_model(&org.id, &model.id).await?, None);
    // Everything else stays.
    assert!(store.get_api_key(&kept_key.id).await?.is_some());
    assert!(
        store
            .get_workspace_membership(&kept.id, &user.id)
            .await?
            .is_some()
    );
    assert!(store.get_user(&user.id).await?.is_some());
    assert!(store.get_org(&org.id).await?.is_some());
    assert!(
        !store.delete_workspace(&ws.id).await?,
        "second delete finds nothing"
    );
    Ok(())
}

fn bootstrap(owner_slug: &str) -> (Organization, Workspace) {
    let org = Organization {
        id: id(),
        name: "Boot".into(),
        slug: owner_slug.to_owned(),
        created_at: 10,
    };
    let ws = Workspace {
        id: id(),
        org_id: org.id.clone(),
        name: "Default".into(),
        slug: "default".into(),
        created_at: 10,
    };
    (org, ws)
}

pub async fn create_org_with_owner_commits_everything(store: Shared) -> anyhow::Result<()> {
    let user = new_user(&store).await?;
    let (org, ws) = bootstrap(&format!("boot-{}", unique()));
    store.create_org_with_owner(&org, &ws, &user.id).await?;
    assert_eq!(store.get_org(&org.id).await?, Some(org.clone()));
    assert_eq!(store.get_workspace(&ws.id).await?, Some(ws.clone()));
    assert_eq!(
        store.get_org_membership(&org.id, &user.id).await?,
        Some(OrgMembership {
            org_id: org.id.clone(),
            user_id: user.id.clone(),
            role: Role::Owner,
            created_at: 10,
        })
    );
    let ws_member = found(
        store.get_workspace_membership(&ws.id, &user.id).await?,
        "member",
    )?;
    assert_eq!(ws_member.role, Role::Owner);
    Ok(())
}

pub async fn failed_transaction_leaves_nothing(store: Shared) -> anyhow::Result<()> {
    // The last statements fail (no such user): the org and workspace inserted before
    // them must be rolled back.
    let (org, ws) = bootstrap(&format!("boot-{}", unique()));
    expect_reference(store.create_org_with_owner(&org, &ws, &id()).await)?;
    assert_eq!(store.get_org(&org.id).await?, None);
    assert_eq!(store.get_org_by_slug(&org.slug).await?, None);
    assert_eq!(store.get_workspace(&ws.id).await?, None);
    assert!(store.list_orgs(Page::default()).await?.data.is_empty());

    // A conflict in the second statement (the workspace id is taken) rolls back the
    // organization inserted by the first.
    let existing = new_org(&store).await?;
    let existing_ws = new_workspace(&store, &existing).await?;
    let user = new_user(&store).await?;
    let (org, mut ws) = bootstrap(&format!("boot-{}", unique()));
    ws.id = existing_ws.id.clone();
    expect_conflict(
        store.create_org_with_owner(&org, &ws, &user.id).await,
        "organization",
    )?;
    assert_eq!(store.get_org(&org.id).await?, None);
    assert_eq!(store.get_org_membership(&org.id, &user.id).await?, None);
    let orgs: HashSet<String> = store
        .list_orgs(Page::default())
        .await?
        .data
        .into_iter()
        .map(|o| o.id)
        .collect();
    assert_eq!(orgs, HashSet::from([existing.id]));
    assert_eq!(
        store.get_workspace(&existing_ws.id).await?,
        Some(existing_ws)
    );
    Ok(())
}
