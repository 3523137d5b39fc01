//! Users.

use morn_store::{User, UserPatch};

use super::{Shared, collect_pages, expect_conflict, expect_not_found, found, id, user_record};

pub async fn user_round_trip_and_email_case(store: Shared) -> anyhow::Result<()> {
    let mut user = user_record();
    user.email = "Ada.Lovelace@Example.COM".into();
    user.password_hash = None;
    store.create_user(&user).await?;

    let stored = found(store.get_user(&user.id).await?, "user")?;
    assert_eq!(stored.email, "ada.lovelace@example.com");
    assert_eq!(
        stored,
        User {
            email: "ada.lovelace@example.com".into(),
            ..user.clone()
        }
    );
    let by_email = store.get_user_by_email("ADA.lovelace@example.com").await?;
    assert_eq!(by_email, Some(stored));
    assert_eq!(store.get_user_by_email("nobody@example.com").await?, None);
    assert_eq!(store.get_user(&id()).await?, None);

    let twin = User {
        id: id(),
        email: "ada.lovelace@EXAMPLE.com".into(),
        ..user
    };
    expect_conflict(store.create_user(&twin).await, "user email")?;
    assert_eq!(store.get_user(&twin.id).await?, None);
    Ok(())
}

pub async fn update_user_patch(store: Shared) -> anyhow::Result<()> {
    let user = super::new_user(&store).await?;
    let renamed = store
        .update_user(
            &user.id,
            &UserPatch {
                name: Some("Ada L.".into()),
                password_hash: None,
                is_active: None,
                updated_at: 4_000,
            },
        )
        .await?;
    assert_eq!(
        renamed,
        User {
            name: "Ada L.".into(),
            updated_at: 4_000,
            ..user.clone()
        }
    );

    let changed = store
        .update_user(
            &user.id,
            &UserPatch {
                name: None,
                password_hash: Some(None),
                is_active: Some(false),
                updated_at: 5_000,
            },
        )
        .await?;
    assert_eq!(changed.password_hash, None);
    assert!(!changed.is_active);
    assert_eq!(changed.name, "Ada L.");
    assert_eq!(store.get_user(&user.id).await?, Some(changed));

    let rehashed = store
        .update_user(
            &user.id,
            &UserPatch {
                name: None,
                password_hash: Some(Some("new-hash".into())),
                is_active: Some(true),
                updated_at: 6_000,
            },
        )
        .await?;
    assert_eq!(rehashed.password_hash.as_deref(), Some("new-hash"));
    assert!(rehashed.is_active);

    let patch = UserPatch {
        name: Some("x".into()),
        password_hash: None,
        is_active: None,
        updated_at: 1,
    };
    expect_not_found(store.update_user(&id(), &patch).await)?;
    Ok(())
}

pub async fn users_paginate(store: Shared) -> anyhow::Result<()> {
    let mut created = Vec::new();
    for _ in 0..5 {
        created.push(super::new_user(&store).await?.id);
    }
    let (ids, pages) = collect_pages(
        2,
        |u: &User| u.id.clone(),
        |page| {
            let store = store.clone();
            async move { store.list_users(page).await }
        },
    )
    .await?;
    assert_eq!(pages, 3);
    assert_eq!(ids, created);
    Ok(())
}
