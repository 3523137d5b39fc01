//! Black-box tests of `morn serve`: startup, probes, request ids, authentication in
//! each caller's protocol, environment overrides, logs without secrets, and graceful
//! shutdown with streams in flight.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{KEY, Morn, UPSTREAM_SECRET, config_for, start_mock};

fn chat_body(model: &str, prompt: &str, stream: bool) -> Value {
    json!({"model": model, "stream": stream, "messages": [{"role": "user", "content": prompt}]})
}

#[tokio::test]
async fn starts_and_answers_probes_with_request_ids() -> anyhow::Result<()> {
    let mock = start_mock().await?;
    let morn = Morn::start(&config_for(&mock, ""), &[])?;
    let http = support::http();
    let health = http.get(format!("{}/healthz", morn.base)).send().await?;
    assert_eq!(health.status(), 200);
    assert!(health.headers().contains_key("x-request-id"));
    let ready = http.get(format!("{}/readyz", morn.base)).send().await?;
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.json::<Value>().await?["status"], "ready");
    let echoed = http
        .get(format!("{}/healthz", morn.base))
        .header("x-request-id", "req-abc-123")
        .send()
        .await?;
    assert_eq!(echoed.headers()["x-request-id"], "req-abc-123");
    assert!(
        morn.dir.path().join("data/morn.db").exists(),
        "the SQLite database lives in the data dir"
    );
    Ok(())
}

