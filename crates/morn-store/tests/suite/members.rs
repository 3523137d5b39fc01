//! Memberships.

use std::collections::HashSet;

use morn_store::{OrgMembership, Role, WorkspaceMembership};

use super::{Shared, collect_pages, expect_reference, found, id, new_org, new_user, new_workspace};

pub async fn org_membership_upsert_list_remove(store: Shared) -> anyhow::Result<()> {
    let org = new_org(&store).await?;
    let user = new_user(&store).await?;
    let m = OrgMembership {
        org_id: org.id.clone(),
        user_id: user.id.clone(),
        role: Role::Member,
        created_at: 100,
    };
    store.upsert_org_membership(&m).await?;
    assert_eq!(
        store.get_org_membership(&org.id, &user.id).await?,
        Some(m.clone())
    );

    // Upserting again changes the role, keeps one row and the first created_at.
    store
        .upsert_org_membership(&OrgMembership {
            role: Role::Admin,
            created_at: 999,
            ..m.clone()
        })
        .await?;
    let got = found(store.get_org_membership(&org.id, &user.id).await?, "member")?;
    assert_eq!((got.role, got.created_at), (Role::Admin, 100));

    let mut users = vec![user.id.clone()];
    for _ in 0..4 {
        let u = new_user(&store).await?;
        store
            .upsert_org_membership(&OrgMembership {
                user_id: u.id.clone(),
                role: Role::Viewer,
                ..m.clone()
            })
            .await?;
        users.push(u.id);
    }
    let (listed, pages) = collect_pages(
        2,
        |m: &OrgMembership| m.user_id.clone(),
        |page| {
            let store = store.clone();
            let org_id = org.id.clone();
            async move { store.list_org_members(&org_id, page).await }
        },
    )
    .await?;
    assert_eq!(pages, 3);
    assert_eq!(listed, users, "one row per member, after the upsert too");

    assert!(store.remove_org_membership(&org.id, &user.id).await?);
    assert!(!store.remove_org_membership(&org.id, &user.id).await?);
    assert_eq!(store.get_org_membership(&org.id, &user.id).await?, None);

    let ghost = OrgMembership {
        user_id: id(),
        ..m.clone()
    };
    expect_reference(store.upsert_org_membership(&ghost).await)?;
    Ok(())
}

pub async fn workspace_membership_and_user_listings(store: Shared) -> anyhow::Result<()> {
    let org_a = new_org(&store).await?;
    let org_b = new_org(&store).await?;
    let ws_a = new_workspace(&store, &org_a).await?;
    let ws_b = new_workspace(&store, &org_b).await?;
    let ws_unrelated = new_workspace(&store, &org_b).await?;
    let user = new_user(&store).await?;
    let m = WorkspaceMembership {
        workspace_id: ws_a.id.clone(),
        user_id: user.id.clone(),
        role: Role::Viewer,
        created_at: 5,
    };
    store.upsert_workspace_membership(&m).await?;
    store
        .upsert_workspace_membership(&WorkspaceMembership {
            role: Role::Admin,
            ..m.clone()
        })
        .await?;
    store
        .upsert_workspace_membership(&WorkspaceMembership {
            workspace_id: ws_b.id.clone(),
            role: Role::Member,
            ..m.clone()
        })
        .await?;
    let got = found(
        store.get_workspace_membership(&ws_a.id, &user.id).await?,
        "member",
    )?;
    assert_eq!(got.role, Role::Admin);

    let mut members = vec![user.id.clone()];
    for _ in 0..2 {
        let u = new_user(&store).await?;
        store
            .upsert_workspace_membership(&WorkspaceMembership {
                user_id: u.id.clone(),
                ..m.clone()
            })
            .await?;
        members.push(u.id);
    }
    let (listed, pages) = collect_pages(
        2,
        |m: &WorkspaceMembership| m.user_id.clone(),
        |page| {
            let store = store.clone();
            let ws = ws_a.id.clone();
            async move { store.list_workspace_members(&ws, page).await }
        },
    )
    .await?;
    assert_eq!(pages, 2);
    assert_eq!(listed, members);

    let mine = store.list_user_workspaces(&user.id).await?;
    let seen: Vec<(String, Role)> = mine
        .iter()
        .map(|uw| (uw.workspace.id.clone(), uw.role))
        .collect();
    assert_eq!(
        seen,
        vec![
            (ws_a.id.clone(), Role::Admin),
            (ws_b.id.clone(), Role::Member)
        ]
    );
    assert_eq!(mine[0].workspace, ws_a);
    assert!(!seen.iter().any(|(id, _)| *id == ws_unrelated.id));

    store
        .upsert_org_membership(&OrgMembership {
            org_id: org_b.id.clone(),
            user_id: user.id.clone(),
            role: Role::Owner,
            created_at: 1,
        })
        .await?;
    let orgs = store.list_user_orgs(&user.id).await?;
    assert_eq!(orgs.len(), 1);
    assert_eq!((orgs[0].org.clone(), orgs[0].role), (org_b, Role::Owner));

    assert!(
        store
            .remove_workspace_membership(&ws_a.id, &user.id)
            .await?
    );
    assert!(
        !store
            .remove_workspace_membership(&ws_a.id, &user.id)
            .await?
    );
    let left: HashSet<String> = store
        .list_user_workspaces(&user.id)
        .await?
        .into_iter()
        .map(|uw| uw.workspace.id)
        .collect();
    assert_eq!(left, HashSet::from([ws_b.id.clone()]));
    expect_reference(
        store
            .upsert_workspace_membership(&WorkspaceMembership {
                workspace_id: id(),
                ..m
            })
            .await,
    )?;
    Ok(())
}

