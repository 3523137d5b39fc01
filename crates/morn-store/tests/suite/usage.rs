//! The usage ledger: idempotent inserts, totals, filters and grouped reports.

use morn_store::{TimeBucket, UsageDimension, UsageFilter, UsageGrouping, UsageRecord};

use super::{Shared, found, id};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 86_400_000;

/// Unix ms of a UTC date, counted from month lengths so the test does not share the
/// store's calendar arithmetic.
fn date(year: i64, month: i64, day: i64) -> i64 {
    let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let mut days: i64 = (1970..year).map(|y| if leap(y) { 366 } else { 365 }).sum();
    let february = if leap(year) { 29 } else { 28 };
    let lengths = [31, february, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    days += lengths.iter().take((month - 1) as usize).sum::<i64>();
    (days + day - 1) * DAY
}

/// A record with distinct, checkable numbers derived from `n`.
fn record(n: i64, at: i64, key: Option<&str>, model: &str) -> UsageRecord {
    UsageRecord {
        request_id: id(),
        created_at: at,
        org_id: Some("org-1".into()),
        workspace_id: Some("ws-1".into()),
        user_id: Some("user-1".into()),
        key_id: key.map(str::to_owned),
        endpoint: "chat".into(),
        model: model.into(),
        deployment: Some("openai/gpt-4o-2024-08-06".into()),
        stream: n % 2 == 0,
        status: 200,
        error_class: None,
        input_tokens: 10 * n,
        output_tokens: 20 * n,
        cache_read_tokens: n,
        cache_write_tokens: 2 * n,
        reasoning_tokens: 3 * n,
        cost_micros: 1_000 * n,
        estimated: n % 3 == 0,
        cache_hit: false,
        latency_ms: 100 + n,
        ttft_ms: (n % 2 == 0).then_some(50),
        client_request_id: (n % 3 == 0).then(|| format!("caller-{n}")),
    }
}

fn range(since: i64, until: i64) -> UsageFilter {
    UsageFilter {
        since,
        until,
        ..UsageFilter::default()
    }
}

fn grouping(bucket: Option<TimeBucket>, by: &[UsageDimension]) -> UsageGrouping {
    UsageGrouping {
        bucket,
        by: by.to_vec(),
    }
}

pub async fn usage_insert_is_idempotent(store: Shared) -> anyhow::Result<()> {
    let at = date(2025, 6, 1);
    let mut records: Vec<_> = (1..=3)
        .map(|n| record(n, at + n, Some("k1"), "gpt-4o"))
        .collect();
    records[1].error_class = Some("stream_broken".into());
    records[1].org_id = None;
    records[1].deployment = None;
    assert_eq!(store.insert_usage(&records).await?, 3);
    assert_eq!(store.insert_usage(&[]).await?, 0);

    for r in &records {
        assert_eq!(&found(store.get_usage(&r.request_id).await?, "usage")?, r);
    }
    assert!(store.get_usage("missing").await?.is_none());

    // A replayed batch with one new record adds only that one; the stored rows keep
    // their first values.
    let mut replay = records.clone();
    replay[0].cost_micros = 999_999_999;
    replay.push(record(4, at + 4, Some("k1"), "gpt-4o"));
    assert_eq!(store.insert_usage(&replay).await?, 1);
    assert_eq!(store.insert_usage(&replay).await?, 0);
    let stored = found(store.get_usage(&records[0].request_id).await?, "usage")?;
    assert_eq!(stored.cost_micros, 1_000);

    // A duplicate inside one batch is stored once.
    let twin = record(5, at + 5, Some("k1"), "gpt-4o");
    assert_eq!(store.insert_usage(&[twin.clone(), twin]).await?, 1);

    let total = store.usage_total(&range(at, at + DAY)).await?;
    assert_eq!(total.requests, 5);
    assert_eq!(total.errors, 1);
    assert_eq!(total.cost_micros, 1_000 * (1 + 2 + 3 + 4 + 5));
    Ok(())
}

pub async fn usage_totals_and_filters(store: Shared) -> anyhow::Result<()> {
    let t0 = date(2025, 3, 10);
    let mut rows = vec![
        record(1, t0, Some("k1"), "gpt-4o"),
        record(2, t0 + HOUR, Some("k1"), "claude"),
        record(3, t0 + 2 * HOUR, Some("k2"), "gpt-4o"),
        record(4, t0 + 3 * HOUR, None, "gpt-4o"),
        record(5, t0 + 4 * HOUR, Some("k3"), "gpt-4o"),
    ];
    rows[2].user_id = Some("user-2".into());
    rows[3].org_id = None;
    rows[3].workspace_id = None;
    rows[3].user_id = None;
    rows[4].org_id = Some("org-2".into());
    rows[4].workspace_id = Some("ws-2".into());
    rows[1].error_class = Some("upstream_error".into());
    rows[1].status = 502;
    store.insert_usage(&rows).await?;

    let all = range(t0, t0 + DAY);
    let total = store.usage_total(&all).await?;
    assert_eq!(total.requests, 5);
    assert_eq!(total.errors, 1);
    assert_eq!(total.input_tokens, 10 * 15);
    assert_eq!(total.output_tokens, 20 * 15);
    assert_eq!(total.cache_read_tokens, 15);
    assert_eq!(total.cache_write_tokens, 30);
    assert_eq!(total.reasoning_tokens, 45);
    assert_eq!(total.cost_micros, 15_000);
    assert_eq!(total.bucket_start, None);
    assert_eq!(total.model, None);

    let cost = |filter: UsageFilter| {
        let store = store.clone();
        async move {
            let total = store.usage_total(&filter).await?;
            anyhow::Ok((total.requests, total.cost_micros))
        }
    };
    let key = |k: &str| UsageFilter {
        key_id: Some(k.into()),
        ..all.clone()
    };
    assert_eq!(cost(key("k1")).await?, (2, 3_000));
    assert_eq!(cost(key("k2")).await?, (1, 3_000));
    assert_eq!(cost(key("nobody")).await?, (0, 0));
    let by_user = UsageFilter {
        user_id: Some("user-2".into()),
        ..all.clone()
    };
    assert_eq!(cost(by_user).await?, (1, 3_000));
    let by_workspace = UsageFilter {
        workspace_id: Some("ws-1".into()),
        ..all.clone()
    };
    assert_eq!(cost(by_workspace).await?, (3, 6_000));
    let by_org = UsageFilter {
        org_id: Some("org-1".into()),
        ..all.clone()
    };
    assert_eq!(cost(by_org).await?, (3, 6_000));
    let by_model = UsageFilter {
        model: Some("gpt-4o".into()),
        ..all.clone()
    };
    assert_eq!(cost(by_model).await?, (4, 13_000));
    let combined = UsageFilter {
        key_id: Some("k1".into()),
        model: Some("gpt-4o".into()),
        ..all.clone()
    };
    assert_eq!(cost(combined).await?, (1, 1_000));

    // [since, until): the lower bound is in, the upper bound is out.
    assert_eq!(cost(range(t0 + HOUR, t0 + 3 * HOUR)).await?, (2, 5_000));
    assert_eq!(
        cost(range(t0 + HOUR + 1, t0 + 3 * HOUR + 1)).await?,
        (2, 7_000)
    );
    assert_eq!(cost(range(t0 - DAY, t0)).await?, (0, 0));
    assert_eq!(cost(UsageFilter::default()).await?, (0, 0));
    Ok(())
}

pub async fn usage_report_by_dimension(store: Shared) -> anyhow::Result<()> {
    let t0 = date(2025, 5, 5);
    let mut rows = vec![
        record(1, t0, Some("k2"), "gpt-4o"),
        record(2, t0 + 1, Some("k1"), "gpt-4o"),
        record(3, t0 + 2, Some("k1"), "claude"),
        record(4, t0 + 3, None, "gpt-4o"),
    ];
    rows[0].user_id = Some("user-2".into());
    rows[0].workspace_id = Some("ws-2".into());
    rows[3].user_id = None;
    rows[3].workspace_id = None;
    rows[2].error_class = Some("rate_limited".into());
    store.insert_usage(&rows).await?;
    let all = range(t0, t0 + DAY);

    let by = |dims: &'static [UsageDimension]| {
        let store = store.clone();
        let all = all.clone();
        async move { anyhow::Ok(store.usage_report(&all, &grouping(None, dims)).await?) }
    };

    let models = by(&[UsageDimension::Model]).await?;
    let view: Vec<_> = models
        .iter()
        .map(|a| (a.model.as_deref(), a.requests, a.errors, a.cost_micros))
        .collect();
    assert_eq!(
        view,
        [(Some("claude"), 1, 1, 3_000), (Some("gpt-4o"), 3, 0, 7_000)]
    );
    assert!(
        models
            .iter()
            .all(|a| a.key_id.is_none() && a.bucket_start.is_none())
    );

    // Master-key requests (no key) are their own group, listed first.
    let keys = by(&[UsageDimension::Key]).await?;
    let view: Vec<_> = keys
        .iter()
        .map(|a| (a.key_id.as_deref(), a.requests, a.input_tokens))
        .collect();
    assert_eq!(
        view,
        [(None, 1, 40), (Some("k1"), 2, 50), (Some("k2"), 1, 10)]
    );

    let users = by(&[UsageDimension::User]).await?;
    let view: Vec<_> = users
        .iter()
        .map(|a| (a.user_id.as_deref(), a.requests))
        .collect();
    assert_eq!(view, [(None, 1), (Some("user-1"), 2), (Some("user-2"), 1)]);

    let workspaces = by(&[UsageDimension::Workspace]).await?;
    let view: Vec<_> = workspaces
        .iter()
        .map(|a| (a.workspace_id.as_deref(), a.requests))
        .collect();
    assert_eq!(view, [(None, 1), (Some("ws-1"), 2), (Some("ws-2"), 1)]);

    // Several dimensions (a repeated one counts once): ordered model, then key.
    let pairs = by(&[
        UsageDimension::Key,
        UsageDimension::Model,
        UsageDimension::Key,
    ])
    .await?;
    let view: Vec<_> = pairs
        .iter()
        .map(|a| (a.model.as_deref(), a.key_id.as_deref(), a.requests))
        .collect();
    assert_eq!(
        view,
        [
            (Some("claude"), Some("k1"), 1),
            (Some("gpt-4o"), None, 1),
            (Some("gpt-4o"), Some("k1"), 1),
            (Some("gpt-4o"), Some("k2"), 1),
        ]
    );
    assert!(pairs.iter().all(|a| a.user_id.is_none()));

    // No grouping: one row with the totals; nothing matched: no rows.
    let whole = by(&[]).await?;
    assert_eq!(whole.len(), 1);
    assert_eq!(whole[0].requests, 4);
    let empty = store
        .usage_report(&range(0, t0), &grouping(None, &[UsageDimension::Model]))
        .await?;
    assert!(empty.is_empty());
    let empty = store
        .usage_report(&range(0, t0), &grouping(None, &[]))
        .await?;
    assert!(empty.is_empty());

    // Filters apply to reports too.
    let k1 = UsageFilter {
        key_id: Some("k1".into()),
        ..all.clone()
    };
    let k1_models = store
        .usage_report(&k1, &grouping(None, &[UsageDimension::Model]))
        .await?;
    let view: Vec<_> = k1_models
        .iter()
        .map(|a| (a.model.as_deref(), a.requests))
        .collect();
    assert_eq!(view, [(Some("claude"), 1), (Some("gpt-4o"), 1)]);
    Ok(())
}