#[tokio::test]
async fn rejects_missing_or_wrong_keys_in_the_callers_protocol() -> anyhow::Result<()> {
    let mock = start_mock().await?;
    let morn = Morn::start(&config_for(&mock, ""), &[])?;
    let http = support::http();

    let openai = http
        .post(format!("{}/v1/chat/completions", morn.base))
        .json(&chat_body("gpt-4o-mini", "hi", false))
        .send()
        .await?;
    assert_eq!(openai.status(), 401);
    let body: Value = openai.json().await?;
    // OpenAI itself reports a bad key as an `invalid_request_error`; the code says which.
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert_eq!(body["error"]["code"], "missing_api_key");

    let anthropic = http
        .post(format!("{}/v1/messages", morn.base))
        .header("x-api-key", "wrong")
        .header("anthropic-version", "2023-06-01")
        .json(&json!({"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await?;
    assert_eq!(anthropic.status(), 401);
    let body: Value = anthropic.json().await?;
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "authentication_error");

    let ok = http
        .post(format!("{}/v1/messages", morn.base))
        .header("x-api-key", KEY)
        .json(&json!({"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await?;
    assert_eq!(ok.status(), 200);
    Ok(())
}

#[tokio::test]
async fn environment_overrides_the_file() -> anyhow::Result<()> {
    let mock = start_mock().await?;
    // The file maps gpt-4o-mini to an unreachable server; the environment fixes it.
    let config = config_for("http://127.0.0.1:9", "");
    let morn = Morn::start(
        &config,
        &[(
            "MORN_PROVIDERS__MOCK_OPENAI__BASE_URL",
            &format!("{mock}/v1"),
        )],
    )?;
    let response = support::http()
        .post(format!("{}/v1/chat/completions", morn.base))
        .bearer_auth(KEY)
        .json(&chat_body("gpt-4o-mini", "override works", false))
        .send()
        .await?;
    assert_eq!(response.status(), 200);
    Ok(())
}

#[tokio::test]
async fn json_logs_carry_request_ids_and_never_secrets() -> anyhow::Result<()> {
    let mock = start_mock().await?;
    let config = config_for(&mock, "[log]\nformat = \"json\"\nlevel = \"debug\"\n");
    let morn = Morn::start(&config, &[])?;
    let http = support::http();
    for (model, prompt) in [
        ("gpt-4o-mini", "hello"),
        ("claude-sonnet-4-5", "fail #mock{\"status\":500}"),
    ] {
        http.post(format!("{}/v1/chat/completions", morn.base))
            .bearer_auth(KEY)
            .header("x-request-id", "trace-me-42")
            .json(&chat_body(model, prompt, false))
            .send()
            .await?;
    }
    // Give the logger a moment to flush.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let logs = morn.stderr();
    assert!(!logs.contains(KEY), "master key leaked into logs");
    assert!(
        !logs.contains(UPSTREAM_SECRET),
        "upstream key leaked into logs"
    );
    let request_lines: Vec<Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["span"]["client_request_id"] == "trace-me-42")
        .collect();
    assert!(
        request_lines.len() >= 3,
        "every line of the request names the caller's id:\n{logs}"
    );
    // ... and Morn's own id, which keys the usage record.
    assert!(request_lines.iter().all(|l| {
        l["span"]["request_id"]
            .as_str()
            .is_some_and(|id| uuid::Uuid::parse_str(id).is_ok())
    }));
    assert!(request_lines.iter().any(|l| l["fields"]["status"] == 500));
    Ok(())
}

#[tokio::test]
async fn sigterm_lets_in_flight_streams_finish_then_exits_zero() -> anyhow::Result<()> {
    let mock = start_mock().await?;
    let mut morn = Morn::start(&config_for(&mock, ""), &[])?;
    let http = support::http();
    // A stream of 10 chunks, 100 ms apart: about one second long.
    let slow = r#"slow please #mock{"chunks":10,"chunk_gap_ms":100}"#;
    let response = http
        .post(format!("{}/v1/chat/completions", morn.base))
        .bearer_auth(KEY)
        .json(&chat_body("gpt-4o-mini", slow, true))
        .send()
        .await?;
    assert_eq!(response.status(), 200);
    morn.signal(15)?;
    let started = Instant::now();
    let body = response.text().await?;
    assert!(
        body.trim_end().ends_with("data: [DONE]"),
        "the stream finished cleanly: {body}"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "the stream was not cut short"
    );
    // No new connections are accepted once shutdown began.
    let refused = http
        .get(format!("{}/healthz", morn.base))
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    assert!(
        refused.is_err(),
        "a new request after SIGTERM must not be served"
    );
    assert_eq!(morn.wait_exit(Duration::from_secs(10))?, Some(0));
    Ok(())
}

#[tokio::test]
async fn the_grace_period_bounds_shutdown() -> anyhow::Result<()> {
    let mock = start_mock().await?;
    let config = config_for(&mock, "[server]\nshutdown_grace_secs = 1\n");
    let mut morn = Morn::start(&config, &[])?;
    let http = support::http();
    // A stream that would take 30 s.
    let endless = r#"long #mock{"chunks":30,"chunk_gap_ms":1000}"#;
    let response = http
        .post(format!("{}/v1/chat/completions", morn.base))
        .bearer_auth(KEY)
        .json(&chat_body("gpt-4o-mini", endless, true))
        .send()
        .await?;
    assert_eq!(response.status(), 200);
    let started = Instant::now();
    morn.signal(2)?;
    let code = morn.wait_exit(Duration::from_secs(10))?;
    assert_eq!(code, Some(0));
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(4),
        "exited {took:?} after SIGINT with a 1 s grace period"
    );
    Ok(())
}

#[tokio::test]
async fn idle_connections_close_after_the_idle_timeout() -> anyhow::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mock = start_mock().await?;
    let config = config_for(&mock, "[server]\nidle_timeout_secs = 1\n");
    let morn = Morn::start(&config, &[])?;
    let mut conn = tokio::net::TcpStream::connect(morn.base.trim_start_matches("http://")).await?;
    let mut buf = vec![0u8; 8192];
    for _ in 0..2 {
        conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: morn\r\n\r\n")
            .await?;
        let n = conn.read(&mut buf).await?;
        assert!(buf[..n].starts_with(b"HTTP/1.1 200 OK\r\n"), "kept alive");
    }
    let answered = Instant::now();
    let n = tokio::time::timeout(Duration::from_secs(5), conn.read(&mut buf)).await??;
    let idle = answered.elapsed();
    assert_eq!(n, 0, "closed by the server");
    assert!(
        idle >= Duration::from_millis(900) && idle < Duration::from_secs(3),
        "closed after {idle:?} idle, configured 1 s"
    );
    Ok(())
}

/// HTTP/2 (h2c, served by hyper) keeps the idle limit: a connection with nothing in
/// flight closes after the idle timeout, while an answer that takes longer than that
/// to start, and pauses longer than that between chunks, is not cut.
#[tokio::test]
async fn idle_http2_connections_close_but_slow_answers_finish() -> anyhow::Result<()> {
    use tokio::io::AsyncWriteExt;
    let mock = start_mock().await?;
    let config = config_for(&mock, "[server]\nidle_timeout_secs = 1\n");
    let morn = Morn::start(&config, &[])?;

    // The HTTP/2 preface and an empty SETTINGS frame, then nothing.
    let mut conn = tokio::net::TcpStream::connect(morn.base.trim_start_matches("http://")).await?;
    conn.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0")
        .await?;
    let sent = Instant::now();
    let (_, closed) = read_until_closed(&mut conn).await?;
    let idle = closed - sent;
    assert!(
        idle >= Duration::from_millis(900) && idle < Duration::from_secs(3),
        "closed after {idle:?} idle, configured 1 s"
    );

    support::http(); // installs the TLS crypto provider reqwest needs
    let h2 = reqwest::Client::builder().http2_prior_knowledge().build()?;
    let slow = r#"#mock{"words":3,"chunks":3,"chunk_gap_ms":1300,"ttfb_ms":1300} hi"#;
    let response = h2
        .post(format!("{}/v1/chat/completions", morn.base))
        .bearer_auth(support::KEY)
        .json(&chat_body("gpt-4o-mini", slow, true))
        .send()
        .await?;
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    assert_eq!(response.status(), 200);
    let body = response.text().await?;
    assert!(body.trim_end().ends_with("data: [DONE]"), "{body}");
    Ok(())
}

#[tokio::test]
async fn refuses_to_start_without_a_master_key() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (code, _, stderr) =
        support::run_morn(&["serve", "--listen", "127.0.0.1:0"], &[], dir.path())?;
    assert_eq!(code, 2);
    assert!(stderr.contains("MORN_MASTER_KEY"), "{stderr}");
    Ok(())
}

#[tokio::test]
async fn sighup_and_the_admin_endpoint_reload_routes() -> anyhow::Result<()> {
    let mock = start_mock().await?;
    let morn = Morn::start(&config_for(&mock, ""), &[])?;
    let http = support::http();
    let ask = |model: &'static str| {
        let http = http.clone();
        let url = format!("{}/v1/chat/completions", morn.base);
        async move {
            let r = http
                .post(url)
                .bearer_auth(KEY)
                .json(&chat_body(model, "hi", false))
                .send()
                .await?;
            anyhow::Ok(r.status().as_u16())
        }
    };
    assert_eq!(ask("renamed-model").await?, 404);

    // Add a model to the file and send SIGHUP.
    let path = morn.dir.path().join("morn.toml");
    let extra = "\n[[models]]\nname = \"renamed-model\"\nprovider = \"mock_openai\"\nupstream_model = \"gpt-4o-mini\"\n";
    std::fs::write(&path, format!("{}{extra}", config_for(&mock, "")))?;
    morn.signal(1)?;
    let mut status = 0;
    for _ in 0..50 {
        status = ask("renamed-model").await?;
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, 200, "SIGHUP picked up the new model");

    // A broken file is refused and the running routes stay.
    std::fs::write(&path, "[[models]]\nname = \"x\"\nprovider = \"missing\"\n")?;
    let reload = http
        .post(format!("{}/api/v1/admin/reload", morn.base))
        .bearer_auth(KEY)
        .send()
        .await?;
    assert_eq!(reload.status(), 422);
    let body: Value = reload.json().await?;
    assert_eq!(body["error"]["code"], "invalid_config");
    assert!(
        body["error"]["problems"][0]
            .as_str()
            .unwrap_or_default()
            .contains("no provider named `missing`"),
        "{body}"
    );
    assert_eq!(
        ask("renamed-model").await?,
        200,
        "the running configuration was kept"
    );
    Ok(())
}

