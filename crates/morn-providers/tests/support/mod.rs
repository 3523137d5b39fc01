//! Shared by the provider HTTP tests: a scripted local upstream and a minimal request.
#![allow(dead_code, reason = "each test file uses part of it")]

use std::time::Duration;

use morn_protocol::ChatRequest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// A one-connection HTTP/1.1 upstream: it answers with `response`, then holds the
/// connection open without another byte. Returns its base URL and the raw request.
pub async fn scripted_upstream(response: String) -> (String, oneshot::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = oneshot::channel();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = socket.read(&mut buf).await.unwrap();
            request.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&request);
            if let Some(head_end) = text.find("\r\n\r\n") {
                let length = text[..head_end]
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length: "))
                    .map_or(0, |v| v.parse::<usize>().unwrap());
                if request.len() >= head_end + 4 + length || n == 0 {
                    break;
                }
            }
        }
        let _ = tx.send(String::from_utf8(request).unwrap());
        socket.write_all(response.as_bytes()).await.unwrap();
        tokio::time::sleep(Duration::from_secs(30)).await;
    });
    (base, rx)
}

/// The smallest chat request a provider will send.
pub fn chat_request() -> ChatRequest {
    ChatRequest {
        model: "m".into(),
        ..Default::default()
    }
}
