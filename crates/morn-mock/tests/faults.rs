//! Fault injection and pacing directives, in message text and headers, plus
//! the CLI binary's startup line and signal handling.
#![expect(clippy::unwrap_used, reason = "tests")]

mod common;

use std::time::{Duration, Instant};

use common::*;
use futures::StreamExt;
use morn_mock::MockOptions;
use serde_json::{Value, json};

fn openai(text: &str, stream: bool) -> Value {
    json!({"model": "m", "stream": stream, "messages": [{"role": "user", "content": text}]})
}

#[tokio::test]
async fn status_with_retry_after_in_each_shape() {
    let base = start().await;
    let (status, h, text) = post(
        &format!("{base}/v1/chat/completions"),
        &[OPENAI_AUTH],
        &openai("hi #mock{\"status\":429,\"retry_after\":2}", false),
    )
    .await;
    assert_eq!(status, 429);
    assert_eq!(h["retry-after"], "2");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["error"]["code"], "rate_limit_exceeded");

    let body =
        json!({"model": "c", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]});
    let headers = [
        ANTHROPIC_AUTH,
        ANTHROPIC_VERSION,
        ("x-mock-status", "529"),
        ("x-mock-error-message", "busy"),
    ];
    let (status, h, text) = post(&format!("{base}/v1/messages"), &headers, &body).await;
    assert_eq!(status, 529);
    assert_eq!(h["retry-after"], "1");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        v["error"],
        json!({"type": "overloaded_error", "message": "busy"})
    );

    let body = json!({"contents": [{"parts": [{"text": "hi #mock{\"status\":503}"}]}]});
    let (status, h, text) = post(
        &format!("{base}/v1beta/models/g:generateContent"),
        &[GEMINI_AUTH],
        &body,
    )
    .await;
    assert_eq!(status, 503);
    assert_eq!(h["retry-after"], "1");
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap()["error"]["status"],
        "UNAVAILABLE"
    );
}