#[tokio::test]
async fn first_start_bootstraps_from_the_environment() -> anyhow::Result<()> {
    let mock = start_mock().await?;
    let morn = Morn::start(
        &config_for(&mock, ""),
        &[
            ("MORN_BOOTSTRAP__EMAIL", "first@example.com"),
            ("MORN_BOOTSTRAP__ORG", "Acme"),
        ],
    )?;
    let logs = morn.stderr();
    let key = logs
        .lines()
        .find_map(|l| l.strip_prefix("api key"))
        .map(str::trim)
        .unwrap_or_default()
        .to_owned();
    assert!(
        key.starts_with("mk_"),
        "the first key is shown once on stderr:\n{logs}"
    );
    assert!(logs.contains("organization  Acme"), "{logs}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let ok = support::http()
        .post(format!("{}/v1/chat/completions", morn.base))
        .bearer_auth(&key)
        .json(&chat_body("gpt-4o-mini", "hi", false))
        .send()
        .await?;
    assert_eq!(ok.status(), 200, "the bootstrap key works at once");
    // A second bootstrap on the same database is refused.
    let data = morn.dir.path().join("data");
    let (code, _, stderr) = support::run_morn(
        &[
            "admin",
            "--data-dir",
            &data.to_string_lossy(),
            "bootstrap",
            "--email",
            "x@example.com",
        ],
        &[],
        morn.dir.path(),
    )?;
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("already exists"), "{stderr}");
    Ok(())
}

