//! Billing through the platform API: rate limits, budgets and price overrides. CRUD
//! round trips, validation errors with their stable codes, roles and tenant isolation.
//! Usage reports and invoices are in `platform_usage_reports.rs`.
#![expect(clippy::unwrap_used, reason = "tests")]
#![allow(
    dead_code,
    reason = "the shared harness has parts only the other billing file uses"
)]

mod common;

include!("billing_support/harness.rs");

#[tokio::test]
async fn rate_limits_round_trip_with_validation_and_audit() -> anyhow::Result<()> {
    let env = Env::start().await?;
    let alice = env.signup("alice@example.com").await?;
    let key = env.key(&alice).await?;
    let limits = format!("/workspaces/{}/limits", alice.ws);

    let created = env
        .post(
            &limits,
            &alice.access,
            json!({"scope": "key", "scope_id": key, "model": "gpt-4o-mini", "rpm": 60}),
        )
        .await?;
    assert_eq!(created.status, 201, "{created:?}");
    assert_eq!(created.body["object"], "rate_limit");
    assert_eq!(created.body["rpm"], 60);
    assert!(created.body["tpm"].is_null());
    let id = created.str("/id");
    let one = format!("{limits}/{id}");

    // The workspace scope needs no id; it is the workspace itself.
    let whole = env
        .post(
            &limits,
            &alice.access,
            json!({"scope": "workspace", "tpm": 100_000}),
        )
        .await?;
    assert_eq!(whole.str("/scope_id"), alice.ws, "{whole:?}");
    let listed = env.get(&limits, &alice.access).await?;
    assert_eq!(listed.len(), 2);
    assert_eq!(listed.body["object"], "list");

    let changed = env
        .patch(
            &one,
            &alice.access,
            json!({"rpm": null, "max_concurrent": 2}),
        )
        .await?;
    assert_eq!(changed.status, 200, "{changed:?}");
    assert!(changed.body["rpm"].is_null());
    assert_eq!(changed.body["max_concurrent"], 2);
    assert_eq!(
        env.get(&one, &alice.access).await?.body["max_concurrent"],
        2
    );

    // Validation: stable codes, the field named.
    let cases = [
        (json!({"rpm": 5}), 400, "missing_field", "scope"),
        (
            json!({"scope": "team", "rpm": 5}),
            400,
            "invalid_value",
            "scope",
        ),
        (
            json!({"scope": "key", "rpm": 5}),
            400,
            "missing_field",
            "scope_id",
        ),
        (
            json!({"scope": "key", "scope_id": "nope", "rpm": 5}),
            400,
            "invalid_value",
            "scope_id",
        ),
        (
            json!({"scope": "user", "scope_id": "nope", "rpm": 5}),
            400,
            "invalid_value",
            "scope_id",
        ),
        (
            json!({"scope": "workspace", "scope_id": "other", "rpm": 5}),
            400,
            "invalid_value",
            "scope_id",
        ),
        (
            json!({"scope": "key", "scope_id": key, "rpm": 0}),
            400,
            "invalid_value",
            "rpm",
        ),
        (
            json!({"scope": "key", "scope_id": key, "tpm": -3}),
            400,
            "invalid_value",
            "tpm",
        ),
        (
            json!({"scope": "key", "scope_id": key}),
            400,
            "invalid_request",
            "",
        ),
        (
            json!({"scope": "workspace", "rpm": 1, "burst": 2}),
            400,
            "invalid_request",
            "",
        ),
    ];
    for (body, status, code, param) in cases {
        let reply = env.post(&limits, &alice.access, body.clone()).await?;
        assert_eq!(
            (reply.status, reply.code(), reply.param()),
            (status, code, param),
            "{body}"
        );
    }
    // Clearing the last limit is refused; a second rule for the same subject conflicts.
    let emptied = env
        .patch(&one, &alice.access, json!({"max_concurrent": null}))
        .await?;
    assert_eq!((emptied.status, emptied.code()), (400, "invalid_request"));
    let twin = env
        .post(
            &limits,
            &alice.access,
            json!({"scope": "workspace", "rpm": 1}),
        )
        .await?;
    assert_eq!((twin.status, twin.code()), (409, "conflict"));

    assert_eq!(env.delete(&one, &alice.access).await?.status, 204);
    assert_eq!(env.get(&one, &alice.access).await?.status, 404);
    assert_eq!(env.delete(&one, &alice.access).await?.status, 404);

    let audit = env
        .get(
            &format!("/orgs/{}/audit?action=rate_limit.create", alice.org),
            &alice.access,
        )
        .await?;
    assert_eq!(audit.len(), 2, "{audit:?}");
    assert_eq!(audit.body["data"][0]["target_type"], "rate_limit");
    for action in ["rate_limit.update", "rate_limit.delete"] {
        let path = format!("/orgs/{}/audit?action={action}", alice.org);
        assert_eq!(env.get(&path, &alice.access).await?.len(), 1, "{action}");
    }
    Ok(())
}