#[tokio::test]
async fn header_beats_message_and_bad_directives_are_400() {
    let base = start().await;
    let url = format!("{base}/v1/chat/completions");
    let (status, _, _) = post(
        &url,
        &[OPENAI_AUTH, ("x-mock-status", "418")],
        &openai("hi #mock{\"status\":500}", false),
    )
    .await;
    assert_eq!(status, 418);
    let (status, _, text) = post(
        &url,
        &[OPENAI_AUTH],
        &openai("hi #mock{\"statu\":500}", false),
    )
    .await;
    assert_eq!(status, 400, "{text}");
    let (status, _, _) = post(
        &url,
        &[OPENAI_AUTH, ("x-mock-nope", "1")],
        &openai("hi", false),
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn ttfb_and_chunk_gap_delay() {
    let base = start().await;
    let url = format!("{base}/v1/chat/completions");
    let t = Instant::now();
    let (status, _, _) = post(
        &url,
        &[OPENAI_AUTH, ("x-mock-ttfb-ms", "250")],
        &openai("hi", false),
    )
    .await;
    assert_eq!(status, 200);
    assert!(t.elapsed() >= Duration::from_millis(250));

    let t = Instant::now();
    let resp = client()
        .post(&url)
        .header(OPENAI_AUTH.0, OPENAI_AUTH.1)
        .json(&openai("hi #mock{\"words\":3,\"chunk_gap_ms\":60}", true))
        .send()
        .await
        .unwrap();
    let headers_at = t.elapsed();
    let text = resp.text().await.unwrap();
    // role + 3 deltas + finish + [DONE] = 6 events, 5 gaps.
    assert_eq!(events(&text).len(), 6);
    assert!(headers_at < Duration::from_millis(200));
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );
}

#[tokio::test]
async fn cut_after_breaks_the_body() {
    let base = start().await;
    let url = format!("{base}/v1/chat/completions");
    let resp = client()
        .post(&url)
        .header(OPENAI_AUTH.0, OPENAI_AUTH.1)
        .json(&openai("hi #mock{\"cut_after\":3}", true))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut stream = resp.bytes_stream();
    let mut received = Vec::new();
    let mut failed = false;
    while let Some(item) = stream.next().await {
        match item {
            Ok(b) => received.extend_from_slice(&b),
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    assert!(failed, "the body must end in an error, not a clean end");
    let text = String::from_utf8(received).unwrap();
    assert_eq!(events(&text).len(), 3);
    assert!(!text.contains("[DONE]"));

    // Non-stream: the connection drops without a complete response.
    let sent = client()
        .post(&url)
        .header(OPENAI_AUTH.0, OPENAI_AUTH.1)
        .header("x-mock-cut-after", "0")
        .json(&openai("hi", false))
        .send()
        .await;
    match sent {
        Ok(resp) => assert!(resp.text().await.is_err()),
        Err(e) => assert!(e.is_request(), "{e}"),
    }
}

#[tokio::test]
async fn malformed_after_inserts_a_broken_event() {
    let base = start().await;
    let body = json!({"model": "c", "max_tokens": 100, "stream": true,
        "messages": [{"role": "user", "content": "hi #mock{\"malformed_after\":2,\"words\":3}"}]});
    let (status, _, text) = post(
        &format!("{base}/v1/messages"),
        &[ANTHROPIC_AUTH, ANTHROPIC_VERSION],
        &body,
    )
    .await;
    assert_eq!(status, 200);
    let evs = events(&text);
    assert!(serde_json::from_str::<Value>(&evs[1].data).is_ok());
    assert!(
        serde_json::from_str::<Value>(&evs[2].data).is_err(),
        "event 3 is broken"
    );
    assert_eq!(
        evs.last().unwrap().name.as_deref(),
        Some("message_stop"),
        "the stream continues"
    );
}

#[tokio::test]
async fn fail_first_counts_per_directive() {
    let base = start().await;
    let url = format!("{base}/v1/chat/completions");
    let msg = openai("retry me #mock{\"fail_first\":2,\"status\":503}", false);
    let mut statuses = vec![];
    for _ in 0..4 {
        statuses.push(post(&url, &[OPENAI_AUTH], &msg).await.0);
    }
    assert_eq!(statuses, [503, 503, 200, 200]);
    // A different directive text has its own counter; headers count too.
    let other = openai("other #mock{\"fail_first\":1,\"status\":500}", false);
    assert_eq!(post(&url, &[OPENAI_AUTH], &other).await.0, 500);
    let hdrs = [
        OPENAI_AUTH,
        ("x-mock-fail-first", "1"),
        ("x-mock-status", "429"),
    ];
    assert_eq!(post(&url, &hdrs, &openai("hi", false)).await.0, 429);
    assert_eq!(post(&url, &hdrs, &openai("hi", false)).await.0, 200);
}

#[tokio::test]
async fn hang_never_answers() {
    let base = start().await;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let t = Instant::now();
    let err = client
        .post(format!("{base}/v1/chat/completions"))
        .header(OPENAI_AUTH.0, OPENAI_AUTH.1)
        .json(&openai("hi #mock{\"hang\":true}", false))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout());
    assert!(t.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn server_defaults_apply() {
    let base = start_with(MockOptions {
        words: Some(3),
        ..MockOptions::default()
    })
    .await;
    let (_, _, text) = post(
        &format!("{base}/v1/chat/completions"),
        &[OPENAI_AUTH],
        &openai("hi", false),
    )
    .await;
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["usage"]["completion_tokens"], 3);
}

#[tokio::test]
async fn binary_announces_address_and_exits_on_sigterm() {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_morn-mock"))
        .args(["--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    tokio::io::BufReader::new(stdout)
        .read_line(&mut line)
        .await
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("morn-mock listening on ")
        .unwrap()
        .to_string();
    assert!(!base.ends_with(":0"));
    let (status, _, _) = post(
        &format!("{base}/v1/chat/completions"),
        &[OPENAI_AUTH],
        &openai("hi", false),
    )
    .await;
    assert_eq!(status, 200);
    let pid = child.id().unwrap().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(5), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status:?}");
}
