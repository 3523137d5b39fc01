//! Metering end to end through the real server: every request priced and recorded in
//! the ledger, streamed and non-streamed requests costing the same on every endpoint
//! and upstream, rate limits with OpenAI's headers and `Retry-After`, concurrency
//! slots, budgets that hold under 1,000 concurrent requests, soft alerts to a webhook
//! and the audit log, and `/metrics`.

#![expect(clippy::unwrap_used, reason = "tests")]

mod common;
mod platform_support;

use std::time::{Duration, Instant};

use common::TestEnv;
use morn_store::{UsageFilter, UsageRecord};
use platform_support::{Account, Reply, post, signup};
use serde_json::{Value, json};

/// A workspace key for `who`.
async fn key(env: &TestEnv, who: &Account) -> anyhow::Result<(String, String)> {
    let created = post(
        env,
        &format!("/workspaces/{}/keys", who.ws),
        &who.access,
        json!({"name": "metered"}),
    )
    .await?;
    anyhow::ensure!(created.status == 201, "{created:?}");
    Ok((created.str("/key"), created.str("/id")))
}

/// Morn's id of a request the test named with its own `x-request-id`: the response
/// echoes the caller's id and gives Morn's, the record's key, in `x-morn-request-id`.
fn morn_id(headers: &reqwest::header::HeaderMap) -> String {
    headers
        .get("x-morn-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// The ledger record of `request_id` (Morn's), once the writer has stored it.
async fn record(env: &TestEnv, request_id: &str) -> anyhow::Result<UsageRecord> {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        if let Some(record) = env.store.get_usage(request_id).await? {
            return Ok(record);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("no usage record for {request_id}")
}

async fn send(
    env: &TestEnv,
    path: &str,
    key: &str,
    request_id: &str,
    body: &Value,
) -> anyhow::Result<(u16, reqwest::header::HeaderMap, String)> {
    let response = env
        .http
        .post(format!("{}{path}", env.base))
        .bearer_auth(key)
        .header("x-request-id", request_id)
        .header("anthropic-version", "2023-06-01")
        .json(body)
        .send()
        .await?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    Ok((status, headers, response.text().await?))
}

fn chat_body(model: &str, stream: bool) -> Value {
    json!({
        "model": model,
        "max_tokens": 40,
        "stream": stream,
        "messages": [{"role": "user", "content": "Name three rivers of Europe and say why each matters."}],
    })
}

#[tokio::test]
async fn streamed_and_whole_answers_cost_the_same_on_every_endpoint_and_upstream()
-> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let alice = signup(&env, "alice@example.com").await?;
    let (key, key_id) = key(&env, &alice).await?;
    for model in ["gpt-4o-mini", "claude-sonnet-4-5", "gemini-2.5-flash"] {
        for path in ["/v1/chat/completions", "/v1/messages"] {
            let mut seen = Vec::new();
            for stream in [false, true] {
                let id = format!("cost-{model}-{}-{stream}", path.len());
                let (status, headers, body) =
                    send(&env, path, &key, &id, &chat_body(model, stream)).await?;
                assert_eq!(status, 200, "{model} {path} stream={stream}: {body}");
                let r = record(&env, &morn_id(&headers)).await?;
                assert_eq!(r.client_request_id.as_deref(), Some(id.as_str()));
                assert_eq!(r.key_id.as_deref(), Some(key_id.as_str()));
                assert_eq!(r.workspace_id.as_deref(), Some(alice.ws.as_str()));
                assert_eq!(r.org_id.as_deref(), Some(alice.org.as_str()));
                assert_eq!(r.stream, stream);
                assert_eq!(r.status, 200);
                assert_eq!(r.error_class, None, "{r:?}");
                assert!(!r.estimated, "the upstream reported usage: {r:?}");
                assert!(r.input_tokens > 0 && r.output_tokens > 0, "{r:?}");
                assert!(r.cost_micros > 0, "{model} is in the price catalog: {r:?}");
                assert!(r.deployment.is_some());
                if stream {
                    assert!(r.ttft_ms.is_some(), "streams record time to first token");
                }
                seen.push((r.input_tokens, r.output_tokens, r.cost_micros));
            }
            assert_eq!(
                seen[0], seen[1],
                "{model} over {path}: streamed and whole answers must cost the same"
            );
        }
    }
    let (status, headers, body) = send(
        &env,
        "/v1/embeddings",
        &key,
        "cost-embed",
        &json!({"model": "text-embedding-3-small", "input": ["The Danube flows through ten countries. ".repeat(40)]}),
    )
    .await?;
    assert_eq!(status, 200, "{body}");
    let r = record(&env, &morn_id(&headers)).await?;
    assert_eq!(r.endpoint, "embeddings");
    assert!(r.input_tokens > 0 && r.cost_micros > 0, "{r:?}");
    Ok(())
}

/// A caller's `x-request-id` is echoed and kept, but is not the record's key: two
/// requests sent with one id are two records (before, the second was skipped as a
/// replay, so a caller could keep requests off its invoice).
#[tokio::test]
async fn requests_sharing_a_caller_id_are_each_recorded() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let alice = signup(&env, "alice@example.com").await?;
    let (key, key_id) = key(&env, &alice).await?;
    let mut ids = Vec::new();
    for stream in [false, true, false] {
        let body = chat_body("gpt-4o-mini", stream);
        let (status, headers, text) =
            send(&env, "/v1/chat/completions", &key, "same-id", &body).await?;
        assert_eq!(status, 200, "{text}");
        assert_eq!(headers["x-request-id"], "same-id");
        ids.push(morn_id(&headers));
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3, "each request has its own Morn id: {ids:?}");
    for id in &ids {
        let r = record(&env, id).await?;
        assert_eq!(r.client_request_id.as_deref(), Some("same-id"));
    }
    let filter = UsageFilter {
        key_id: Some(key_id),
        since: 0,
        until: i64::MAX,
        ..UsageFilter::default()
    };
    assert_eq!(env.store.usage_total(&filter).await?.requests, 3);
    Ok(())
}

#[tokio::test]
async fn a_requests_per_minute_limit_answers_429_with_retry_after_and_openai_headers()
-> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let alice = signup(&env, "alice@example.com").await?;
    let (key, key_id) = key(&env, &alice).await?;
    let rule = post(
        &env,
        &format!("/workspaces/{}/limits", alice.ws),
        &alice.access,
        json!({"scope": "key", "scope_id": key_id, "rpm": 3, "tpm": 100000}),
    )
    .await?;
    assert_eq!(rule.status, 201, "{rule:?}");
    let body = chat_body("gpt-4o-mini", false);
    let mut admitted = 0;
    let mut refused: Option<(reqwest::header::HeaderMap, String)> = None;
    let mut refused_id = String::new();
    for i in 0..6 {
        let (status, headers, text) = send(
            &env,
            "/v1/chat/completions",
            &key,
            &format!("rpm-{i}"),
            &body,
        )
        .await?;
        match status {
            200 => {
                admitted += 1;
                assert_eq!(headers["x-ratelimit-limit-requests"], "3");
                assert!(headers.contains_key("x-ratelimit-remaining-requests"));
                assert!(headers.contains_key("x-ratelimit-reset-requests"));
                assert_eq!(headers["x-ratelimit-limit-tokens"], "100000");
            }
            429 => {
                refused_id = morn_id(&headers);
                refused = Some((headers, text));
            }
            other => panic!("unexpected {other}: {text}"),
        }
    }
    // The three admitted may straddle a minute boundary; then a fourth fits.
    assert!((3..=4).contains(&admitted), "admitted {admitted}");
    let Some((headers, text)) = refused else {
        panic!("the limit refused nothing")
    };
    let retry: u64 = headers["retry-after"].to_str()?.parse()?;
    assert!((1..=60).contains(&retry));
    let error: Value = serde_json::from_str(&text)?;
    assert_eq!(error["error"]["code"], "rate_limit_exceeded", "{error}");
    // Refusals are recorded too: all six requests reach the ledger.
    let filter = UsageFilter {
        key_id: Some(key_id.clone()),
        since: 0,
        until: i64::MAX,
        ..UsageFilter::default()
    };
    let started = Instant::now();
    while env.store.usage_total(&filter).await?.requests < 6 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "records missing"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let refused = record(&env, &refused_id).await?;
    assert_eq!(refused.status, 429);
    assert_eq!(refused.error_class.as_deref(), Some("rate_limit_exceeded"));
    Ok(())
}

