//! Metering guarantees of the real binary that only whole processes can show: a
//! SIGKILL under load loses no acknowledged usage record, and two replicas sharing one
//! PostgreSQL and one Redis hold a requests-per-minute limit together.

#![expect(clippy::unwrap_used, reason = "tests")]

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use morn_store::prelude::*;
use serde_json::json;
use support::{KEY, Morn, config_for, http, start_mock};

/// One chat request; its status once the whole answer arrived (for a stream: the
/// final `[DONE]`), and the request id Morn gave it (`x-request-id`).
async fn acked_chat(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    id: &str,
    stream: bool,
) -> anyhow::Result<(u16, String)> {
    let body = json!({
        "model": "gpt-4o-mini",
        "stream": stream,
        "max_tokens": 30,
        "messages": [{"role": "user", "content": format!("Say something about {id}.")}],
    });
    let response = client
        .post(format!("{base}/v1/chat/completions"))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await?;
    let status = response.status().as_u16();
    let morn_id = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = response.text().await?;
    if status == 200 && stream {
        anyhow::ensure!(text.contains("[DONE]"), "stream cut");
    }
    Ok((status, morn_id))
}

#[tokio::test]
async fn sigkill_under_load_loses_no_acknowledged_usage_record() -> anyhow::Result<()> {
    let mock = start_mock().await?;
    let morn = Morn::start(&config_for(&mock, ""), &[])?;
    let data = morn.dir.path().join("data");
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let client = http();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let workers: Vec<_> = (0..16)
        .map(|w| {
            let (client, base, acked, stop) = (
                client.clone(),
                morn.base.clone(),
                acked.clone(),
                stop.clone(),
            );
            tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let id = format!("kill-{w}-{n}");
                    n += 1;
                    match acked_chat(&client, &base, KEY, &id, n % 3 == 0).await {
                        Ok((200, morn_id)) => acked.lock().unwrap().push(morn_id),
                        Ok(_) => {}
                        Err(_) => break,
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    morn.signal(9)?;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for worker in workers {
        let _ = worker.await;
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() > 100,
        "only {} requests before the kill",
        acked.len()
    );

    eprintln!("acknowledged before SIGKILL: {}", acked.len());
    // The next start stores what the killed process acknowledged before it serves.
    let again = Morn::start_with_data(&config_for(&mock, ""), &[], Some(&data))?;
    let store = morn_store::SqliteStore::open(&data).await?;
    let mut missing = Vec::new();
    for id in &acked {
        if store.get_usage(id).await?.is_none() {
            missing.push(id.clone());
        }
    }
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged records lost: {:?}\n{}",
        missing.len(),
        acked.len(),
        &missing[..missing.len().min(5)],
        again.stderr()
    );
    Ok(())
}

/// Runs SQL with `psql`.
fn psql(url: &str, sql: &str) -> anyhow::Result<bool> {
    Ok(std::process::Command::new("psql")
        .arg(url)
        .args(["-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
        .output()?
        .status
        .success())
}

#[tokio::test]
async fn two_replicas_on_postgres_and_redis_hold_a_requests_per_minute_limit() -> anyhow::Result<()>
{
    let admin_url = std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let redis_url =
        std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let db = format!("morn_limits_{}", std::process::id());
    psql(&admin_url, &format!("DROP DATABASE IF EXISTS {db}"))?;
    anyhow::ensure!(
        psql(&admin_url, &format!("CREATE DATABASE {db}"))?,
        "PostgreSQL must be running for this test"
    );
    let url = admin_url
        .rsplit_once('/')
        .map(|(base, _)| format!("{base}/{db}"))
        .unwrap_or_default();
    let result = async {
        let mock = start_mock().await?;
        let extra = format!(
            "[database]\nurl = \"{url}\"\n[metering]\nredis_url = \"{redis_url}\"\nredis_failure = \"closed\"\nreplicas = 2\n[bootstrap]\nemail = \"owner@example.com\"\n"
        );
        let a = Morn::start(&config_for(&mock, &extra), &[])?;
        let b = Morn::start(&config_for(&mock, &extra), &[])?;
        // The first start bootstrapped the organization and printed its API key.
        let key = [a.stderr(), b.stderr()]
            .iter()
            .flat_map(|s| s.lines().map(str::to_owned).collect::<Vec<_>>())
            .find_map(|l| l.trim().strip_prefix("api key").map(|k| k.trim().to_owned()))
            .ok_or_else(|| anyhow::anyhow!("no bootstrap key:\n{}\n{}", a.stderr(), b.stderr()))?;
        let store = morn_store::PgStore::connect(&url, 2).await?;
        let key_row = store
            .list_active_api_keys(0)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| anyhow::anyhow!("no key in the store"))?;
        let limit = 400;
        let client = http();
        let created = client
            .post(format!("{}/api/v1/workspaces/{}/limits", a.base, key_row.workspace_id))
            .bearer_auth(KEY)
            .json(&json!({"scope": "workspace", "scope_id": key_row.workspace_id, "rpm": limit}))
            .send()
            .await?;
        anyhow::ensure!(created.status() == 201, "{}", created.text().await?);
        // The other replica reads policies every second.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        // Start early in a minute so the burst stays inside one window.
        loop {
            let second = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_secs()
                % 60;
            if (1..=30).contains(&second) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let started = Instant::now();
        let bases = [a.base.clone(), b.base.clone()];
        let calls = (0..limit * 2).map(|i| {
            let (client, base, key) = (client.clone(), bases[i % 2].clone(), key.clone());
            async move { acked_chat(&client, &base, &key, &format!("rpm-{i}"), false).await }
        });
        let mut admitted = 0;
        let mut refused = 0;
        let mut stream = futures::stream::iter(calls).buffer_unordered(32);
        while let Some(status) = stream.next().await {
            match status?.0 {
                200 => admitted += 1,
                429 => refused += 1,
                other => anyhow::bail!("unexpected status {other}"),
            }
        }
        let took = started.elapsed();
        anyhow::ensure!(
            took < Duration::from_secs(25),
            "the burst took {took:?}, longer than the window allows"
        );
        eprintln!("admitted {admitted}, refused {refused} in {took:?} (limit {limit} rpm)");
        let off = (admitted as f64 - limit as f64).abs() / limit as f64;
        assert!(
            off <= 0.01,
            "admitted {admitted} of a {limit} rpm limit across two replicas ({refused} refused)"
        );
        Ok::<_, anyhow::Error>(())
    }
    .await;
    let _ = psql(
        &admin_url,
        &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
    );
    result
}
