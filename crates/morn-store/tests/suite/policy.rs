//! Rate limits, budgets, budget alerts and price overrides.

use morn_store::{Budget, BudgetPeriod, PolicyScope, PriceOverride, RateLimitRule, StoreError};
use serde_json::json;

use super::{Shared, expect_conflict, expect_not_found, found, id, new_org, new_workspace};

fn limit(org_id: &str, ws: &str, scope: PolicyScope, scope_id: &str) -> RateLimitRule {
    RateLimitRule {
        id: id(),
        org_id: org_id.to_owned(),
        workspace_id: ws.to_owned(),
        scope,
        scope_id: scope_id.to_owned(),
        model: None,
        rpm: Some(60),
        tpm: Some(100_000),
        max_concurrent: None,
        created_at: 10,
        updated_at: 10,
    }
}

fn budget(org_id: &str, ws: &str, scope: PolicyScope, scope_id: &str) -> Budget {
    Budget {
        id: id(),
        org_id: org_id.to_owned(),
        workspace_id: ws.to_owned(),
        scope,
        scope_id: scope_id.to_owned(),
        period: BudgetPeriod::Month,
        amount_micros: 25_000_000,
        alert_percents: vec![50, 80, 100],
        webhook_url: Some("https://hooks.example.com/budget".into()),
        hard_stop: true,
        created_at: 20,
        updated_at: 20,
    }
}

fn price(org_id: &str, ws: Option<&str>, model: &str, deployment: Option<&str>) -> PriceOverride {
    PriceOverride {
        id: id(),
        org_id: org_id.to_owned(),
        workspace_id: ws.map(str::to_owned),
        model: model.to_owned(),
        deployment: deployment.map(str::to_owned),
        price: json!({"input": 150_000, "output": 600_000, "cache_read": 75_000}),
        created_at: 30,
        updated_at: 30,
    }
}

pub async fn rate_limit_round_trip(store: Shared) -> anyhow::Result<()> {
    let org = new_org(&store).await?;
    let other = new_org(&store).await?;
    let ws = new_workspace(&store, &org).await?;
    let ws2 = new_workspace(&store, &org).await?;

    let whole = limit(&org.id, &ws.id, PolicyScope::Workspace, &ws.id);
    let mut per_key = limit(&org.id, &ws.id, PolicyScope::Key, "key-1");
    per_key.model = Some("gpt-4o".into());
    per_key.max_concurrent = Some(4);
    let elsewhere = limit(&org.id, &ws2.id, PolicyScope::User, "user-1");
    for rule in [&whole, &per_key, &elsewhere] {
        store.create_rate_limit(rule).await?;
    }
    assert_eq!(
        store.get_rate_limit(&org.id, &per_key.id).await?,
        Some(per_key.clone())
    );
    // Another organization cannot read, change or delete it by id.
    assert_eq!(store.get_rate_limit(&other.id, &per_key.id).await?, None);
    assert!(!store.delete_rate_limit(&other.id, &per_key.id).await?);
    let mut stolen = per_key.clone();
    stolen.org_id = other.id.clone();
    expect_not_found(store.update_rate_limit(&stolen).await)?;

    assert_eq!(
        store.list_rate_limits(&org.id, &ws.id).await?,
        vec![whole.clone(), per_key.clone()]
    );
    assert_eq!(store.list_rate_limits(&other.id, &ws.id).await?, Vec::new());
    assert_eq!(
        store.list_all_rate_limits().await?,
        vec![whole.clone(), per_key.clone(), elsewhere.clone()]
    );

    // One rule per subject and model; "every model" is a subject of its own.
    let mut twin = limit(&org.id, &ws.id, PolicyScope::Key, "key-1");
    twin.model = Some("gpt-4o".into());
    expect_conflict(store.create_rate_limit(&twin).await, "rate limit")?;
    store
        .create_rate_limit(&limit(&org.id, &ws.id, PolicyScope::Key, "key-1"))
        .await?;
    let again = limit(&org.id, &ws.id, PolicyScope::Workspace, &ws.id);
    expect_conflict(store.create_rate_limit(&again).await, "rate limit")?;

    let mut changed = per_key.clone();
    changed.rpm = None;
    changed.tpm = Some(5);
    changed.model = None;
    changed.scope_id = "key-2".into();
    changed.updated_at = 99;
    changed.created_at = 12345;
    store.update_rate_limit(&changed).await?;
    let got = found(store.get_rate_limit(&org.id, &per_key.id).await?, "rule")?;
    assert_eq!(got.tpm, Some(5));
    assert_eq!(got.rpm, None);
    assert_eq!(got.scope_id, "key-2");
    assert_eq!(got.updated_at, 99);
    assert_eq!(got.created_at, per_key.created_at, "created_at is kept");

    assert!(store.delete_rate_limit(&org.id, &per_key.id).await?);
    assert!(!store.delete_rate_limit(&org.id, &per_key.id).await?);
    expect_not_found(store.update_rate_limit(&changed).await)?;
    Ok(())
}