#[tokio::test]
async fn concurrency_slots_are_held_while_answering_and_freed_after() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let alice = signup(&env, "alice@example.com").await?;
    let (key, key_id) = key(&env, &alice).await?;
    let rule = post(
        &env,
        &format!("/workspaces/{}/limits", alice.ws),
        &alice.access,
        json!({"scope": "key", "scope_id": key_id, "max_concurrent": 2}),
    )
    .await?;
    assert_eq!(rule.status, 201, "{rule:?}");
    let slow = json!({
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "#mock{\"ttfb_ms\":400} hello"}],
    });
    let calls = (0..4).map(|i| {
        let (env, key, slow) = (&env, key.clone(), slow.clone());
        async move {
            send(
                env,
                "/v1/chat/completions",
                &key,
                &format!("conc-{i}"),
                &slow,
            )
            .await
        }
    });
    let results = futures::future::join_all(calls).await;
    let statuses: Vec<u16> = results.iter().map(|r| r.as_ref().unwrap().0).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        2,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        2,
        "{statuses:?}"
    );
    let refused = results.iter().flatten().find(|r| r.0 == 429).unwrap();
    assert!(
        refused.2.contains("concurrency_limit_exceeded"),
        "{}",
        refused.2
    );
    // Both slots are free again.
    let (a, b) = tokio::join!(
        send(&env, "/v1/chat/completions", &key, "conc-after-1", &slow),
        send(&env, "/v1/chat/completions", &key, "conc-after-2", &slow),
    );
    assert_eq!((a?.0, b?.0), (200, 200));
    Ok(())
}

