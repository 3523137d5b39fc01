//! Usage reports and invoices through the platform API: grouping, time buckets,
//! filters, CSV export, and invoices that add up to the ledger exactly. The tests write
//! usage straight into the ledger (`UsageStore::insert_usage`) so the figures are known.
#![expect(clippy::unwrap_used, reason = "tests")]
#![allow(
    dead_code,
    reason = "the shared harness has parts only the other billing file uses"
)]

mod common;

include!("billing_support/harness.rs");

#[tokio::test]
async fn usage_reports_group_bucket_filter_and_export_csv() -> anyhow::Result<()> {
    let env = Env::start().await?;
    let alice = env.signup("alice@example.com").await?;
    let bob = env.signup("bob@example.com").await?;
    let day = 86_400_000;
    env.store
        .insert_usage(&[
            usage(&alice, "gpt-4o", JAN, 1_000_000),
            usage(&alice, "gpt-4o", JAN + day + 5, 2_000_000),
            usage(&alice, "claude", JAN + day + 6, 500_001),
            usage(&alice, "claude", FEB, 99_000_000),
            usage(&bob, "gpt-4o", JAN, 42),
        ])
        .await?;
    let path = format!("/workspaces/{}/usage", alice.ws);
    let window = "since=2025-01-01T00:00:00Z&until=2025-02-01";

    let by_model = env
        .get(&format!("{path}?{window}&group_by=model"), &alice.access)
        .await?;
    assert_eq!(by_model.status, 200, "{by_model:?}");
    assert_eq!(by_model.body["since"], JAN);
    assert_eq!(by_model.body["until"], FEB);
    assert_eq!(by_model.body["totals"]["requests"], 3);
    assert_eq!(by_model.body["totals"]["cost_micros"], 3_500_001);
    assert_eq!(by_model.body["totals"]["cost_usd"], "3.500001");
    let mut rows: Vec<(String, i64)> = by_model.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["model"].as_str().unwrap().to_owned(),
                r["cost_micros"].as_i64().unwrap(),
            )
        })
        .collect();
    rows.sort();
    assert_eq!(
        rows,
        [("claude".into(), 500_001), ("gpt-4o".into(), 3_000_000)]
    );

    // Unix ms work as well as RFC 3339; day buckets; a filter on the model.
    let daily = env
        .get(
            &format!("{path}?since={JAN}&until={FEB}&bucket=day&model=gpt-4o"),
            &alice.access,
        )
        .await?;
    let starts: Vec<i64> = daily.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["bucket_start"].as_i64().unwrap())
        .collect();
    assert_eq!(starts, [JAN, JAN + day], "{daily:?}");
    assert_eq!(daily.body["totals"]["cost_micros"], 3_000_000);

    let csv = env
        .get(
            &format!("{path}?{window}&group_by=model&format=csv"),
            &alice.access,
        )
        .await?;
    assert_eq!(csv.status, 200);
    assert!(csv.content_type.starts_with("text/csv"), "{csv:?}");
    assert!(
        csv.disposition.starts_with("attachment; filename="),
        "{csv:?}"
    );
    let mut lines: Vec<&str> = csv.text.lines().collect();
    assert_eq!(
        lines.remove(0),
        "model,requests,errors,input_tokens,output_tokens,cache_read_tokens,\
         cache_write_tokens,reasoning_tokens,cost_micros,cost_usd"
    );
    lines.sort();
    assert_eq!(
        lines,
        [
            "claude,1,0,1000,200,100,0,50,500001,0.500001",
            "gpt-4o,2,0,2000,400,200,0,100,3000000,3.000000"
        ]
    );

    // The organization view adds workspaces; Bob's usage is his alone.
    let org = env
        .get(
            &format!("/orgs/{}/usage?{window}&group_by=workspace", alice.org),
            &alice.access,
        )
        .await?;
    assert_eq!(org.len(), 1, "{org:?}");
    assert_eq!(org.body["data"][0]["workspace_id"], alice.ws.as_str());
    let bobs = env
        .get(
            &format!("/workspaces/{}/usage?{window}", bob.ws),
            &bob.access,
        )
        .await?;
    assert_eq!(bobs.body["totals"]["cost_micros"], 42);

    for (query, param) in [
        ("since=2025-02-01&until=2025-01-01", "since"),
        ("since=2020-01-01&until=2025-01-01", "since"),
        ("since=2025-01-01&until=2025-03-01&bucket=hour", "since"),
        ("since=last-week", "since"),
        ("bucket=week", "bucket"),
        ("group_by=workspace", "group_by"),
        ("format=xml", "format"),
        ("workspace_id=x", "workspace_id"),
    ] {
        let reply = env.get(&format!("{path}?{query}"), &alice.access).await?;
        assert_eq!(
            (reply.status, reply.code(), reply.param()),
            (400, "invalid_value", param),
            "{query}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn invoices_add_up_to_the_ledger() -> anyhow::Result<()> {
    let env = Env::start().await?;
    let alice = env.signup("alice@example.com").await?;
    let bob = env.signup("bob@example.com").await?;
    // Costs chosen so that any float on the way would show: sums of odd micro-units.
    let costs = [
        ("gpt-4o", 333_333),
        ("gpt-4o", 333_334),
        ("gpt-4o", 1),
        ("claude-sonnet-4-5", 7_777_777),
        ("claude-sonnet-4-5", 1),
        ("gemini-2.5-flash", 0),
    ];
    let mut rows: Vec<UsageRecord> = costs
        .iter()
        .enumerate()
        .map(|(i, (model, cost))| usage(&alice, model, JAN + i as i64 * 3_600_000, *cost))
        .collect();
    let mut failed = usage(&alice, "gpt-4o", FEB - 1, 10);
    failed.error_class = Some("upstream_error".into());
    rows.push(failed);
    // Outside the month or the workspace: never on Alice's January invoice.
    rows.push(usage(&alice, "gpt-4o", JAN - 1, 1_000_000));
    rows.push(usage(&alice, "gpt-4o", FEB, 1_000_000));
    rows.push(usage(&bob, "gpt-4o", JAN, 1_000_000));
    env.store.insert_usage(&rows).await?;

    let path = format!("/workspaces/{}/invoices/2025-01", alice.ws);
    let invoice = env.get(&path, &alice.access).await?;
    assert_eq!(invoice.status, 200, "{invoice:?}");
    let b = &invoice.body;
    assert_eq!(b["object"], "invoice");
    assert_eq!(b["currency"], "USD");
    assert_eq!(b["month"], "2025-01");
    assert_eq!(b["status"], "closed");
    assert_eq!(b["workspace_id"], alice.ws.as_str());
    assert_eq!(b["org_id"], alice.org.as_str());
    assert_eq!(
        (b["period_start"].as_i64(), b["period_end"].as_i64()),
        (Some(JAN), Some(FEB))
    );
    assert!(b["price_catalog_date"].is_string());

    let expected: i64 = costs.iter().map(|(_, c)| c).sum::<i64>() + 10;
    assert_eq!(b["subtotal_micros"], expected);
    assert_eq!(b["total_micros"], expected);
    assert_eq!(b["subtotal_usd"], "8.444456");
    let lines = b["lines"].as_array().unwrap();
    let line_sum: i64 = lines
        .iter()
        .map(|l| l["amount_micros"].as_i64().unwrap())
        .sum();
    assert_eq!(line_sum, expected);
    let gpt = lines.iter().find(|l| l["model"] == "gpt-4o").unwrap();
    assert_eq!(gpt["requests"], 4);
    assert_eq!(gpt["amount_micros"], 666_678);
    assert_eq!(gpt["input_tokens"], 4000);
    assert_eq!(gpt["cache_read_tokens"], 400);
    assert_eq!(lines.len(), 3);

    // The ledger's own total for the same month and workspace agrees.
    let filter = morn_store::UsageFilter {
        workspace_id: Some(alice.ws.clone()),
        since: JAN,
        until: FEB,
        ..Default::default()
    };
    assert_eq!(env.store.usage_total(&filter).await?.cost_micros, expected);

    let csv = env
        .get(&format!("{path}?format=csv"), &alice.access)
        .await?;
    assert!(csv.content_type.starts_with("text/csv"), "{csv:?}");
    assert!(csv.disposition.contains("2025-01"), "{csv:?}");
    let text: Vec<&str> = csv.text.lines().collect();
    assert_eq!(
        text[0],
        "item,model,requests,input_tokens,output_tokens,cache_read_tokens,\
         cache_write_tokens,reasoning_tokens,amount_micros,amount_usd,currency"
    );
    assert_eq!(text.len(), 5);
    assert_eq!(
        text[4],
        "subtotal,,7,7000,1400,700,0,350,8444456,8.444456,USD"
    );

    // An empty month is a zero invoice, the running month is open, bad months refused.
    let empty = env
        .get(
            &format!("/workspaces/{}/invoices/2024-06", alice.ws),
            &alice.access,
        )
        .await?;
    assert_eq!(empty.body["subtotal_micros"], 0);
    assert_eq!(empty.body["lines"], json!([]));
    let this_month = env
        .get(&format!("/workspaces/{}/usage", alice.ws), &alice.access)
        .await?;
    assert_eq!(this_month.status, 200);
    for bad in ["2025-13", "2025-1", "january", "1969-12"] {
        let reply = env
            .get(
                &format!("/workspaces/{}/invoices/{bad}", alice.ws),
                &alice.access,
            )
            .await?;
        assert_eq!((reply.status, reply.param()), (400, "month"), "{bad}");
    }
    Ok(())
}