pub async fn rate_limit_constraints(store: Shared) -> anyhow::Result<()> {
    let org = new_org(&store).await?;
    let other = new_org(&store).await?;
    let ws = new_workspace(&store, &org).await?;
    // A rule needs at least one positive limit.
    let mut empty = limit(&org.id, &ws.id, PolicyScope::Key, "k");
    (empty.rpm, empty.tpm) = (None, None);
    assert!(store.create_rate_limit(&empty).await.is_err());
    let mut negative = limit(&org.id, &ws.id, PolicyScope::Key, "k");
    negative.rpm = Some(0);
    assert!(store.create_rate_limit(&negative).await.is_err());
    // A workspace rule names its own workspace.
    let wrong = limit(&org.id, &ws.id, PolicyScope::Workspace, "another");
    assert!(store.create_rate_limit(&wrong).await.is_err());
    // The workspace must belong to the organization.
    let foreign = limit(&other.id, &ws.id, PolicyScope::Key, "k");
    assert!(matches!(
        store.create_rate_limit(&foreign).await,
        Err(StoreError::Reference { .. })
    ));
    // Deleting the workspace deletes its rules.
    let rule = limit(&org.id, &ws.id, PolicyScope::Key, "k");
    store.create_rate_limit(&rule).await?;
    store.delete_workspace(&ws.id).await?;
    assert_eq!(store.get_rate_limit(&org.id, &rule.id).await?, None);
    Ok(())
}

pub async fn budget_round_trip(store: Shared) -> anyhow::Result<()> {
    let org = new_org(&store).await?;
    let other = new_org(&store).await?;
    let ws = new_workspace(&store, &org).await?;

    let monthly = budget(&org.id, &ws.id, PolicyScope::Workspace, &ws.id);
    let mut daily = budget(&org.id, &ws.id, PolicyScope::Workspace, &ws.id);
    daily.period = BudgetPeriod::Day;
    daily.webhook_url = None;
    daily.hard_stop = false;
    daily.alert_percents = Vec::new();
    let mut per_user = budget(&org.id, &ws.id, PolicyScope::User, "user-1");
    per_user.period = BudgetPeriod::Total;
    per_user.amount_micros = 0;
    for b in [&monthly, &daily, &per_user] {
        store.create_budget(b).await?;
    }
    assert_eq!(
        store.get_budget(&org.id, &daily.id).await?,
        Some(daily.clone())
    );
    assert_eq!(store.get_budget(&other.id, &daily.id).await?, None);
    assert_eq!(
        store.list_budgets(&org.id, &ws.id).await?,
        vec![monthly.clone(), daily.clone(), per_user.clone()]
    );
    assert_eq!(store.list_all_budgets().await?.len(), 3);
    let twin = budget(&org.id, &ws.id, PolicyScope::Workspace, &ws.id);
    expect_conflict(store.create_budget(&twin).await, "budget")?;
    let mut negative = budget(&org.id, &ws.id, PolicyScope::Key, "k");
    negative.amount_micros = -1;
    assert!(store.create_budget(&negative).await.is_err());

    let mut changed = monthly.clone();
    changed.amount_micros = 1;
    changed.alert_percents = vec![100];
    changed.webhook_url = None;
    changed.hard_stop = false;
    changed.updated_at = 77;
    store.update_budget(&changed).await?;
    assert_eq!(
        store.get_budget(&org.id, &monthly.id).await?,
        Some(changed.clone())
    );
    let mut stolen = changed.clone();
    stolen.org_id = other.id.clone();
    expect_not_found(store.update_budget(&stolen).await)?;
    assert!(!store.delete_budget(&other.id, &monthly.id).await?);
    assert!(store.delete_budget(&org.id, &monthly.id).await?);
    assert!(!store.delete_budget(&org.id, &monthly.id).await?);
    Ok(())
}

