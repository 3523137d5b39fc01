//! HTTP/1.1 on the wire, byte for byte: keep-alive, pipelining, `Connection: close`,
//! `HEAD`, chunked SSE answers, and the requests the lean connection loop hands to
//! hyper (chunked bodies, `Expect: 100-continue`, HTTP/1.0, malformed heads, HTTP/2
//! with prior knowledge), each followed by another request on the same connection
//! where HTTP allows one.
#![expect(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use std::time::Duration;

use common::{KEY, TestEnv};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One parsed answer: status, lower-cased headers, and the body (de-chunked).
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A raw connection with what it has read but not yet parsed.
struct Wire {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Wire {
    async fn open(env: &TestEnv) -> Self {
        let addr = env.base.trim_start_matches("http://");
        Self {
            stream: TcpStream::connect(addr).await.unwrap(),
            buf: Vec::new(),
        }
    }

    async fn send(&mut self, bytes: &str) {
        self.stream.write_all(bytes.as_bytes()).await.unwrap();
    }

    /// Reads more; false at end of stream.
    async fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 16 * 1024];
        let n = tokio::time::timeout(Duration::from_secs(10), self.stream.read(&mut chunk))
            .await
            .expect("answer in time")
            .unwrap();
        self.buf.extend_from_slice(&chunk[..n]);
        n > 0
    }

    /// Reads one answer to a request (`head_only` for `HEAD`).
    async fn answer(&mut self, head_only: bool) -> Answer {
        let end = loop {
            if let Some(at) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break at;
            }
            assert!(self.fill().await, "closed before a head");
        };
        let head = String::from_utf8(self.buf.drain(..end + 4).collect()).unwrap();
        let mut lines = head.trim_end().split("\r\n");
        let status_line = lines.next().unwrap();
        assert!(status_line.starts_with("HTTP/1.1 "), "{status_line}");
        let status = status_line[9..12].parse().unwrap();
        let headers: Vec<(String, String)> = lines
            .map(|line| {
                let (n, v) = line.split_once(':').unwrap();
                (n.to_ascii_lowercase(), v.trim().to_owned())
            })
            .collect();
        let mut answer = Answer {
            status,
            headers,
            body: String::new(),
        };
        if head_only || status == 100 || status == 204 {
            return answer;
        }
        let body = if let Some(len) = answer.header("content-length") {
            let len: usize = len.parse().unwrap();
            while self.buf.len() < len {
                assert!(self.fill().await, "closed inside a body");
            }
            self.buf.drain(..len).collect::<Vec<u8>>()
        } else {
            assert_eq!(answer.header("transfer-encoding"), Some("chunked"));
            self.chunked_body().await
        };
        answer.body = String::from_utf8(body).unwrap();
        answer
    }

    async fn chunked_body(&mut self) -> Vec<u8> {
        let mut body = Vec::new();
        loop {
            let line_end = loop {
                if let Some(at) = self.buf.windows(2).position(|w| w == b"\r\n") {
                    break at;
                }
                assert!(self.fill().await, "closed inside a chunked body");
            };
            let size_line = String::from_utf8(self.buf.drain(..line_end + 2).collect()).unwrap();
            let size = usize::from_str_radix(size_line.trim(), 16).unwrap();
            while self.buf.len() < size + 2 {
                assert!(self.fill().await, "closed inside a chunk");
            }
            body.extend(self.buf.drain(..size));
            assert_eq!(self.buf.drain(..2).collect::<Vec<u8>>(), b"\r\n");
            if size == 0 {
                return body;
            }
        }
    }

    /// Whether the server closed the connection (nothing more arrives).
    async fn closed(&mut self) -> bool {
        self.buf.is_empty() && !self.fill().await
    }
}

fn chat(body: &str, extra: &str) -> String {
    format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: morn\r\nAuthorization: Bearer {KEY}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n{extra}\r\n{body}",
        body.len()
    )
}

const CHAT: &str =
    r#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello there"}]}"#;
const HEALTH: &str = "GET /healthz HTTP/1.1\r\nHost: morn\r\n\r\n";

