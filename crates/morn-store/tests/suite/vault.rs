//! The secret vault.

use morn_store::{ProviderRecord, SecretCiphertext, VaultSecret};
use serde_json::json;

use super::{
    Shared, expect_not_found, expect_reference, found, id, new_org, new_workspace, secret_record,
};

pub async fn vault_replace_by_name(store: Shared) -> anyhow::Result<()> {
    let org = new_org(&store).await?;
    let ws = new_workspace(&store, &org).await?;
    let first = secret_record(&org.id, None, "openai");
    let stored = store.put_secret(&first).await?;
    assert_eq!(stored, first);
    assert_eq!(
        store.get_secret(&org.id, &first.id).await?,
        Some(first.clone())
    );

    // Same scope and name: replaced in place, keeping id and created_at.
    let second = VaultSecret {
        ciphertext: vec![42; 32],
        nonce: vec![7; 12],
        key_id: "k2".into(),
        hint: "sk-...0000".into(),
        created_at: 8_000,
        updated_at: 8_000,
        ..secret_record(&org.id, None, "openai")
    };
    let replaced = store.put_secret(&second).await?;
    let expected = VaultSecret {
        id: first.id.clone(),
        created_at: first.created_at,
        ..second.clone()
    };
    assert_eq!(replaced, expected);
    assert_eq!(store.get_secret(&org.id, &second.id).await?, None);
    assert_eq!(
        store.list_secrets(&org.id, None).await?,
        vec![expected.clone()]
    );

    // The same name in a workspace is a different secret.
    let scoped = store
        .put_secret(&secret_record(&org.id, Some(&ws.id), "openai"))
        .await?;
    assert_ne!(scoped.id, first.id);
    assert_eq!(
        store.list_secrets(&org.id, Some(&ws.id)).await?,
        vec![scoped.clone()]
    );
    assert_eq!(
        store.list_secrets(&org.id, None).await?,
        vec![expected.clone()]
    );
    assert_eq!(
        store
            .get_secret_by_name(&org.id, Some(&ws.id), "openai")
            .await?,
        Some(scoped.clone())
    );
    assert_eq!(
        store.get_secret_by_name(&org.id, None, "openai").await?,
        Some(expected)
    );
    assert_eq!(
        store.get_secret_by_name(&org.id, None, "anthropic").await?,
        None
    );

    // Another tenant cannot read it by id.
    let other = new_org(&store).await?;
    assert_eq!(store.get_secret(&other.id, &first.id).await?, None);
    assert!(store.list_secrets(&other.id, None).await?.is_empty());
    Ok(())
}

pub async fn vault_rotation_and_delete(store: Shared) -> anyhow::Result<()> {
    let org = new_org(&store).await?;
    let a = store.put_secret(&secret_record(&org.id, None, "a")).await?;
    let b = store.put_secret(&secret_record(&org.id, None, "b")).await?;
    let other = new_org(&store).await?;
    let c = store
        .put_secret(&secret_record(&other.id, None, "c"))
        .await?;
    let all: Vec<String> = store
        .list_all_secrets()
        .await?
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(all, vec![a.id.clone(), b.id.clone(), c.id.clone()]);

    let rewrapped = SecretCiphertext {
        ciphertext: vec![1; 40],
        nonce: vec![2; 12],
        key_id: "k9".into(),
        updated_at: 9_999,
    };
    store.update_secret_ciphertext(&a.id, &rewrapped).await?;
    let got = found(store.get_secret(&org.id, &a.id).await?, "secret")?;
    assert_eq!(
        got,
        VaultSecret {
            ciphertext: rewrapped.ciphertext.clone(),
            nonce: rewrapped.nonce.clone(),
            key_id: "k9".into(),
            updated_at: 9_999,
            ..a.clone()
        }
    );
    expect_not_found(store.update_secret_ciphertext(&id(), &rewrapped).await)?;

    // A secret a provider uses cannot be deleted; an unused one can.
    store
        .create_provider(&ProviderRecord {
            id: id(),
            org_id: org.id.clone(),
            workspace_id: None,
            name: "openai".into(),
            kind: "openai".into(),
            base_url: None,
            secret_id: Some(b.id.clone()),
            headers: json!({}),
            created_at: 1,
            updated_at: 1,
        })
        .await?;
    expect_reference(store.delete_secret(&org.id, &b.id).await)?;
    assert!(store.get_secret(&org.id, &b.id).await?.is_some());
    assert!(
        !store.delete_secret(&other.id, &a.id).await?,
        "wrong tenant"
    );
    assert!(store.delete_secret(&org.id, &a.id).await?);
    assert!(!store.delete_secret(&org.id, &a.id).await?);
    assert_eq!(store.get_secret(&org.id, &a.id).await?, None);
    Ok(())
}