pub async fn usage_report_by_time_bucket(store: Shared) -> anyhow::Result<()> {
    // Month ends of every length: 31 (Jan), 29 (leap Feb), 30 (Apr), and a year end.
    let instants = [
        date(2023, 12, 31) + DAY - 1,
        date(2024, 1, 1),
        date(2024, 1, 31) + 23 * HOUR,
        date(2024, 2, 1),
        date(2024, 2, 29) + 12 * HOUR,
        date(2024, 2, 29) + 12 * HOUR + 59 * 60_000,
        date(2024, 3, 1),
        date(2024, 4, 30) + DAY - 1,
        date(2024, 5, 1) + 1,
    ];
    let rows: Vec<_> = instants
        .iter()
        .enumerate()
        .map(|(i, at)| record(i as i64 + 1, *at, Some("k1"), "gpt-4o"))
        .collect();
    store.insert_usage(&rows).await?;
    let all = range(date(2023, 1, 1), date(2025, 1, 1));

    let months = store
        .usage_report(&all, &grouping(Some(TimeBucket::Month), &[]))
        .await?;
    let view: Vec<_> = months
        .iter()
        .map(|a| (a.bucket_start, a.requests, a.cost_micros))
        .collect();
    assert_eq!(
        view,
        [
            (Some(date(2023, 12, 1)), 1, 1_000),
            (Some(date(2024, 1, 1)), 2, 5_000),
            (Some(date(2024, 2, 1)), 3, 15_000),
            (Some(date(2024, 3, 1)), 1, 7_000),
            (Some(date(2024, 4, 1)), 1, 8_000),
            (Some(date(2024, 5, 1)), 1, 9_000),
        ]
    );

    let days = store
        .usage_report(&all, &grouping(Some(TimeBucket::Day), &[]))
        .await?;
    let view: Vec<_> = days.iter().map(|a| (a.bucket_start, a.requests)).collect();
    assert_eq!(
        view,
        [
            (Some(date(2023, 12, 31)), 1),
            (Some(date(2024, 1, 1)), 1),
            (Some(date(2024, 1, 31)), 1),
            (Some(date(2024, 2, 1)), 1),
            (Some(date(2024, 2, 29)), 2),
            (Some(date(2024, 3, 1)), 1),
            (Some(date(2024, 4, 30)), 1),
            (Some(date(2024, 5, 1)), 1),
        ]
    );

    let feb29 = range(date(2024, 2, 29), date(2024, 3, 1));
    let hours = store
        .usage_report(&feb29, &grouping(Some(TimeBucket::Hour), &[]))
        .await?;
    let view: Vec<_> = hours.iter().map(|a| (a.bucket_start, a.requests)).collect();
    assert_eq!(view, [(Some(date(2024, 2, 29) + 12 * HOUR), 2)]);

    // A bucket and a dimension: months per model, months first.
    let mut more = record(10, date(2024, 2, 10), Some("k2"), "claude");
    more.error_class = Some("client_closed".into());
    store.insert_usage(&[more]).await?;
    let feb_mar = range(date(2024, 2, 1), date(2024, 4, 1));
    let per_model = store
        .usage_report(
            &feb_mar,
            &grouping(Some(TimeBucket::Month), &[UsageDimension::Model]),
        )
        .await?;
    let view: Vec<_> = per_model
        .iter()
        .map(|a| (a.bucket_start, a.model.as_deref(), a.requests, a.errors))
        .collect();
    assert_eq!(
        view,
        [
            (Some(date(2024, 2, 1)), Some("claude"), 1, 1),
            (Some(date(2024, 2, 1)), Some("gpt-4o"), 3, 0),
            (Some(date(2024, 3, 1)), Some("gpt-4o"), 1, 0),
        ]
    );
    Ok(())
}