#[tokio::test]
async fn viewers_read_policies_and_only_admins_write_them() -> anyhow::Result<()> {
    let env = Env::start().await?;
    let alice = env.signup("alice@example.com").await?;
    let vera = env.signup("vera@example.com").await?;
    env.add_member(&alice, "vera@example.com", "viewer").await?;
    let limits = format!("/workspaces/{}/limits", alice.ws);
    let budgets = format!("/workspaces/{}/budgets", alice.ws);
    env.post(
        &limits,
        &alice.access,
        json!({"scope": "workspace", "rpm": 10}),
    )
    .await?;

    assert_eq!(env.get(&limits, &vera.access).await?.len(), 1);
    assert_eq!(env.get(&budgets, &vera.access).await?.status, 200);
    let body = json!({"scope": "user", "scope_id": vera.user_id, "rpm": 1});
    let refused = env.post(&limits, &vera.access, body.clone()).await?;
    assert_eq!((refused.status, refused.code()), (403, "forbidden"));
    // A member of the workspace can be the subject of a rule.
    let limited = env.post(&limits, &alice.access, body).await?;
    assert_eq!(limited.status, 201, "{limited:?}");
    let invoice = format!("/workspaces/{}/invoices/2025-01", alice.ws);
    assert_eq!(env.get(&invoice, &vera.access).await?.status, 200);
    let usage = format!("/workspaces/{}/usage", alice.ws);
    assert_eq!(env.get(&usage, &vera.access).await?.status, 200);
    Ok(())
}

#[tokio::test]
async fn other_tenants_see_nothing_and_cannot_point_policies_at_us() -> anyhow::Result<()> {
    let env = Env::start().await?;
    let alice = env.signup("alice@example.com").await?;
    let mallory = env.signup("mallory@example.com").await?;
    let alice_key = env.key(&alice).await?;

    let limit = env
        .post(
            &format!("/workspaces/{}/limits", alice.ws),
            &alice.access,
            json!({"scope": "key", "scope_id": alice_key, "rpm": 5}),
        )
        .await?;
    let budget = env
        .post(
            &format!("/workspaces/{}/budgets", alice.ws),
            &alice.access,
            json!({"scope": "workspace", "period": "month", "amount_micros": 5}),
        )
        .await?;
    let price = env
        .post(
            &format!("/orgs/{}/prices", alice.org),
            &alice.access,
            json!({"model": "gpt-4o", "price": {"input": 1, "output": 2}}),
        )
        .await?;
    for created in [&limit, &budget, &price] {
        assert_eq!(created.status, 201, "{created:?}");
    }

    // Alice's objects by their own paths: 404 for Mallory.
    for path in [
        format!("/workspaces/{}/limits/{}", alice.ws, limit.str("/id")),
        format!("/workspaces/{}/budgets/{}", alice.ws, budget.str("/id")),
        format!("/orgs/{}/prices/{}", alice.org, price.str("/id")),
        format!("/workspaces/{}/usage", alice.ws),
        format!("/workspaces/{}/invoices/2025-01", alice.ws),
        format!("/orgs/{}/usage", alice.org),
    ] {
        let reply = env.get(&path, &mallory.access).await?;
        assert_eq!((reply.status, reply.code()), (404, "not_found"), "{path}");
    }
    // Alice's ids under Mallory's own workspace and organization: 404 too.
    for path in [
        format!("/workspaces/{}/limits/{}", mallory.ws, limit.str("/id")),
        format!("/workspaces/{}/budgets/{}", mallory.ws, budget.str("/id")),
        format!("/orgs/{}/prices/{}", mallory.org, price.str("/id")),
    ] {
        assert_eq!(env.get(&path, &mallory.access).await?.status, 404, "{path}");
        let deleted = env.delete(&path, &mallory.access).await?;
        assert_eq!(deleted.status, 404, "{path}");
    }
    // Mallory cannot aim a policy at Alice's key, Alice, or Alice's workspace.
    for body in [
        json!({"scope": "key", "scope_id": alice_key, "rpm": 1}),
        json!({"scope": "user", "scope_id": alice.user_id, "rpm": 1}),
        json!({"scope": "workspace", "scope_id": alice.ws, "rpm": 1}),
    ] {
        let path = format!("/workspaces/{}/limits", mallory.ws);
        let reply = env.post(&path, &mallory.access, body.clone()).await?;
        assert_eq!((reply.status, reply.param()), (400, "scope_id"), "{body}");
    }
    let foreign_ws = env
        .post(
            &format!("/orgs/{}/prices", mallory.org),
            &mallory.access,
            json!({"model": "m", "workspace_id": alice.ws, "price": {"input": 0, "output": 0}}),
        )
        .await?;
    assert_eq!(
        (foreign_ws.status, foreign_ws.param()),
        (400, "workspace_id")
    );
    // Lists stay per tenant.
    let mallory_prices = format!("/orgs/{}/prices", mallory.org);
    assert_eq!(env.get(&mallory_prices, &mallory.access).await?.len(), 0);
    Ok(())
}

