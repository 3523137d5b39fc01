//! Refresh tokens and sessions.

use std::collections::HashSet;

use morn_store::RefreshToken;

use super::{Shared, expect_conflict, expect_reference, found, id, new_user, unique};

fn token(user_id: &str, family_id: &str, created_at: i64) -> RefreshToken {
    RefreshToken {
        id: id(),
        user_id: user_id.to_owned(),
        family_id: family_id.to_owned(),
        hash: format!("{}{}", unique(), "cd".repeat(26)),
        created_at,
        expires_at: created_at + 1_000_000,
        used_at: None,
        revoked_at: None,
        user_agent: Some("curl/8".into()),
        ip: Some("203.0.113.7".into()),
    }
}

pub async fn refresh_token_round_trip(store: Shared) -> anyhow::Result<()> {
    let user = new_user(&store).await?;
    let t = token(&user.id, &id(), 10);
    store.insert_refresh_token(&t).await?;
    assert_eq!(
        store.get_refresh_token_by_hash(&t.hash).await?,
        Some(t.clone())
    );
    assert_eq!(store.get_refresh_token_by_hash("nope").await?, None);

    let bare = RefreshToken {
        user_agent: None,
        ip: None,
        ..token(&user.id, &t.family_id, 11)
    };
    store.insert_refresh_token(&bare).await?;
    assert_eq!(
        store.get_refresh_token_by_hash(&bare.hash).await?,
        Some(bare)
    );

    let dup = RefreshToken {
        hash: t.hash.clone(),
        ..token(&user.id, &t.family_id, 12)
    };
    expect_conflict(store.insert_refresh_token(&dup).await, "refresh token")?;
    expect_reference(store.insert_refresh_token(&token(&id(), &id(), 1)).await)?;
    Ok(())
}

pub async fn concurrent_mark_used_has_one_winner(store: Shared) -> anyhow::Result<()> {
    let user = new_user(&store).await?;
    for round in 0..5 {
        let t = token(&user.id, &id(), round);
        store.insert_refresh_token(&t).await?;
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(8));
        let mut tasks = Vec::new();
        for attempt in 0..8 {
            let store = store.clone();
            let id = t.id.clone();
            let barrier = barrier.clone();
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                store.mark_refresh_token_used(&id, 1_000 + attempt).await
            }));
        }
        let mut winners = 0;
        for task in tasks {
            if task.await?? {
                winners += 1;
            }
        }
        assert_eq!(
            winners, 1,
            "round {round}: exactly one caller marks the token"
        );
        let used = found(store.get_refresh_token_by_hash(&t.hash).await?, "token")?;
        assert!(used.used_at.is_some());
        assert!(
            !store.mark_refresh_token_used(&t.id, 5_000).await?,
            "reuse is seen"
        );
    }
    assert!(!store.mark_refresh_token_used(&id(), 1).await?);
    Ok(())
}

pub async fn family_revocation(store: Shared) -> anyhow::Result<()> {
    let user = new_user(&store).await?;
    let (fam_a, fam_b) = (id(), id());
    let a1 = token(&user.id, &fam_a, 10);
    let a2 = token(&user.id, &fam_a, 20);
    let b1 = token(&user.id, &fam_b, 30);
    for t in [&a1, &a2, &b1] {
        store.insert_refresh_token(t).await?;
    }
    assert!(store.mark_refresh_token_used(&a1.id, 15).await?);

    assert_eq!(store.revoke_refresh_family(&fam_a, 40).await?, 2);
    assert_eq!(
        store.revoke_refresh_family(&fam_a, 50).await?,
        0,
        "idempotent"
    );
    for t in [&a1, &a2] {
        let got = found(store.get_refresh_token_by_hash(&t.hash).await?, "token")?;
        assert_eq!(got.revoked_at, Some(40));
    }
    let b = found(store.get_refresh_token_by_hash(&b1.hash).await?, "token")?;
    assert_eq!(b.revoked_at, None);
    assert!(
        !store.mark_refresh_token_used(&a2.id, 60).await?,
        "a revoked token cannot be used"
    );
    let live: Vec<String> = store
        .list_sessions(&user.id, 100)
        .await?
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(live, vec![b1.id.clone()]);
    Ok(())
}

pub async fn user_sessions_and_expiry(store: Shared) -> anyhow::Result<()> {
    let user = new_user(&store).await?;
    let other = new_user(&store).await?;
    let old = token(&user.id, &id(), 10);
    let newer = token(&user.id, &id(), 20);
    let expired = RefreshToken {
        expires_at: 50,
        ..token(&user.id, &id(), 30)
    };
    let used = token(&user.id, &newer.family_id, 15);
    let theirs = token(&other.id, &id(), 10);
    for t in [&old, &newer, &expired, &used, &theirs] {
        store.insert_refresh_token(t).await?;
    }
    store.mark_refresh_token_used(&used.id, 18).await?;

    let live: Vec<String> = store
        .list_sessions(&user.id, 100)
        .await?
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(
        live,
        vec![newer.id.clone(), old.id.clone()],
        "newest first, live only"
    );

    assert_eq!(store.revoke_user_sessions(&user.id, 200).await?, 4);
    assert!(store.list_sessions(&user.id, 100).await?.is_empty());
    assert_eq!(store.list_sessions(&other.id, 100).await?.len(), 1);

    assert_eq!(store.delete_expired_refresh_tokens(100).await?, 1);
    assert_eq!(store.get_refresh_token_by_hash(&expired.hash).await?, None);
    let remaining: HashSet<String> = [&old, &newer, &used, &theirs]
        .into_iter()
        .map(|t| t.hash.clone())
        .collect();
    for hash in remaining {
        assert!(store.get_refresh_token_by_hash(&hash).await?.is_some());
    }
    Ok(())
}