pub async fn budget_alert_fires_once(store: Shared) -> anyhow::Result<()> {
    let org = new_org(&store).await?;
    let ws = new_workspace(&store, &org).await?;
    let b = budget(&org.id, &ws.id, PolicyScope::Workspace, &ws.id);
    store.create_budget(&b).await?;

    // Many replicas race for the same alert: exactly one wins.
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (store, id) = (store.clone(), b.id.clone());
        tasks.push(tokio::spawn(async move {
            store.claim_budget_alert(&id, 1_000, 80, 5_000 + i).await
        }));
    }
    let mut winners = 0;
    for task in tasks {
        if task.await?? {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
    // Another percent or another period is another alert.
    assert!(store.claim_budget_alert(&b.id, 1_000, 100, 6_000).await?);
    assert!(store.claim_budget_alert(&b.id, 2_000, 80, 6_000).await?);
    assert!(!store.claim_budget_alert(&b.id, 2_000, 80, 7_000).await?);
    // Deleting the budget forgets its alerts.
    assert!(store.delete_budget(&org.id, &b.id).await?);
    assert!(
        store
            .claim_budget_alert(&b.id, 1_000, 80, 8_000)
            .await
            .is_err()
    );
    Ok(())
}

pub async fn price_override_round_trip(store: Shared) -> anyhow::Result<()> {
    let org = new_org(&store).await?;
    let other = new_org(&store).await?;
    let ws = new_workspace(&store, &org).await?;
    let w = Some(ws.id.as_str());

    let org_wide = price(&org.id, None, "gpt-4o", None);
    let for_ws = price(&org.id, w, "gpt-4o", None);
    let for_deployment = price(&org.id, w, "gpt-4o", Some("openai/gpt-4o-2024-08-06"));
    for p in [&org_wide, &for_ws, &for_deployment] {
        store.create_price_override(p).await?;
    }
    let theirs = price(&other.id, None, "gpt-4o", None);
    store.create_price_override(&theirs).await?;

    assert_eq!(
        store.get_price_override(&org.id, &for_ws.id).await?,
        Some(for_ws.clone())
    );
    assert_eq!(store.get_price_override(&other.id, &for_ws.id).await?, None);
    assert_eq!(
        store.list_price_overrides(&org.id, None).await?,
        vec![org_wide.clone(), for_ws.clone(), for_deployment.clone()]
    );
    assert_eq!(
        store.list_price_overrides(&org.id, w).await?,
        vec![for_ws.clone(), for_deployment.clone()]
    );
    assert_eq!(store.list_all_price_overrides().await?.len(), 4);

    // NULL workspace and NULL deployment still count as one subject each.
    let twin = price(&org.id, None, "gpt-4o", None);
    expect_conflict(store.create_price_override(&twin).await, "price override")?;
    let twin = price(&org.id, w, "gpt-4o", None);
    expect_conflict(store.create_price_override(&twin).await, "price override")?;
    // A workspace of another organization is refused.
    let foreign = price(&other.id, w, "gpt-4o", None);
    assert!(store.create_price_override(&foreign).await.is_err());

    let mut changed = for_ws.clone();
    changed.price = json!({"input": 1, "output": 2});
    changed.deployment = Some("azure/gpt-4o".into());
    changed.updated_at = 55;
    store.update_price_override(&changed).await?;
    assert_eq!(
        store.get_price_override(&org.id, &for_ws.id).await?,
        Some(changed.clone())
    );
    let mut stolen = changed.clone();
    stolen.org_id = other.id.clone();
    expect_not_found(store.update_price_override(&stolen).await)?;

    assert!(!store.delete_price_override(&other.id, &org_wide.id).await?);
    assert!(store.delete_price_override(&org.id, &org_wide.id).await?);
    assert!(!store.delete_price_override(&org.id, &org_wide.id).await?);
    store.delete_workspace(&ws.id).await?;
    assert_eq!(store.list_price_overrides(&org.id, None).await?, Vec::new());
    Ok(())
}