/// A head that stops half way, and a body that stops short of its `Content-Length`,
/// both get the connection closed after `read_timeout_secs`, with no answer; a whole
/// request on another connection is served meanwhile.
#[tokio::test]
async fn stalled_heads_and_bodies_close_after_the_read_timeout() -> anyhow::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mock = start_mock().await?;
    let config = config_for(&mock, "[server]\nread_timeout_secs = 1\n");
    let morn = Morn::start(&config, &[])?;
    let addr = morn.base.trim_start_matches("http://").to_owned();
    let stalls: [&[u8]; 2] = [
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: morn\r\nContent-Le",
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: morn\r\nContent-Length: 10\r\n\r\n{\"a\"",
    ];
    for stall in stalls {
        let mut conn = tokio::net::TcpStream::connect(&addr).await?;
        conn.write_all(stall).await?;
        let sent = Instant::now();
        // The server still answers others while this connection waits.
        let mut other = tokio::net::TcpStream::connect(&addr).await?;
        other
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: morn\r\n\r\n")
            .await?;
        let mut buf = vec![0u8; 1024];
        let n = other.read(&mut buf).await?;
        assert!(
            buf[..n].starts_with(b"HTTP/1.1 200 OK\r\n"),
            "served meanwhile"
        );
        let n = tokio::time::timeout(Duration::from_secs(5), conn.read(&mut buf)).await??;
        let waited = sent.elapsed();
        assert_eq!(
            n,
            0,
            "closed without an answer: {:?}",
            String::from_utf8_lossy(&buf[..n])
        );
        assert!(
            waited >= Duration::from_millis(900) && waited < Duration::from_secs(3),
            "closed after {waited:?}, configured 1 s"
        );
    }
    Ok(())
}

/// Reads from `conn` until it closes (or 5 s pass); what arrived and when it closed.
async fn read_until_closed(conn: &mut tokio::net::TcpStream) -> anyhow::Result<(String, Instant)> {
    use tokio::io::AsyncReadExt;
    let mut got = Vec::new();
    let mut buf = vec![0u8; 4096];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(5), conn.read(&mut buf)).await??;
        if n == 0 {
            return Ok((String::from_utf8_lossy(&got).into_owned(), Instant::now()));
        }
        got.extend_from_slice(&buf[..n]);
    }
}

/// A chunked body is served by hyper (the lean loop hands the connection over), and
/// that connection keeps the read timeout: a chunked body that stalls gets a 408 in
/// the caller's protocol and the connection closes; after a chunked request, a head
/// that stalls, or the kept-alive connection left waiting, is closed too.
#[tokio::test]
async fn connections_served_by_hyper_keep_the_read_timeout() -> anyhow::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mock = start_mock().await?;
    let config = config_for(&mock, "[server]\nread_timeout_secs = 1\n");
    let morn = Morn::start(&config, &[])?;
    let addr = morn.base.trim_start_matches("http://").to_owned();
    let chunked_head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: morn\r\nAuthorization: Bearer {KEY}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    );

    // A chunked body that stops half-way.
    let mut conn = tokio::net::TcpStream::connect(&addr).await?;
    conn.write_all(format!("{chunked_head}5\r\n{{\"mod\r\n").as_bytes())
        .await?;
    let sent = Instant::now();
    let (answer, closed) = read_until_closed(&mut conn).await?;
    let waited = closed - sent;
    assert!(
        answer.starts_with("HTTP/1.1 408 "),
        "a 408 for the stalled body: {answer:?}"
    );
    assert!(
        answer.contains(r#""code":"request_timeout""#),
        "in OpenAI's error shape: {answer:?}"
    );
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(3),
        "closed after {waited:?}, configured 1 s"
    );

    // A whole chunked request is answered; on that connection (now hyper's), a second
    // head that stalls, and then a connection that just waits, are closed.
    let body = chat_body("gpt-4o-mini", "hi", false).to_string();
    let whole = format!("{chunked_head}{:x}\r\n{body}\r\n0\r\n\r\n", body.len());
    for next in [&b"GET /healthz HTTP/1.1\r\nHo"[..], b""] {
        let mut conn = tokio::net::TcpStream::connect(&addr).await?;
        conn.write_all(whole.as_bytes()).await?;
        let mut buf = vec![0u8; 8192];
        let n = conn.read(&mut buf).await?;
        assert!(
            buf[..n].starts_with(b"HTTP/1.1 200 OK\r\n"),
            "{:?}",
            String::from_utf8_lossy(&buf[..n])
        );
        // The whole answer is in (the mock's answer is small, and the head says how long).
        tokio::time::sleep(Duration::from_millis(100)).await;
        conn.write_all(next).await?;
        let sent = Instant::now();
        let (rest, closed) = read_until_closed(&mut conn).await?;
        let waited = closed - sent;
        assert!(
            !rest.contains("HTTP/1.1"),
            "no answer to a stalled head: {rest:?}"
        );
        assert!(
            waited >= Duration::from_millis(700) && waited < Duration::from_secs(3),
            "closed after {waited:?}, configured 1 s"
        );
    }
    Ok(())
}