pub async fn usage_large_batch(store: Shared) -> anyhow::Result<()> {
    let t0 = date(2025, 1, 1);
    let keys = ["k1", "k2", "k3", "k4", "k5"];
    let records: Vec<_> = (0..5_000)
        .map(|n| record(1, t0 + n * 1_000, Some(keys[(n % 5) as usize]), "gpt-4o"))
        .collect();
    // 5,000 rows are more than one statement may bind on SQLite: several statements.
    assert_eq!(store.insert_usage(&records).await?, 5_000);

    // Replaying it with 100 new records at the end stores just those.
    let mut replay = records.clone();
    replay.extend((0..100).map(|n| record(2, t0 + n, Some("k1"), "gpt-4o")));
    assert_eq!(store.insert_usage(&replay).await?, 100);

    let all = range(t0, t0 + DAY);
    let total = store.usage_total(&all).await?;
    assert_eq!(total.requests, 5_100);
    assert_eq!(total.cost_micros, 5_000 * 1_000 + 100 * 2_000);
    let per_key = store
        .usage_report(&all, &grouping(None, &[UsageDimension::Key]))
        .await?;
    let view: Vec<_> = per_key
        .iter()
        .map(|a| (a.key_id.as_deref(), a.requests))
        .collect();
    assert_eq!(
        view,
        [
            (Some("k1"), 1_100),
            (Some("k2"), 1_000),
            (Some("k3"), 1_000),
            (Some("k4"), 1_000),
            (Some("k5"), 1_000),
        ]
    );
    let last = found(
        store.get_usage(&records[4_999].request_id).await?,
        "last record",
    )?;
    assert_eq!(last, records[4_999]);
    Ok(())
}