#[tokio::test]
async fn kept_alive_pipelined_and_closed_on_request() {
    let env = TestEnv::start().await.unwrap();
    let mut wire = Wire::open(&env).await;
    wire.send(&chat(CHAT, "")).await;
    let first = wire.answer(false).await;
    assert_eq!(first.status, 200, "{first:?}");
    assert!(first.body.contains("\"chat.completion\""), "{}", first.body);
    assert_eq!(first.header("content-type"), Some("application/json"));
    assert!(first.header("x-request-id").is_some());
    assert!(first.header("date").is_some_and(|d| d.ends_with(" GMT")));

    // Two requests in one write, answered in order on the same connection.
    wire.send(&format!("{HEALTH}{}", chat(CHAT, ""))).await;
    assert_eq!(wire.answer(false).await.status, 200);
    let second = wire.answer(false).await;
    assert!(second.body.contains("\"chat.completion\""), "{second:?}");

    // A body that arrives in pieces.
    let request = chat(CHAT, "");
    let (a, b) = request.split_at(request.len() - 10);
    wire.send(a).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    wire.send(b).await;
    assert_eq!(wire.answer(false).await.status, 200);

    // HEAD: the head only, with the length the body would have.
    wire.send("HEAD /healthz HTTP/1.1\r\nHost: morn\r\n\r\n")
        .await;
    let head = wire.answer(true).await;
    assert_eq!(head.status, 200);
    assert!(head.header("content-length").is_some(), "{head:?}");

    wire.send(&chat(CHAT, "Connection: close\r\n")).await;
    let last = wire.answer(false).await;
    assert_eq!(last.status, 200);
    assert_eq!(last.header("connection"), Some("close"));
    assert!(
        wire.closed().await,
        "the server closes after Connection: close"
    );
}

#[tokio::test]
async fn streams_are_chunked_and_errors_keep_the_connection() {
    let env = TestEnv::start().await.unwrap();
    let mut wire = Wire::open(&env).await;
    let body =
        r#"{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Hi"}]}"#;
    wire.send(&chat(body, "")).await;
    let stream = wire.answer(false).await;
    assert_eq!(stream.status, 200);
    assert_eq!(stream.header("content-type"), Some("text/event-stream"));
    assert!(stream.body.starts_with("data: {"), "{}", stream.body);
    assert!(stream.body.ends_with("data: [DONE]\n\n"), "{}", stream.body);

    // A refused request answers in the caller's protocol and keeps the connection.
    let bad = "POST /v1/chat/completions HTTP/1.1\r\nHost: morn\r\nContent-Length: 2\r\n\r\n{}";
    wire.send(bad).await;
    let refused = wire.answer(false).await;
    assert_eq!(refused.status, 401);
    assert!(refused.body.contains("\"error\""), "{}", refused.body);
    wire.send(HEALTH).await;
    assert_eq!(wire.answer(false).await.status, 200);
}

#[tokio::test]
async fn unusual_requests_are_served_by_hyper_on_the_same_connection() {
    let env = TestEnv::start().await.unwrap();

    // A chunked request body.
    let mut wire = Wire::open(&env).await;
    let chunked = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: morn\r\nAuthorization: Bearer {KEY}\r\n\
         Transfer-Encoding: chunked\r\n\r\n{:x}\r\n{CHAT}\r\n0\r\n\r\n",
        CHAT.len()
    );
    wire.send(&chunked).await;
    let answer = wire.answer(false).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert!(answer.body.contains("\"chat.completion\""));
    wire.send(&chat(CHAT, "")).await;
    assert_eq!(wire.answer(false).await.status, 200);

    // Expect: 100-continue gets its interim answer before the body is sent.
    let mut wire = Wire::open(&env).await;
    let request = chat(CHAT, "Expect: 100-continue\r\n");
    let (head, body) = request.split_at(request.len() - CHAT.len());
    wire.send(head).await;
    assert_eq!(wire.answer(false).await.status, 100);
    wire.send(body).await;
    assert_eq!(wire.answer(false).await.status, 200);

    // HTTP/1.0.
    let mut wire = Wire::open(&env).await;
    wire.send("GET /healthz HTTP/1.0\r\n\r\n").await;
    let mut all = Vec::new();
    while wire.fill().await {}
    all.extend_from_slice(&wire.buf);
    let text = String::from_utf8(all).unwrap();
    assert!(text.starts_with("HTTP/1.0 200 OK\r\n"), "{text}");

    // Malformed heads get 400 and a closed connection.
    for garbage in [
        "BAD\0REQUEST\r\n\r\n",
        "GET http://[x/ HTTP/1.1\r\nHost: x\r\n\r\n",
    ] {
        let mut wire = Wire::open(&env).await;
        wire.send(garbage).await;
        let answer = wire.answer(false).await;
        assert_eq!(answer.status, 400, "{garbage:?}");
        assert!(wire.closed().await, "{garbage:?}");
    }
}

