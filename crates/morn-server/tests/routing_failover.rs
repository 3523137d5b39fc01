//! Routing under injected faults: failover between deployments, circuit breakers that
//! take a failing deployment out and bring it back, `Retry-After`, deadlines, slow and
//! hanging upstreams, and fallbacks to other models by error class. Each "provider" is
//! a simulator steered by per-provider `x-mock-*` headers, so one deployment can fail
//! while another of the same model is healthy.

mod common;

use std::time::{Duration, Instant};

use common::{KEY, TestEnv, deployment, fast_health, provider, routed, spawn_mock};
use morn_gateway::Timeouts;
use serde_json::{Value, json};

struct Answer {
    status: u16,
    deployment: String,
    attempts: u32,
    model: String,
    fallback_from: Option<String>,
    retry_after: Option<String>,
    body: Value,
}

async fn ask(env: &TestEnv, model: &str, prompt: &str) -> anyhow::Result<Answer> {
    let response = env
        .post(
            "/v1/chat/completions",
            &json!({"model": model, "messages": [{"role": "user", "content": prompt}]}),
        )
        .await?;
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let answer = Answer {
        status: response.status().as_u16(),
        deployment: header("x-morn-deployment").unwrap_or_default(),
        attempts: header("x-morn-attempts")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        model: header("x-morn-model").unwrap_or_default(),
        fallback_from: header("x-morn-fallback-from"),
        retry_after: header("retry-after"),
        body: response.json().await?,
    };
    Ok(answer)
}

async fn health(env: &TestEnv) -> anyhow::Result<Vec<Value>> {
    let body: Value = env
        .http
        .get(format!("{}/api/v1/admin/deployments", env.base))
        .bearer_auth(KEY)
        .send()
        .await?
        .json()
        .await?;
    Ok(body["data"].as_array().cloned().unwrap_or_default())
}

fn state_of(health: &[Value], deployment: &str) -> String {
    health
        .iter()
        .find(|d| d["deployment"] == deployment)
        .and_then(|d| d["state"].as_str())
        .unwrap_or("missing")
        .to_owned()
}

#[tokio::test]
async fn a_failing_deployment_is_invisible_and_leaves_rotation_within_three_failures()
-> anyhow::Result<()> {
    let (a_url, _a) = spawn_mock("127.0.0.1:0").await?;
    let (b_url, _b) = spawn_mock("127.0.0.1:0").await?;
    let a = provider("a", &a_url, &[("x-mock-status", "500")])?;
    let b = provider("b", &b_url, &[])?;
    let spec = routed(
        "m",
        vec![deployment(&a, "gpt", 1), deployment(&b, "gpt", 1)],
    );
    let (env, _) = TestEnv::with_routes(&[spec], fast_health(Duration::from_secs(60))).await?;
    let mut failed_attempts = 0;
    for i in 0..20 {
        let answer = ask(&env, "m", &format!("question {i}")).await?;
        assert_eq!(
            answer.status, 200,
            "the client never sees the failing deployment: {}",
            answer.body
        );
        assert_eq!(answer.deployment, "b/gpt");
        failed_attempts += answer.attempts - 1;
    }
    assert!(
        failed_attempts <= 3,
        "a failing deployment leaves rotation within 3 failures, took {failed_attempts}"
    );
    let health = health(&env).await?;
    assert_eq!(state_of(&health, "a/gpt"), "open");
    assert_eq!(state_of(&health, "b/gpt"), "closed");
    Ok(())
}

#[tokio::test]
async fn a_provider_that_comes_back_returns_to_rotation() -> anyhow::Result<()> {
    let (a_url, a_task) = spawn_mock("127.0.0.1:0").await?;
    let (b_url, _b) = spawn_mock("127.0.0.1:0").await?;
    let a = provider("a", &a_url, &[])?;
    let b = provider("b", &b_url, &[])?;
    // A is preferred 9:1 so its return is visible.
    let spec = routed(
        "m",
        vec![deployment(&a, "gpt", 9), deployment(&b, "gpt", 1)],
    );
    let (env, _) = TestEnv::with_routes(&[spec], fast_health(Duration::from_millis(300))).await?;
    assert_eq!(ask(&env, "m", "warm up").await?.status, 200);

    a_task.abort();
    let _ = a_task.await;
    let started = Instant::now();
    let mut failed_attempts = 0;
    for i in 0..20 {
        let answer = ask(&env, "m", &format!("while a is down {i}")).await?;
        assert_eq!(answer.status, 200, "{}", answer.body);
        failed_attempts += answer.attempts - 1;
    }
    assert!(
        failed_attempts <= 4,
        "A left rotation quickly (failed attempts: {failed_attempts})"
    );
    assert!(started.elapsed() < Duration::from_secs(5));

    // A comes back on the same address; after the cooldown a probe finds it healthy.
    let addr = a_url.trim_start_matches("http://").to_owned();
    let (_url, _a_again) = spawn_mock(&addr).await?;
    // Its cooldown (doubled by failed probes, at most 1.2 s here) runs out, a probe
    // succeeds, and A is back.
    let back = Instant::now();
    while state_of(&health(&env).await?, "a/gpt") != "closed"
        && back.elapsed() < Duration::from_secs(5)
    {
        ask(&env, "m", "probe").await?;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut served_by_a = 0;
    for i in 0..20 {
        let answer = ask(&env, "m", &format!("after a returned {i}")).await?;
        assert_eq!(answer.status, 200);
        served_by_a += u32::from(answer.deployment == "a/gpt");
    }
    assert!(
        served_by_a >= 10,
        "A is back in rotation (served {served_by_a}/20)"
    );
    assert_eq!(state_of(&health(&env).await?, "a/gpt"), "closed");
    Ok(())
}

#[tokio::test]
async fn retry_after_is_honoured() -> anyhow::Result<()> {
    let (url, _m) = spawn_mock("127.0.0.1:0").await?;
    let only = provider("only", &url, &[])?;
    let (env, _) = TestEnv::with_routes(
        &[routed("m", vec![deployment(&only, "gpt", 1)])],
        fast_health(Duration::from_secs(5)),
    )
    .await?;
    let started = Instant::now();
    let prompt =
        r#"once #mock{"status":429,"retry_after":1,"fail_first":1,"key":"retry-after-test"}"#;
    let answer = ask(&env, "m", prompt).await?;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.attempts, 2);
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "waited for Retry-After: {:?}",
        started.elapsed()
    );
    Ok(())
}