/// The sums a report row carries, for comparing with a count over the records.
fn sums(agg: &morn_store::UsageAggregate) -> [i64; 8] {
    [
        agg.requests,
        agg.errors,
        agg.input_tokens,
        agg.output_tokens,
        agg.cache_read_tokens,
        agg.cache_write_tokens,
        agg.reasoning_tokens,
        agg.cost_micros,
    ]
}

fn add(into: &mut [i64; 8], r: &UsageRecord) {
    let one = [
        1,
        i64::from(r.error_class.is_some()),
        r.input_tokens,
        r.output_tokens,
        r.cache_read_tokens,
        r.cache_write_tokens,
        r.reasoning_tokens,
        r.cost_micros,
    ];
    for (sum, value) in into.iter_mut().zip(one) {
        *sum += value;
    }
}

/// Reports read whole hours from the hourly sums and partial hours from the records:
/// for ranges starting and ending anywhere, totals and per-hour, per-key groups equal
/// a count over the records, also after replayed and overlapping batches.
pub async fn usage_ranges_off_the_hour_match_the_records(store: Shared) -> anyhow::Result<()> {
    let t0 = date(2025, 7, 1);
    let keys = [Some("k1"), Some("k2"), None];
    let models = ["gpt-4o", "claude"];
    // Spread over six hours at odd milliseconds (a fixed linear congruential sequence).
    let mut seed: i64 = 7;
    let mut records = Vec::new();
    for n in 1..=300 {
        seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
        let at = t0 + seed % (6 * HOUR);
        let mut r = record(n, at, keys[(n % 3) as usize], models[(n % 2) as usize]);
        if n % 7 == 0 {
            r.error_class = Some("upstream_error".into());
        }
        if n % 5 == 0 {
            r.user_id = Some("user-2".into());
        }
        records.push(r);
    }
    // Batches as the ledger writes them, then a replay overlapping two of them with
    // new records, and an id twice in one batch.
    assert_eq!(store.insert_usage(&records[..100]).await?, 100);
    assert_eq!(store.insert_usage(&records[100..250]).await?, 150);
    assert_eq!(store.insert_usage(&records[50..]).await?, 50);
    assert_eq!(store.insert_usage(&records[..300]).await?, 0);
    let twin = record(9, t0 + 30 * 60_000 + 1, Some("k1"), "gpt-4o");
    assert_eq!(store.insert_usage(&[twin.clone(), twin.clone()]).await?, 1);
    records.push(twin);

    let ranges = [
        (t0, t0 + 6 * HOUR),
        (t0 + 1, t0 + 6 * HOUR - 1),
        (t0 + 17 * 60_000, t0 + 3 * HOUR + 5),
        (t0 + HOUR + 1, t0 + 2 * HOUR - 1),
        (t0 + HOUR + 1, t0 + 3 * HOUR - 1),
        (t0 + 2 * HOUR, t0 + 2 * HOUR + 59 * 60_000),
        (t0 - DAY, t0 + DAY),
        (0, i64::MAX),
    ];
    for (since, until) in ranges {
        let inside = || {
            records
                .iter()
                .filter(move |r| r.created_at >= since && r.created_at < until)
        };
        let mut expected = [0; 8];
        inside().for_each(|r| add(&mut expected, r));
        let total = store.usage_total(&range(since, until)).await?;
        assert_eq!(sums(&total), expected, "total over [{since}, {until})");

        let k1 = UsageFilter {
            key_id: Some("k1".into()),
            model: Some("gpt-4o".into()),
            ..range(since, until)
        };
        let mut expected = [0; 8];
        inside()
            .filter(|r| r.key_id.as_deref() == Some("k1") && r.model == "gpt-4o")
            .for_each(|r| add(&mut expected, r));
        assert_eq!(sums(&store.usage_total(&k1).await?), expected, "k1 gpt-4o");

        let mut groups: std::collections::BTreeMap<
            (i64, Option<String>, Option<String>),
            [i64; 8],
        > = std::collections::BTreeMap::new();
        for r in inside() {
            let hour = r.created_at - r.created_at % HOUR;
            add(
                groups
                    .entry((hour, r.key_id.clone(), r.user_id.clone()))
                    .or_default(),
                r,
            );
        }
        let report = store
            .usage_report(
                &range(since, until),
                &grouping(
                    Some(TimeBucket::Hour),
                    &[UsageDimension::User, UsageDimension::Key],
                ),
            )
            .await?;
        let got: Vec<_> = report
            .iter()
            .map(|a| {
                (
                    (
                        a.bucket_start.unwrap_or(-1),
                        a.key_id.clone(),
                        a.user_id.clone(),
                    ),
                    sums(a),
                )
            })
            .collect();
        let want: Vec<_> = groups.into_iter().collect();
        assert_eq!(got, want, "per hour, key and user over [{since}, {until})");
    }
    Ok(())
}