#[tokio::test]
async fn a_request_larger_than_the_tokens_per_minute_limit_is_refused() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let alice = signup(&env, "alice@example.com").await?;
    let (key, key_id) = key(&env, &alice).await?;
    let rule = post(
        &env,
        &format!("/workspaces/{}/limits", alice.ws),
        &alice.access,
        json!({"scope": "workspace", "scope_id": alice.ws, "tpm": 500}),
    )
    .await?;
    assert_eq!(rule.status, 201, "{rule:?}");
    let big = json!({
        "model": "gpt-4o-mini",
        "max_tokens": 1000,
        "messages": [{"role": "user", "content": "hi"}],
    });
    let (status, headers, text) = send(&env, "/v1/chat/completions", &key, "tpm-big", &big).await?;
    assert_eq!(status, 429, "{text}");
    assert!(text.contains("tokens_exceed_limit"), "{text}");
    let r = record(&env, &morn_id(&headers)).await?;
    assert_eq!(r.error_class.as_deref(), Some("tokens_exceed_limit"));
    assert_eq!(r.cost_micros, 0);
    // Small requests fit; reconciliation returns what they did not use.
    for i in 0..5 {
        let (status, headers, text) = send(
            &env,
            "/v1/chat/completions",
            &key,
            &format!("tpm-small-{i}"),
            &chat_body("gpt-4o-mini", false),
        )
        .await?;
        assert_eq!(status, 200, "{text}");
        assert_eq!(headers["x-ratelimit-limit-tokens"], "500");
    }
    // A streamed answer carries them too (its head is written before the body).
    let (status, headers, text) = send(
        &env,
        "/v1/chat/completions",
        &key,
        "tpm-stream",
        &chat_body("gpt-4o-mini", true),
    )
    .await?;
    assert_eq!(status, 200, "{text}");
    assert_eq!(headers["x-ratelimit-limit-tokens"], "500");
    assert!(headers.contains_key("x-ratelimit-reset-tokens"));
    // So does an answer hyper writes: a chunked request body is handed to hyper.
    let head = chunked_request_head(&env, &key, &chat_body("gpt-4o-mini", false)).await?;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(
        head.contains("\r\nx-ratelimit-limit-tokens: 500\r\n"),
        "{head}"
    );
    assert!(
        head.contains("\r\nx-ratelimit-remaining-tokens: "),
        "{head}"
    );
    let _ = key_id;
    Ok(())
}