#[tokio::test]
async fn budgets_show_the_spend_of_their_current_period() -> anyhow::Result<()> {
    let env = Env::start().await?;
    let alice = env.signup("alice@example.com").await?;
    let key = env.key(&alice).await?;
    let budgets = format!("/workspaces/{}/budgets", alice.ws);

    let created = env
        .post(
            &budgets,
            &alice.access,
            json!({"scope": "key", "scope_id": key, "period": "day", "amount_micros": 2_000_000}),
        )
        .await?;
    assert_eq!(created.status, 201, "{created:?}");
    assert_eq!(created.body["alert_percents"], json!([80, 100]));
    assert_eq!(created.body["hard_stop"], true);
    assert_eq!(created.body["spent_micros"], 0);
    let start = created.body["period_start"].as_i64().unwrap();
    assert_eq!(start % 86_400_000, 0);
    assert_eq!(
        created.body["period_end"].as_i64(),
        Some(start + 86_400_000)
    );

    // Spend of this key today counts; yesterday's and another key's do not.
    let now = now_ms();
    let mut today = usage(&alice, "gpt-4o", now - 1, 1_250_000);
    today.key_id = Some(key.clone());
    let mut yesterday = usage(&alice, "gpt-4o", start - 1, 7_000_000);
    yesterday.key_id = Some(key.clone());
    let other_key = usage(&alice, "gpt-4o", now - 1, 9_000_000);
    env.store
        .insert_usage(&[today, yesterday, other_key])
        .await?;
    let one = format!("{budgets}/{}", created.str("/id"));
    let read = env.get(&one, &alice.access).await?;
    assert_eq!(read.body["spent_micros"], 1_250_000, "{read:?}");

    let total = env
        .post(
            &budgets,
            &alice.access,
            json!({"scope": "workspace", "period": "total", "amount_micros": 0,
                   "alert_percents": [100, 50, 50], "hard_stop": false,
                   "webhook_url": "https://hooks.example.com/b"}),
        )
        .await?;
    assert_eq!(total.status, 201, "{total:?}");
    assert_eq!(total.body["alert_percents"], json!([50, 100]));
    assert_eq!(total.body["period_start"], 0);
    assert!(total.body["period_end"].is_null());
    assert_eq!(total.body["spent_micros"], 17_250_000);

    let patched = env
        .patch(
            &one,
            &alice.access,
            json!({"amount_micros": 5, "period": "month"}),
        )
        .await?;
    assert_eq!(patched.body["amount_micros"], 5, "{patched:?}");
    assert_eq!(patched.body["period"], "month");
    let listed = env.get(&budgets, &alice.access).await?;
    assert_eq!(listed.len(), 2);

    let cases = [
        (
            json!({"scope": "workspace", "amount_micros": 1}),
            "missing_field",
            "period",
        ),
        (
            json!({"scope": "workspace", "period": "week", "amount_micros": 1}),
            "invalid_value",
            "period",
        ),
        (
            json!({"scope": "workspace", "period": "day", "amount_micros": -1}),
            "invalid_value",
            "amount_micros",
        ),
        (
            json!({"scope": "workspace", "period": "day", "amount_micros": 1, "alert_percents": [0]}),
            "invalid_value",
            "alert_percents",
        ),
        (
            json!({"scope": "workspace", "period": "day", "amount_micros": 1, "alert_percents": [101]}),
            "invalid_value",
            "alert_percents",
        ),
        (
            json!({"scope": "workspace", "period": "day", "amount_micros": 1, "webhook_url": "ftp://x"}),
            "invalid_value",
            "webhook_url",
        ),
        (
            json!({"scope": "workspace", "period": "day", "amount_micros": 1.5}),
            "invalid_request",
            "",
        ),
    ];
    for (body, code, param) in cases {
        let reply = env.post(&budgets, &alice.access, body.clone()).await?;
        assert_eq!(
            (reply.status, reply.code(), reply.param()),
            (400, code, param),
            "{body}"
        );
    }
    assert_eq!(env.delete(&one, &alice.access).await?.status, 204);
    assert_eq!(env.get(&budgets, &alice.access).await?.len(), 1);
    Ok(())
}

