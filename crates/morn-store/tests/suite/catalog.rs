//! The provider and model catalog.

use morn_store::{ModelRecord, ProviderRecord};
use serde_json::json;

use super::{
    Shared, expect_conflict, expect_not_found, expect_reference, found, id, new_org, new_workspace,
    secret_record,
};

fn provider(org_id: &str, ws: Option<&str>, name: &str) -> ProviderRecord {
    ProviderRecord {
        id: id(),
        org_id: org_id.to_owned(),
        workspace_id: ws.map(str::to_owned),
        name: name.to_owned(),
        kind: "openai_compatible".into(),
        base_url: Some("http://127.0.0.1:11434/v1".into()),
        secret_id: None,
        headers: json!({"x-team": "ml"}),
        created_at: 1,
        updated_at: 1,
    }
}

fn model(org_id: &str, ws: Option<&str>, name: &str) -> ModelRecord {
    ModelRecord {
        id: id(),
        org_id: org_id.to_owned(),
        workspace_id: ws.map(str::to_owned),
        name: name.to_owned(),
        spec: json!({
            "strategy": "weighted",
            "deployments": [{"provider": "local", "model": "llama3", "weight": 2}],
            "fallbacks": ["small"],
        }),
        created_at: 1,
        updated_at: 1,
    }
}

pub async fn catalog_scoping(store: Shared) -> anyhow::Result<()> {
    let org = new_org(&store).await?;
    let ws_a = new_workspace(&store, &org).await?;
    let ws_b = new_workspace(&store, &org).await?;
    let (a, b) = (Some(ws_a.id.as_str()), Some(ws_b.id.as_str()));

    let org_model = model(&org.id, None, "chat");
    let a_model = model(&org.id, a, "chat");
    let a_other = model(&org.id, a, "beta");
    let b_model = model(&org.id, b, "embed");
    for m in [&org_model, &a_model, &a_other, &b_model] {
        store.create_model(m).await?;
    }
    assert_eq!(
        store.list_models(&org.id, a).await?,
        vec![a_other.clone(), a_model.clone()]
    );
    assert_eq!(store.list_models(&org.id, b).await?, vec![b_model.clone()]);
    assert_eq!(
        store.list_models(&org.id, None).await?,
        vec![org_model.clone()]
    );
    assert_eq!(
        store.get_model(&org.id, &a_model.id).await?,
        Some(a_model.clone())
    );
    expect_conflict(
        store.create_model(&model(&org.id, a, "chat")).await,
        "model",
    )?;
    expect_conflict(
        store.create_model(&model(&org.id, None, "chat")).await,
        "model",
    )?;

    let org_provider = provider(&org.id, None, "local");
    let a_provider = provider(&org.id, a, "local");
    store.create_provider(&org_provider).await?;
    store.create_provider(&a_provider).await?;
    assert_eq!(
        store.list_providers(&org.id, a).await?,
        vec![a_provider.clone()]
    );
    assert!(store.list_providers(&org.id, b).await?.is_empty());
    assert_eq!(
        store.list_providers(&org.id, None).await?,
        vec![org_provider.clone()]
    );
    expect_conflict(
        store
            .create_provider(&provider(&org.id, None, "local"))
            .await,
        "provider",
    )?;

    // Another organization sees none of it, even by id.
    let other = new_org(&store).await?;
    assert!(store.list_models(&other.id, None).await?.is_empty());
    assert_eq!(store.get_model(&other.id, &org_model.id).await?, None);
    assert_eq!(store.get_provider(&other.id, &org_provider.id).await?, None);
    assert_eq!(
        store.get_provider(&org.id, &org_provider.id).await?,
        Some(org_provider)
    );
    Ok(())
}

pub async fn catalog_update_and_delete(store: Shared) -> anyhow::Result<()> {
    let org = new_org(&store).await?;
    let secret = store
        .put_secret(&secret_record(&org.id, None, "key"))
        .await?;
    let p = provider(&org.id, None, "up");
    store.create_provider(&p).await?;
    let changed = ProviderRecord {
        name: "upstream".into(),
        kind: "anthropic".into(),
        base_url: None,
        secret_id: Some(secret.id.clone()),
        headers: json!({"anthropic-beta": "x"}),
        updated_at: 2,
        ..p.clone()
    };
    store.update_provider(&changed).await?;
    assert_eq!(
        store.get_provider(&org.id, &p.id).await?,
        Some(changed.clone())
    );
    let wrong_org = ProviderRecord {
        org_id: id(),
        ..changed.clone()
    };
    expect_not_found(store.update_provider(&wrong_org).await)?;
    let taken = provider(&org.id, None, "taken");
    store.create_provider(&taken).await?;
    expect_conflict(
        store
            .update_provider(&ProviderRecord {
                name: "taken".into(),
                ..changed.clone()
            })
            .await,
        "provider",
    )?;

    let m = model(&org.id, None, "m");
    store.create_model(&m).await?;
    let m2 = ModelRecord {
        name: "m2".into(),
        spec: json!({"deployments": []}),
        updated_at: 3,
        ..m.clone()
    };
    store.update_model(&m2).await?;
    assert_eq!(found(store.get_model(&org.id, &m.id).await?, "model")?, m2);
    expect_not_found(store.update_model(&model(&org.id, None, "ghost")).await)?;

    let everything = store.list_all_providers().await?;
    assert_eq!(everything, vec![changed.clone(), taken.clone()]);
    assert_eq!(store.list_all_models().await?, vec![m2.clone()]);

    assert!(!store.delete_provider(&id(), &p.id).await?, "wrong tenant");
    assert!(store.delete_provider(&org.id, &p.id).await?);
    assert!(!store.delete_provider(&org.id, &p.id).await?);
    assert!(store.delete_model(&org.id, &m.id).await?);
    assert!(store.list_all_models().await?.is_empty());
    // With its provider gone the secret is free to delete.
    assert!(store.delete_secret(&org.id, &secret.id).await?);
    Ok(())
}

pub async fn catalog_rejects_cross_tenant_references(store: Shared) -> anyhow::Result<()> {
    let org = new_org(&store).await?;
    let other = new_org(&store).await?;
    let other_ws = new_workspace(&store, &other).await?;
    let other_secret = store
        .put_secret(&secret_record(&other.id, None, "k"))
        .await?;

    let foreign_ws = provider(&org.id, Some(&other_ws.id), "p");
    expect_reference(store.create_provider(&foreign_ws).await)?;
    let foreign_secret = ProviderRecord {
        secret_id: Some(other_secret.id.clone()),
        ..provider(&org.id, None, "p")
    };
    expect_reference(store.create_provider(&foreign_secret).await)?;
    expect_reference(
        store
            .create_model(&model(&org.id, Some(&other_ws.id), "m"))
            .await,
    )?;
    expect_reference(
        store
            .put_secret(&secret_record(&org.id, Some(&other_ws.id), "s"))
            .await,
    )?;
    assert!(store.list_all_providers().await?.is_empty());
    assert!(store.list_all_models().await?.is_empty());
    Ok(())
}