/// The response head (lower-cased) of a chat request sent with a chunked body over a
/// raw connection.
async fn chunked_request_head(env: &TestEnv, key: &str, body: &Value) -> anyhow::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = env.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let body = body.to_string();
    let request = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {key}\r\n\
         content-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n\
         {:x}\r\n{body}\r\n0\r\n\r\n",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await??;
    let answer = String::from_utf8_lossy(&answer).to_lowercase();
    Ok(answer
        .split("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .to_owned())
}

#[tokio::test]
async fn a_budget_holds_under_a_thousand_concurrent_requests() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let alice = signup(&env, "alice@example.com").await?;
    let (key, key_id) = key(&env, &alice).await?;
    let budget = 3_000;
    let created = post(
        &env,
        &format!("/workspaces/{}/budgets", alice.ws),
        &alice.access,
        json!({"scope": "key", "scope_id": key_id, "period": "month", "amount_micros": budget}),
    )
    .await?;
    assert_eq!(created.status, 201, "{created:?}");
    let body = chat_body("gpt-4o-mini", false);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1000)
        .build()?;
    let calls = (0..1000).map(|i| {
        let (client, key, body, base) =
            (client.clone(), key.clone(), body.clone(), env.base.clone());
        async move {
            let response = client
                .post(format!("{base}/v1/chat/completions"))
                .bearer_auth(key)
                .header("x-request-id", format!("budget-{i}"))
                .json(&body)
                .send()
                .await?;
            let status = response.status().as_u16();
            let text = response.text().await?;
            Ok::<_, anyhow::Error>((status, text))
        }
    });
    let results = futures::future::join_all(calls).await;
    let mut admitted = 0;
    let mut blocked = 0;
    for result in results {
        let (status, text) = result?;
        match status {
            200 => admitted += 1,
            429 => {
                assert!(text.contains("budget_exceeded"), "{text}");
                blocked += 1;
            }
            other => panic!("unexpected {other}: {text}"),
        }
    }
    assert!(
        admitted > 10 && blocked > 0,
        "admitted {admitted}, blocked {blocked}"
    );
    // Every request is in the ledger; the admitted ones' cost stays within the budget
    // plus one request's worst case (in fact within the budget: reservations are
    // worst-case).
    let filter = UsageFilter {
        key_id: Some(key_id),
        since: 0,
        until: i64::MAX,
        ..UsageFilter::default()
    };
    let started = Instant::now();
    let total = loop {
        let total = env.store.usage_total(&filter).await?;
        if total.requests == 1000 || started.elapsed() > Duration::from_secs(10) {
            break total;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(total.requests, 1000);
    let worst_one = 40 * 600_000 / 1_000_000 + 100;
    assert!(
        total.cost_micros <= budget + worst_one,
        "spent {} of {budget}",
        total.cost_micros
    );
    assert!(
        total.cost_micros > budget / 2,
        "the budget was used: {}",
        total.cost_micros
    );
    Ok(())
}

/// A one-shot HTTP server that captures the first request body it gets.
async fn webhook() -> anyhow::Result<(String, tokio::sync::oneshot::Receiver<String>)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let Ok((mut socket, _)) = listener.accept().await else {
            return;
        };
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let Ok(n) = socket.read(&mut chunk).await else {
                return;
            };
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf);
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                    })
                    .unwrap_or(0);
                if body.len() >= length {
                    let _ = socket
                        .write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
                        .await;
                    let _ = tx.send(body.to_owned());
                    return;
                }
            }
        }
    });
    Ok((url, rx))
}

#[tokio::test]
async fn a_soft_budget_alerts_once_to_its_webhook_and_the_audit_log() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let alice = signup(&env, "alice@example.com").await?;
    let (key, _) = key(&env, &alice).await?;
    let (url, hook) = webhook().await?;
    let created: Reply = post(
        &env,
        &format!("/workspaces/{}/budgets", alice.ws),
        &alice.access,
        json!({
            "scope": "workspace", "scope_id": alice.ws, "period": "day",
            "amount_micros": 40, "alert_percents": [50], "webhook_url": url, "hard_stop": false,
        }),
    )
    .await?;
    assert_eq!(created.status, 201, "{created:?}");
    for i in 0..8 {
        let (status, _, text) = send(
            &env,
            "/v1/chat/completions",
            &key,
            &format!("soft-{i}"),
            &chat_body("gpt-4o-mini", false),
        )
        .await?;
        assert_eq!(status, 200, "a soft budget never blocks: {text}");
    }
    let body = tokio::time::timeout(Duration::from_secs(10), hook).await??;
    let alert: Value = serde_json::from_str(&body)?;
    assert_eq!(alert["type"], "budget.alert");
    assert_eq!(alert["data"]["percent"], 50);
    assert_eq!(alert["data"]["budget_id"], created.str("/id"));
    let audit = platform_support::get(
        &env,
        &format!("/orgs/{}/audit?action=budget.alert", alice.org),
        &alice.access,
    )
    .await?;
    assert_eq!(audit.status, 200, "{audit:?}");
    assert_eq!(
        audit.body["data"].as_array().map(Vec::len),
        Some(1),
        "one alert per threshold and period: {:?}",
        audit.body
    );
    Ok(())
}

#[tokio::test]
async fn metrics_count_requests_tokens_cost_and_the_ledger() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let alice = signup(&env, "alice@example.com").await?;
    let (key, _) = key(&env, &alice).await?;
    let mut last = String::new();
    for (i, stream) in [false, true].into_iter().enumerate() {
        let (status, headers, _) = send(
            &env,
            "/v1/chat/completions",
            &key,
            &format!("metrics-{i}"),
            &chat_body("gpt-4o-mini", stream),
        )
        .await?;
        assert_eq!(status, 200);
        last = morn_id(&headers);
    }
    record(&env, &last).await?;
    let response = env.http.get(format!("{}/metrics", env.base)).send().await?;
    assert_eq!(response.status(), 200);
    let text = response.text().await?;
    for needle in [
        "morn_requests_total{",
        "model=\"gpt-4o-mini\"",
        "morn_request_duration_seconds_bucket{",
        "morn_time_to_first_token_seconds_bucket{",
        "morn_tokens_total{",
        "morn_cost_micros_total{",
        "morn_ledger_queue_depth",
        "morn_ledger_records_written_total",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
    let written = text
        .lines()
        .find(|l| l.starts_with("morn_ledger_records_written_total"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0);
    assert!(written >= 2.0, "{text}");
    Ok(())
}
