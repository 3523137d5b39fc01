//! The HTTP side of provider calls against a scripted local upstream: what goes on the
//! wire, and how an upstream that refuses, rejects or stalls looks to the caller.
#![expect(clippy::unwrap_used, reason = "tests")]

mod support;

use std::time::Duration;

use morn_protocol::{ErrorKind, StreamEvent};
use morn_providers::{Provider, ProviderKind, ProviderSettings, Secret};
use tokio::net::TcpListener;

use support::{chat_request, scripted_upstream};

fn provider(kind: ProviderKind, base_url: String, request_timeout: Duration) -> Provider {
    Provider::new(ProviderSettings {
        name: "scripted".into(),
        kind,
        base_url,
        api_key: Some(Secret::new("sk-test")),
        headers: vec![("x-org".into(), "acme".into())],
        connect_timeout: Duration::from_secs(2),
        request_timeout,
    })
    .unwrap()
}

#[tokio::test]
async fn an_error_answer_is_decoded_and_the_request_carries_the_provider_headers() {
    let body = r#"{"type":"error","error":{"type":"rate_limit_error","message":"Slow down."}}"#;
    let (base, request) = scripted_upstream(format!(
        "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\n\
         retry-after: 2\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    ))
    .await;
    let host = base.trim_start_matches("http://").to_owned();
    let p = provider(ProviderKind::Anthropic, base, Duration::from_secs(5));

    let err = p.chat(&chat_request(), "claude-x").await.unwrap_err();
    assert_eq!(
        (err.kind, err.message.as_str()),
        (ErrorKind::RateLimited, "Slow down.")
    );
    assert_eq!(err.retry_after, Some(2));

    let request = request.await.unwrap();
    let (head, sent_body) = request.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    assert_eq!(lines.next(), Some("POST /v1/messages HTTP/1.1"));
    let mut headers: Vec<&str> = lines.collect();
    headers.sort_unstable();
    let length = format!("content-length: {}", sent_body.len());
    let host = format!("host: {host}");
    let mut expected = vec![
        "accept: */*",
        "anthropic-version: 2023-06-01",
        "content-type: application/json",
        "x-api-key: sk-test",
        "x-org: acme",
        &length,
        &host,
    ];
    expected.sort_unstable();
    assert_eq!(headers, expected);
    assert!(sent_body.contains(r#""model":"claude-x""#), "{sent_body}");
}

#[tokio::test]
async fn a_stream_that_stalls_mid_way_ends_in_a_timeout_error() {
    let chunk = "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\
                 \"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\
                 \"content\":\"Hi\"},\"finish_reason\":null}]}\n\n";
    let (base, _request) = scripted_upstream(format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\
         transfer-encoding: chunked\r\n\r\n{:x}\r\n{chunk}\r\n",
        chunk.len()
    ))
    .await;
    let p = provider(ProviderKind::OpenAi, base, Duration::from_millis(300));
    let started = std::time::Instant::now();

    let mut stream = p.chat_stream(&chat_request(), "gpt-x").await.unwrap();
    let mut last = None;
    while let Some(event) = stream.next().await {
        last = Some(event);
    }
    let Some(StreamEvent::Error(err)) = last else {
        panic!("the stream should end in an error, got {last:?}");
    };
    assert_eq!(err.kind, ErrorKind::GatewayTimeout);
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn a_refused_connection_is_upstream_unreachable() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    drop(listener);
    let p = provider(ProviderKind::OpenAi, base, Duration::from_secs(5));

    let err = p.chat(&chat_request(), "gpt-x").await.unwrap_err();
    assert_eq!(
        (err.status(), err.code.as_str()),
        (502, "upstream_unreachable")
    );
    assert!(!err.message.contains("127.0.0.1"), "{}", err.message);
}

#[tokio::test]
async fn a_model_name_goes_into_a_gemini_url_percent_encoded() {
    let body = r#"{"error":{"code":404,"message":"Not found.","status":"NOT_FOUND"}}"#;
    let (base, request) = scripted_upstream(format!(
        "HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n{body}",
        body.len()
    ))
    .await;
    let p = provider(
        ProviderKind::Gemini,
        format!("{base}/v1beta"),
        Duration::from_secs(5),
    );

    let err = p.chat(&chat_request(), "my model").await.unwrap_err();
    assert_eq!(err.status(), 404);
    let request = request.await.unwrap();
    assert!(
        request.starts_with("POST /v1beta/models/my%20model:generateContent HTTP/1.1\r\n"),
        "{request}"
    );
}
