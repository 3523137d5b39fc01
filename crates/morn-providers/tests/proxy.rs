//! Upstream calls through an outbound HTTP CONNECT proxy: a local proxy that records
//! what it is asked, in front of a local plain-HTTP upstream.
//!
//! The proxy variables reach the provider through `ProxySettings::from_lookup` and
//! `Provider::with_proxy`, never through the process environment: setting a variable
//! is `unsafe` in Rust 2024 (the workspace forbids it), and would leak into every test
//! sharing the process.
#![expect(clippy::unwrap_used, reason = "tests")]

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use morn_providers::{Provider, ProviderKind, ProviderSettings, ProxySettings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};

use support::{chat_request, scripted_upstream};

/// An HTTP CONNECT proxy. It records the head of each CONNECT request, then joins the
/// client to the target and copies bytes both ways. It reaches IP addresses only (no
/// DNS in tests) and answers 502 for any other target. Returns its `host:port`.
async fn connect_proxy() -> (String, mpsc::UnboundedReceiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (seen, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let (mut client, _) = listener.accept().await.unwrap();
            let seen = seen.clone();
            tokio::spawn(async move {
                let head = read_head(&mut client).await;
                let target = head
                    .strip_prefix("CONNECT ")
                    .and_then(|rest| rest.split(' ').next())
                    .and_then(|target| target.parse::<SocketAddr>().ok());
                seen.send(head).unwrap();
                let upstream = match target {
                    Some(addr) => TcpStream::connect(addr).await.ok(),
                    None => None,
                };
                let Some(mut upstream) = upstream else {
                    let refusal = b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n";
                    client.write_all(refusal).await.unwrap();
                    return;
                };
                let established = b"HTTP/1.1 200 Connection established\r\n\r\n";
                client.write_all(established).await.unwrap();
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    (addr, rx)
}

/// An OpenAI-compatible upstream that answers one chat call. Returns its base URL and
/// the request it got.
async fn upstream() -> (String, oneshot::Receiver<String>) {
    let body = r#"{"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}]}"#;
    let response = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let (base, request) = scripted_upstream(response).await;
    (format!("{base}/v1"), request)
}

/// Reads up to the blank line that ends a request head; byte by byte, so nothing
/// after it (a body, tunneled bytes) is consumed.
async fn read_head(socket: &mut TcpStream) -> String {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(socket.read_u8().await.unwrap());
    }
    String::from_utf8(head).unwrap()
}

/// Proxy settings from the given variables, as if they were the environment.
fn proxies(vars: &[(&'static str, String)]) -> ProxySettings {
    ProxySettings::from_lookup(|name| {
        vars.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
    })
}

fn provider(base_url: &str, proxy: &ProxySettings) -> Result<Provider, String> {
    let settings = ProviderSettings {
        name: "proxied".into(),
        kind: ProviderKind::OpenAi,
        base_url: base_url.to_owned(),
        api_key: None,
        headers: Vec::new(),
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(5),
    };
    Provider::with_proxy(settings, proxy)
}

#[tokio::test]
async fn a_call_goes_through_the_proxy_that_http_proxy_names() {
    let (proxy, mut seen) = connect_proxy().await;
    let (base, request) = upstream().await;
    let upstream_addr = base.trim_start_matches("http://").trim_end_matches("/v1");
    let p = provider(
        &base,
        &proxies(&[("HTTP_PROXY", format!("http://{proxy}"))]),
    )
    .unwrap();

    let response = p.chat(&chat_request(), "gpt-x").await.unwrap();
    assert_eq!(response.id, "c1");

    let connect = seen.try_recv().unwrap();
    assert_eq!(
        connect,
        format!("CONNECT {upstream_addr} HTTP/1.1\r\nHost: {upstream_addr}\r\n\r\n")
    );
    // Inside the tunnel the request is an ordinary origin-form one.
    let request = request.await.unwrap();
    assert!(
        request.starts_with("POST /v1/chat/completions HTTP/1.1\r\n"),
        "{request}"
    );
}

#[tokio::test]
async fn proxy_credentials_go_to_the_proxy_only_and_are_not_shown() {
    let (proxy, mut seen) = connect_proxy().await;
    let (base, request) = upstream().await;
    // `%3D` is `=`: credentials in a URL are percent-decoded before encoding.
    let url = format!("http://morn:s%3Dcret@{proxy}");
    let p = provider(&base, &proxies(&[("http_proxy", url)])).unwrap();

    p.chat(&chat_request(), "gpt-x").await.unwrap();

    // base64("morn:s=cret")
    let auth = "bW9ybjpzPWNyZXQ=";
    let connect = seen.try_recv().unwrap();
    assert!(
        connect.contains(&format!("\r\nProxy-Authorization: Basic {auth}\r\n")),
        "{connect}"
    );
    let request = request.await.unwrap().to_ascii_lowercase();
    assert!(!request.contains("proxy-authorization"), "{request}");
    let shown = format!("{p:?}");
    assert!(!shown.contains(auth) && !shown.contains("cret"), "{shown}");
}

#[tokio::test]
async fn a_host_in_no_proxy_is_called_directly() {
    let (proxy, mut seen) = connect_proxy().await;
    let (base, _request) = upstream().await;
    let vars = [
        ("ALL_PROXY", format!("http://{proxy}")),
        ("NO_PROXY", "example.com, 127.0.0.1".to_owned()),
    ];
    let p = provider(&base, &proxies(&vars)).unwrap();

    let response = p.chat(&chat_request(), "gpt-x").await.unwrap();
    assert_eq!(response.id, "c1");
    assert!(seen.try_recv().is_err(), "the proxy was used");
}

/// What the proxy is asked for a call to `base`, and what the caller gets when the
/// proxy cannot reach it.
async fn refused_tunnel(var: &'static str, base: &str) -> String {
    let (proxy, mut seen) = connect_proxy().await;
    let p = provider(base, &proxies(&[(var, format!("http://{proxy}"))])).unwrap();

    let err = p.chat(&chat_request(), "gpt-x").await.unwrap_err();
    assert_eq!(
        (err.status(), err.code.as_str()),
        (502, "upstream_unreachable")
    );
    assert!(
        !err.message.contains("127.0.0.1") && !err.message.contains(".invalid"),
        "{}",
        err.message
    );
    seen.try_recv().unwrap()
}

#[tokio::test]
async fn an_https_upstream_is_tunneled_by_host_name_to_port_443() {
    // The proxy resolves the name: the gateway needs no DNS for upstreams.
    let connect = refused_tunnel("HTTPS_PROXY", "https://api.example.invalid/v1").await;
    assert!(
        connect.starts_with("CONNECT api.example.invalid:443 HTTP/1.1\r\n"),
        "{connect}"
    );
}

#[tokio::test]
async fn an_http_upstream_without_a_port_is_tunneled_to_port_80() {
    let connect = refused_tunnel("ALL_PROXY", "http://vllm.invalid/v1").await;
    assert!(
        connect.starts_with("CONNECT vllm.invalid:80 HTTP/1.1\r\n"),
        "{connect}"
    );
}

#[tokio::test]
async fn an_unreachable_proxy_is_upstream_unreachable_without_its_address() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy = listener.local_addr().unwrap();
    drop(listener);
    let (base, _request) = upstream().await;
    let p = provider(
        &base,
        &proxies(&[("HTTP_PROXY", format!("http://{proxy}"))]),
    )
    .unwrap();

    let err = p.chat(&chat_request(), "gpt-x").await.unwrap_err();
    assert_eq!(
        (err.status(), err.code.as_str()),
        (502, "upstream_unreachable")
    );
    assert!(!err.message.contains("127.0.0.1"), "{}", err.message);
}

#[tokio::test]
async fn a_provider_behind_an_https_proxy_url_is_not_built() {
    let vars = [("HTTPS_PROXY", "https://proxy.internal:443".to_owned())];
    let err = provider("https://api.openai.com/v1", &proxies(&vars)).unwrap_err();
    assert!(err.contains("only http:// proxies"), "{err}");
}
