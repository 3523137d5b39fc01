//! API keys.

use std::collections::HashSet;

use morn_store::{ApiKey, ApiKeyPatch};
use serde_json::json;

use super::{
    Shared, collect_pages, expect_conflict, expect_not_found, expect_reference, found, id,
    key_record, new_org, new_user, new_workspace,
};

async fn workspace_id(store: &Shared) -> anyhow::Result<String> {
    let org = new_org(store).await?;
    Ok(new_workspace(store, &org).await?.id)
}

pub async fn api_key_round_trip_and_conflicts(store: Shared) -> anyhow::Result<()> {
    let ws = workspace_id(&store).await?;
    let user = new_user(&store).await?;
    let key = ApiKey {
        user_id: Some(user.id.clone()),
        expires_at: Some(9_000),
        last_used_at: Some(6_000),
        ..key_record(&ws)
    };
    store.create_api_key(&key).await?;
    assert_eq!(store.get_api_key(&key.id).await?, Some(key.clone()));
    assert_eq!(
        store.get_api_key_by_hash(&key.hash).await?,
        Some(key.clone())
    );
    assert_eq!(store.get_api_key_by_hash("feed").await?, None);
    assert_eq!(store.get_api_key(&id()).await?, None);

    let other = key_record(&ws);
    let same_hash = ApiKey {
        hash: key.hash.clone(),
        ..other.clone()
    };
    expect_conflict(store.create_api_key(&same_hash).await, "api key")?;
    let same_prefix = ApiKey {
        prefix: key.prefix.clone(),
        ..other.clone()
    };
    expect_conflict(store.create_api_key(&same_prefix).await, "api key")?;
    assert_eq!(store.get_api_key(&other.id).await?, None);
    expect_reference(store.create_api_key(&key_record(&id())).await)?;

    // A key with nothing optional set round-trips too.
    let bare = ApiKey {
        scopes: vec![],
        allowed_models: vec![],
        metadata: json!({}),
        ..other
    };
    store.create_api_key(&bare).await?;
    assert_eq!(store.get_api_key(&bare.id).await?, Some(bare));
    Ok(())
}

pub async fn api_keys_paginate_per_workspace(store: Shared) -> anyhow::Result<()> {
    let ws = workspace_id(&store).await?;
    let elsewhere = workspace_id(&store).await?;
    let mut created = Vec::new();
    for i in 0..7 {
        let key = key_record(&ws);
        store.create_api_key(&key).await?;
        created.push(key.id);
        if i % 2 == 0 {
            store.create_api_key(&key_record(&elsewhere)).await?;
        }
    }
    let (ids, pages) = collect_pages(
        3,
        |k: &ApiKey| k.id.clone(),
        |page| {
            let store = store.clone();
            let ws = ws.clone();
            async move { store.list_api_keys(&ws, page).await }
        },
    )
    .await?;
    assert_eq!(pages, 3);
    assert_eq!(ids, created, "this workspace's keys once each, in id order");
    Ok(())
}

pub async fn update_api_key_patch(store: Shared) -> anyhow::Result<()> {
    let ws = workspace_id(&store).await?;
    let key = ApiKey {
        expires_at: Some(50_000),
        ..key_record(&ws)
    };
    store.create_api_key(&key).await?;

    let unchanged = store
        .update_api_key(&key.id, &ApiKeyPatch::default())
        .await?;
    assert_eq!(unchanged, key);

    let patch = ApiKeyPatch {
        name: Some("prod".into()),
        scopes: Some(vec!["admin".into()]),
        allowed_models: Some(vec![]),
        metadata: Some(json!({"owner": {"team": "ml"}})),
        expires_at: Some(None),
        disabled: Some(true),
    };
    let updated = store.update_api_key(&key.id, &patch).await?;
    let expected = ApiKey {
        name: "prod".into(),
        scopes: vec!["admin".into()],
        allowed_models: vec![],
        metadata: json!({"owner": {"team": "ml"}}),
        expires_at: None,
        disabled: true,
        ..key.clone()
    };
    assert_eq!(updated, expected);
    assert_eq!(store.get_api_key(&key.id).await?, Some(expected.clone()));

    let only_expiry = ApiKeyPatch {
        expires_at: Some(Some(70_000)),
        ..ApiKeyPatch::default()
    };
    let updated = store.update_api_key(&key.id, &only_expiry).await?;
    assert_eq!(updated.expires_at, Some(70_000));
    assert_eq!(updated.name, "prod");

    expect_not_found(store.update_api_key(&id(), &patch).await)?;
    expect_not_found(store.update_api_key(&id(), &ApiKeyPatch::default()).await)?;
    Ok(())
}

pub async fn revoke_and_touch(store: Shared) -> anyhow::Result<()> {
    let ws = workspace_id(&store).await?;
    let key = key_record(&ws);
    store.create_api_key(&key).await?;

    assert!(store.touch_api_key(&key.id, 10).await?);
    assert!(store.touch_api_key(&key.id, 20).await?);
    assert!(
        !store.touch_api_key(&key.id, 15).await?,
        "never moves backwards"
    );
    assert_eq!(
        found(store.get_api_key(&key.id).await?, "key")?.last_used_at,
        Some(20)
    );
    assert!(!store.touch_api_key(&id(), 30).await?);

    assert!(store.revoke_api_key(&key.id, 100).await?);
    assert!(
        !store.revoke_api_key(&key.id, 200).await?,
        "already revoked"
    );
    assert_eq!(
        found(store.get_api_key(&key.id).await?, "key")?.revoked_at,
        Some(100)
    );
    assert!(!store.revoke_api_key(&id(), 100).await?);
    Ok(())
}