#[tokio::test]
async fn retries_never_exceed_the_deadline() -> anyhow::Result<()> {
    let (url, _m) = spawn_mock("127.0.0.1:0").await?;
    let limited = provider(
        "limited",
        &url,
        &[("x-mock-status", "429"), ("x-mock-retry-after", "5")],
    )?;
    let failing = provider(
        "failing",
        &url,
        &[("x-mock-status", "503"), ("x-mock-retry-after", "0")],
    )?;
    let timeouts = Timeouts {
        total: Duration::from_millis(800),
        ..Timeouts::default()
    };
    let mut slow_429 = routed("limited", vec![deployment(&limited, "gpt", 1)]);
    slow_429.timeouts = timeouts;
    let mut flaky = routed("failing", vec![deployment(&failing, "gpt", 1)]);
    flaky.timeouts = timeouts;
    flaky.retry.max_attempts = 50;
    let mut health = fast_health(Duration::from_secs(5));
    health.enabled = false;
    let (env, _) = TestEnv::with_routes(&[slow_429, flaky], health).await?;

    let started = Instant::now();
    let answer = ask(&env, "limited", "hi").await?;
    assert_eq!(answer.status, 429);
    assert_eq!(
        answer.retry_after.as_deref(),
        Some("5"),
        "the client learns when to come back"
    );
    assert!(
        started.elapsed() < Duration::from_millis(800),
        "a 5 s Retry-After is not waited past the 0.8 s deadline"
    );

    let started = Instant::now();
    let answer = ask(&env, "failing", "hi").await?;
    assert_eq!(answer.status, 503);
    assert!(
        started.elapsed() < Duration::from_millis(1000),
        "backoff stops at the deadline: {:?}",
        started.elapsed()
    );
    Ok(())
}

#[tokio::test]
async fn slow_first_bytes_and_hangs_fail_over_within_the_ttfb_timeout() -> anyhow::Result<()> {
    let (url, _m) = spawn_mock("127.0.0.1:0").await?;
    let slow = provider("slow", &url, &[("x-mock-ttfb-ms", "3000")])?;
    let hung = provider("hung", &url, &[("x-mock-hang", "true")])?;
    let fast = provider("fast", &url, &[])?;
    let timeouts = Timeouts {
        ttfb: Duration::from_millis(300),
        ..Timeouts::default()
    };
    let mut specs = Vec::new();
    for (name, bad) in [("slow-model", &slow), ("hung-model", &hung)] {
        let mut spec = routed(
            name,
            vec![deployment(bad, "gpt", 1000), deployment(&fast, "gpt", 1)],
        );
        spec.timeouts = timeouts;
        specs.push(spec);
    }
    let (env, _) = TestEnv::with_routes(&specs, fast_health(Duration::from_secs(60))).await?;
    for model in ["slow-model", "hung-model"] {
        let started = Instant::now();
        let answer = ask(&env, model, "hello").await?;
        assert_eq!(answer.status, 200, "{model}: {}", answer.body);
        assert_eq!(answer.deployment, "fast/gpt");
        assert!(
            started.elapsed() < Duration::from_millis(1500),
            "{model}: {:?}",
            started.elapsed()
        );
    }
    Ok(())
}