/// Asserts `Conflict { what: "last owner" }`.
fn expect_last_owner<T: std::fmt::Debug>(
    result: Result<T, morn_store::StoreError>,
) -> anyhow::Result<()> {
    super::expect_conflict(result, "last owner")
}

pub async fn last_owner_is_kept(store: Shared) -> anyhow::Result<()> {
    let org = new_org(&store).await?;
    let ws = new_workspace(&store, &org).await?;
    let first = new_user(&store).await?;
    let second = new_user(&store).await?;
    let org_member = |user: &str, role| OrgMembership {
        org_id: org.id.clone(),
        user_id: user.to_owned(),
        role,
        created_at: 100,
    };
    let ws_member = |user: &str, role| WorkspaceMembership {
        workspace_id: ws.id.clone(),
        user_id: user.to_owned(),
        role,
        created_at: 100,
    };

    // One owner: neither demoted nor removed, in the organization or the workspace.
    store
        .upsert_org_membership(&org_member(&first.id, Role::Owner))
        .await?;
    store
        .upsert_workspace_membership(&ws_member(&first.id, Role::Owner))
        .await?;
    expect_last_owner(
        store
            .upsert_org_membership(&org_member(&first.id, Role::Admin))
            .await,
    )?;
    expect_last_owner(store.remove_org_membership(&org.id, &first.id).await)?;
    expect_last_owner(
        store
            .upsert_workspace_membership(&ws_member(&first.id, Role::Viewer))
            .await,
    )?;
    expect_last_owner(store.remove_workspace_membership(&ws.id, &first.id).await)?;
    let kept = found(store.get_org_membership(&org.id, &first.id).await?, "owner")?;
    assert_eq!(kept.role, Role::Owner);
    let kept = found(
        store.get_workspace_membership(&ws.id, &first.id).await?,
        "owner",
    )?;
    assert_eq!(kept.role, Role::Owner);

    // Re-asserting the owner role and removing a non-member are fine.
    store
        .upsert_org_membership(&org_member(&first.id, Role::Owner))
        .await?;
    assert!(!store.remove_org_membership(&org.id, &second.id).await?);

    // With a second owner, the first may step down, and then the second is the last.
    store
        .upsert_org_membership(&org_member(&second.id, Role::Owner))
        .await?;
    store
        .upsert_workspace_membership(&ws_member(&second.id, Role::Owner))
        .await?;
    store
        .upsert_org_membership(&org_member(&first.id, Role::Member))
        .await?;
    assert!(store.remove_workspace_membership(&ws.id, &first.id).await?);
    expect_last_owner(store.remove_org_membership(&org.id, &second.id).await)?;
    expect_last_owner(store.remove_workspace_membership(&ws.id, &second.id).await)?;
    Ok(())
}

/// Two owners removing each other at the same moment: one wins, one owner is left.
pub async fn concurrent_owner_removals_keep_one(store: Shared) -> anyhow::Result<()> {
    let org = new_org(&store).await?;
    let ws = new_workspace(&store, &org).await?;
    let a = new_user(&store).await?;
    let b = new_user(&store).await?;
    for user in [&a, &b] {
        store
            .upsert_workspace_membership(&WorkspaceMembership {
                workspace_id: ws.id.clone(),
                user_id: user.id.clone(),
                role: Role::Owner,
                created_at: 100,
            })
            .await?;
    }
    let remove = |user: String| {
        let store = store.clone();
        let ws = ws.id.clone();
        tokio::spawn(async move { store.remove_workspace_membership(&ws, &user).await })
    };
    let (ra, rb) = (remove(a.id.clone()), remove(b.id.clone()));
    let results = [ra.await?, rb.await?];
    let removed = results.iter().filter(|r| matches!(r, Ok(true))).count();
    assert_eq!(removed, 1, "exactly one removal succeeds: {results:?}");
    let mut owners = 0;
    for user in [&a, &b] {
        if store
            .get_workspace_membership(&ws.id, &user.id)
            .await?
            .is_some_and(|m| m.role == Role::Owner)
        {
            owners += 1;
        }
    }
    assert_eq!(owners, 1);
    Ok(())
}