pub async fn rotate_api_key(store: Shared) -> anyhow::Result<()> {
    let ws = workspace_id(&store).await?;
    let old = key_record(&ws);
    store.create_api_key(&old).await?;
    let new = ApiKey {
        rotated_from: Some(old.id.clone()),
        ..key_record(&ws)
    };
    store.rotate_api_key(&old.id, 60_000, &new).await?;
    let old_now = found(store.get_api_key(&old.id).await?, "old key")?;
    assert_eq!(old_now.grace_until, Some(60_000));
    assert_eq!(old_now.revoked_at, None);
    assert_eq!(
        store.get_api_key_by_hash(&new.hash).await?,
        Some(new.clone())
    );

    // A revoked key cannot be rotated, and nothing is inserted.
    store.revoke_api_key(&new.id, 70_000).await?;
    let newer = key_record(&ws);
    expect_not_found(store.rotate_api_key(&new.id, 80_000, &newer).await)?;
    assert_eq!(store.get_api_key(&newer.id).await?, None);
    expect_not_found(store.rotate_api_key(&id(), 80_000, &newer).await)?;
    assert_eq!(store.get_api_key(&newer.id).await?, None);
    Ok(())
}

pub async fn failed_rotation_leaves_old_key_untouched(store: Shared) -> anyhow::Result<()> {
    let ws = workspace_id(&store).await?;
    let old = key_record(&ws);
    store.create_api_key(&old).await?;
    let taken = key_record(&ws);
    store.create_api_key(&taken).await?;
    // The grace update succeeds, then the insert hits a taken hash: both roll back.
    let clash = ApiKey {
        hash: taken.hash.clone(),
        rotated_from: Some(old.id.clone()),
        ..key_record(&ws)
    };
    expect_conflict(
        store.rotate_api_key(&old.id, 60_000, &clash).await,
        "api key",
    )?;
    assert_eq!(store.get_api_key(&old.id).await?, Some(old));
    assert_eq!(store.get_api_key(&clash.id).await?, None);
    Ok(())
}

pub async fn list_active_api_keys(store: Shared) -> anyhow::Result<()> {
    let ws = workspace_id(&store).await?;
    let now = 100_000;
    let cases = [
        ("plain", key_record(&ws), true),
        (
            "disabled",
            ApiKey {
                disabled: true,
                ..key_record(&ws)
            },
            true,
        ),
        (
            "future expiry",
            ApiKey {
                expires_at: Some(now + 1),
                ..key_record(&ws)
            },
            true,
        ),
        (
            "expired",
            ApiKey {
                expires_at: Some(now),
                ..key_record(&ws)
            },
            false,
        ),
        (
            "revoked",
            ApiKey {
                revoked_at: Some(now - 5),
                ..key_record(&ws)
            },
            false,
        ),
        (
            "in grace",
            ApiKey {
                grace_until: Some(now + 10),
                ..key_record(&ws)
            },
            true,
        ),
        (
            "grace over",
            ApiKey {
                grace_until: Some(now - 10),
                ..key_record(&ws)
            },
            false,
        ),
    ];
    let mut expected = HashSet::new();
    for (_, key, active) in &cases {
        store.create_api_key(key).await?;
        if *active {
            expected.insert(key.id.clone());
        }
    }
    let listed: HashSet<String> = store
        .list_active_api_keys(now)
        .await?
        .into_iter()
        .map(|k| k.id)
        .collect();
    for (label, key, active) in &cases {
        assert_eq!(listed.contains(&key.id), *active, "{label}");
    }
    assert_eq!(listed, expected);
    Ok(())
}

pub async fn keys_of_inactive_users_are_not_active(store: Shared) -> anyhow::Result<()> {
    let ws = workspace_id(&store).await?;
    let user = new_user(&store).await?;
    let own = ApiKey {
        user_id: Some(user.id.clone()),
        ..key_record(&ws)
    };
    let shared = key_record(&ws);
    store.create_api_key(&own).await?;
    store.create_api_key(&shared).await?;
    let active = |store: Shared| async move {
        let ids: HashSet<String> = store
            .list_active_api_keys(10_000)
            .await?
            .into_iter()
            .map(|k| k.id)
            .collect();
        anyhow::Ok(ids)
    };
    let set_active = |flag: bool| morn_store::UserPatch {
        name: None,
        password_hash: None,
        is_active: Some(flag),
        updated_at: 9_000,
    };
    assert_eq!(
        active(store.clone()).await?,
        HashSet::from([own.id.clone(), shared.id.clone()])
    );

    store.update_user(&user.id, &set_active(false)).await?;
    assert_eq!(
        active(store.clone()).await?,
        HashSet::from([shared.id.clone()]),
        "a deactivated user's key is left out; a key without a user stays"
    );

    store.update_user(&user.id, &set_active(true)).await?;
    assert!(
        active(store.clone()).await?.contains(&own.id),
        "reactivated"
    );
    Ok(())
}