#[tokio::test]
async fn fallbacks_by_error_class() -> anyhow::Result<()> {
    let (url, _m) = spawn_mock("127.0.0.1:0").await?;
    let limited = provider(
        "limited",
        &url,
        &[("x-mock-status", "429"), ("x-mock-retry-after", "30")],
    )?;
    let refusing = provider(
        "refusing",
        &url,
        &[
            ("x-mock-status", "400"),
            (
                "x-mock-error-message",
                "Your request was rejected by our content policy.",
            ),
        ],
    )?;
    let good = provider("good", &url, &[])?;
    let mut primary = routed("primary", vec![deployment(&limited, "gpt", 1)]);
    primary.fallbacks.rate_limited = vec!["backup".into()];
    let mut small = routed(
        "small",
        vec![morn_gateway::DeploymentSpec {
            context_window: Some(50),
            ..deployment(&good, "small", 1)
        }],
    );
    small.fallbacks.context_window = vec!["big".into()];
    let mut careful = routed("careful", vec![deployment(&refusing, "gpt", 1)]);
    careful.fallbacks.content_policy = vec!["backup".into()];
    careful.fallbacks.unavailable = vec!["backup".into()];
    let specs = [
        primary,
        small,
        careful,
        routed("backup", vec![deployment(&good, "backup", 1)]),
        routed("big", vec![deployment(&good, "big", 1)]),
    ];
    let (env, _) = TestEnv::with_routes(&specs, fast_health(Duration::from_secs(60))).await?;

    let answer = ask(&env, "primary", "rate limited").await?;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        (answer.model.as_str(), answer.fallback_from.as_deref()),
        ("backup", Some("primary"))
    );
    assert_eq!(
        answer.body["model"], "backup",
        "the body names the model that answered"
    );

    let long = "word ".repeat(300);
    let answer = ask(&env, "small", &long).await?;
    assert_eq!(
        (answer.status, answer.model.as_str()),
        (200, "big"),
        "a prompt too long for `small` goes to `big`"
    );
    let answer = ask(&env, "small", "short").await?;
    assert_eq!((answer.status, answer.model.as_str()), (200, "small"));

    let answer = ask(&env, "careful", "something edgy").await?;
    assert_eq!(
        (answer.status, answer.model.as_str()),
        (200, "backup"),
        "{}",
        answer.body
    );
    Ok(())
}

#[tokio::test]
async fn client_errors_are_neither_retried_nor_failed_over() -> anyhow::Result<()> {
    let (url, _m) = spawn_mock("127.0.0.1:0").await?;
    let strict = provider("strict", &url, &[("x-mock-status", "400")])?;
    let good = provider("good", &url, &[])?;
    let mut spec = routed(
        "m",
        vec![
            deployment(&strict, "gpt", 1000),
            deployment(&good, "gpt", 1),
        ],
    );
    spec.fallbacks.unavailable = vec!["other".into()];
    let specs = [spec, routed("other", vec![deployment(&good, "other", 1)])];
    let (env, _) = TestEnv::with_routes(&specs, fast_health(Duration::from_secs(60))).await?;
    let answer = ask(&env, "m", "bad request").await?;
    assert_eq!(
        answer.status, 400,
        "the request's own fault is returned as is"
    );
    assert_eq!(
        state_of(&health(&env).await?, "strict/gpt"),
        "closed",
        "a 400 says nothing about the deployment's health"
    );
    Ok(())
}

#[tokio::test]
async fn when_every_deployment_is_out_a_probe_finds_the_one_that_recovered() -> anyhow::Result<()> {
    let (a_url, a_task) = spawn_mock("127.0.0.1:0").await?;
    let (b_url, b_task) = spawn_mock("127.0.0.1:0").await?;
    let a = provider("a", &a_url, &[])?;
    let b = provider("b", &b_url, &[])?;
    let spec = routed(
        "m",
        vec![deployment(&a, "gpt", 1), deployment(&b, "gpt", 1)],
    );
    // A long cooldown: without probing on demand, A would stay out for a minute.
    let (env, _) = TestEnv::with_routes(&[spec], fast_health(Duration::from_secs(60))).await?;
    a_task.abort();
    let _ = a_task.await;
    // Traffic until A's breaker opens (A is picked at random, so this takes a few).
    for i in 0..60 {
        assert_eq!(ask(&env, "m", &format!("a down {i}")).await?.status, 200);
        if state_of(&health(&env).await?, "a/gpt") == "open" {
            break;
        }
    }
    assert_eq!(state_of(&health(&env).await?, "a/gpt"), "open");
    // A comes back, then B dies: A is still "open", but it is the only hope.
    let (_a_again_url, _a_again) = spawn_mock(a_url.trim_start_matches("http://")).await?;
    b_task.abort();
    let _ = b_task.await;
    let env = std::sync::Arc::new(env);
    let mut tasks = Vec::new();
    for i in 0..16 {
        let env = env.clone();
        tasks.push(tokio::spawn(async move {
            ask(&env, "m", &format!("b down {i}")).await
        }));
    }
    for task in tasks {
        let answer = task.await??;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(answer.deployment, "a/gpt");
    }
    assert_eq!(state_of(&health(&env).await?, "a/gpt"), "closed");
    Ok(())
}