#[tokio::test]
async fn a_client_that_hangs_up_cancels_its_request() {
    let env = TestEnv::start().await.unwrap();
    let slow = r##"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"wait #mock{\"ttfb_ms\":5000}"}]}"##;
    let mut wire = Wire::open(&env).await;
    wire.send(&chat(slow, "")).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(wire);
    // Recorded as closed by the client (499) long before the upstream would answer.
    let started = std::time::Instant::now();
    let needle = r#"endpoint="chat",model="gpt-4o-mini",status="499"} 1"#;
    loop {
        let metrics = env
            .http
            .get(format!("{}/metrics", env.base))
            .bearer_auth(KEY)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if metrics.contains(needle) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "no cancelled request in /metrics:\n{metrics}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn http2_with_prior_knowledge_is_served_too() {
    let env = TestEnv::start().await.unwrap();
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    for _ in 0..2 {
        let response = h2
            .post(format!("{}/v1/chat/completions", env.base))
            .bearer_auth(KEY)
            .header("content-type", "application/json")
            .body(CHAT)
            .send()
            .await
            .unwrap();
        assert_eq!(response.version(), reqwest::Version::HTTP_2);
        assert_eq!(response.status(), 200);
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("\"chat.completion\"")
        );
    }
}

#[tokio::test]
async fn shutdown_closes_idle_connections_and_lets_streams_finish() {
    let mut env = TestEnv::start().await.unwrap();
    // Idle on the lean loop, idle under hyper (handed over by a chunked body), and a
    // stream in flight (five chunks 200 ms apart).
    let mut lean = Wire::open(&env).await;
    lean.send(HEALTH).await;
    assert_eq!(lean.answer(false).await.status, 200);
    let mut handed = Wire::open(&env).await;
    handed
        .send(&format!(
            "POST /v1/chat/completions HTTP/1.1\r\nHost: morn\r\nAuthorization: Bearer {KEY}\r\n\
             Transfer-Encoding: chunked\r\n\r\n{:x}\r\n{CHAT}\r\n0\r\n\r\n",
            CHAT.len()
        ))
        .await;
    assert_eq!(handed.answer(false).await.status, 200);
    let mut streaming = Wire::open(&env).await;
    let slow = r##"{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi #mock{\"chunks\":5,\"chunk_gap_ms\":200}"}]}"##;
    streaming.send(&chat(slow, "")).await;
    tokio::time::sleep(Duration::from_millis(100)).await;

    env.begin_shutdown();
    let started = std::time::Instant::now();
    assert!(lean.closed().await, "an idle lean connection closes");
    assert!(handed.closed().await, "an idle hyper connection closes");
    assert!(
        // Well before the 5 s grace period: idle connections do not wait for it.
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let stream = streaming.answer(false).await;
    assert_eq!(stream.status, 200);
    assert!(stream.body.ends_with("data: [DONE]\n\n"), "{}", stream.body);
    assert!(streaming.closed().await, "closed after its last answer");
    let addr = env.base.trim_start_matches("http://").to_owned();
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "no longer accepting"
    );
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused_in_the_callers_protocol() {
    let env = TestEnv::start().await.unwrap();
    let mut wire = Wire::open(&env).await;
    let huge = format!(
        r#"{{"model":"gpt-4o-mini","messages":[{{"role":"user","content":"{}"}}]}}"#,
        "x".repeat(100 * 1024)
    );
    wire.send(&chat(&huge, "")).await;
    let answer = wire.answer(false).await;
    assert_eq!(answer.status, 413, "{answer:?}");
    assert!(answer.body.contains("\"error\""), "{}", answer.body);
}