#[tokio::test]
async fn price_overrides_are_checked_against_the_meter_type() -> anyhow::Result<()> {
    let env = Env::start().await?;
    let alice = env.signup("alice@example.com").await?;
    let prices = format!("/orgs/{}/prices", alice.org);

    let catalog = env.get("/prices", &alice.access).await?;
    assert_eq!(catalog.status, 200, "{catalog:?}");
    assert_eq!(catalog.body["currency"], "USD");
    assert!(catalog.body["date"].is_string());
    assert!(catalog.body["data"].is_array());
    let anonymous = env.http.get(format!("{}/prices", env.base)).send().await?;
    assert_eq!(anonymous.status(), 401);

    let org_wide = env
        .post(
            &prices,
            &alice.access,
            json!({"model": "gpt-4o", "price": {"input": 2_500_000, "output": 10_000_000, "cache_read": null}}),
        )
        .await?;
    assert_eq!(org_wide.status, 201, "{org_wide:?}");
    assert_eq!(
        org_wide.body["price"],
        json!({"input": 2_500_000, "output": 10_000_000})
    );
    assert!(org_wide.body["workspace_id"].is_null());
    let for_ws = env
        .post(
            &prices,
            &alice.access,
            json!({"model": "gpt-4o", "workspace_id": alice.ws, "deployment": "openai/gpt-4o",
                   "price": {"input": 1, "output": 2}}),
        )
        .await?;
    assert_eq!(for_ws.status, 201, "{for_ws:?}");
    assert_eq!(env.get(&prices, &alice.access).await?.len(), 2);
    let only_ws = env
        .get(
            &format!("{prices}?workspace_id={}", alice.ws),
            &alice.access,
        )
        .await?;
    assert_eq!(only_ws.len(), 1);

    let one = format!("{prices}/{}", for_ws.str("/id"));
    let patched = env
        .patch(
            &one,
            &alice.access,
            json!({"deployment": null, "price": {"input": 3, "output": 4}}),
        )
        .await?;
    assert_eq!(patched.status, 200, "{patched:?}");
    assert!(patched.body["deployment"].is_null());
    assert_eq!(patched.body["price"]["input"], 3);
    let moved = env
        .patch(&one, &alice.access, json!({"workspace_id": alice.ws}))
        .await?;
    assert_eq!((moved.status, moved.param()), (400, "workspace_id"));

    for (price, needle) in [
        (json!({"input": 1}), "missing field `output`"),
        (
            json!({"input": 1, "output": 1, "cache_raed": 1}),
            "unknown field `cache_raed`",
        ),
        (json!({"input": -1, "output": 1}), "negative"),
        (json!("cheap"), "invalid type"),
    ] {
        let reply = env
            .post(
                &prices,
                &alice.access,
                json!({"model": "m", "price": price}),
            )
            .await?;
        assert_eq!(
            (reply.status, reply.code(), reply.param()),
            (400, "invalid_value", "price")
        );
        assert!(reply.str("/error/message").contains(needle), "{reply:?}");
    }
    let twin = env
        .post(
            &prices,
            &alice.access,
            json!({"model": "gpt-4o", "price": {"input": 1, "output": 1}}),
        )
        .await?;
    assert_eq!((twin.status, twin.code()), (409, "conflict"));
    let bad_deployment = env
        .post(
            &prices,
            &alice.access,
            json!({"model": "m", "deployment": "x", "price": {"input": 1, "output": 1}}),
        )
        .await?;
    assert_eq!(bad_deployment.param(), "deployment");

    assert_eq!(env.delete(&one, &alice.access).await?.status, 204);
    let audit = env
        .get(
            &format!("/orgs/{}/audit?action=price_override.delete", alice.org),
            &alice.access,
        )
        .await?;
    assert_eq!(audit.len(), 1);
    Ok(())
}
