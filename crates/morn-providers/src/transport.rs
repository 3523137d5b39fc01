//! The HTTP client that carries upstream calls, and what its failures look like to
//! callers.
//!
//! This is hyper's pooled client over rustls (through an HTTP CONNECT proxy where the
//! environment asks for one, see `proxy.rs`) and nothing more: no redirect policy, no
//! URL re-parsing, no middleware layers. Profiles showed those per-request layers of a
//! general-purpose client costing more CPU than the calls needed. Deadlines are set by
//! the caller (`client.rs`, `stream.rs`), which knows where a call ends.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Uri};
use http_body_util::Full;
use hyper_rustls::{ConfigBuilderExt, HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::{Connect, HttpConnector};
use hyper_util::client::legacy::{Client, ResponseFuture};
use hyper_util::client::proxy::matcher::Intercept;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use morn_protocol::{ApiError, ErrorKind};
use rustls::crypto::CryptoProvider;

use crate::proxy::{self, TunnelConnector};

/// The pooled client; one per provider, like its connection pool. Whether it goes
/// through a proxy is settled when the provider is built (see `proxy.rs`); the direct
/// client is the same as without proxy support, and a call pays one branch for it.
#[derive(Debug)]
pub(crate) enum HttpClient {
    Direct(Client<HttpsConnector<HttpConnector>, Full<Bytes>>),
    /// Through an HTTP CONNECT tunnel, with TLS to the upstream inside it.
    Tunneled(Client<HttpsConnector<TunnelConnector>, Full<Bytes>>),
}

impl HttpClient {
    pub(crate) fn request(&self, request: Request<Full<Bytes>>) -> ResponseFuture {
        match self {
            Self::Direct(client) => client.request(request),
            Self::Tunneled(client) => client.request(request),
        }
    }
}

/// Builds the client, direct or through `proxy`: HTTP/1.1, and HTTP/2 where TLS
/// negotiates it (ALPN); plain `http://` base URLs (local servers, the simulator) stay
/// HTTP/1.1.
pub(crate) fn build_client(
    connect_timeout: Duration,
    proxy: Option<&Intercept>,
) -> Result<HttpClient, String> {
    let mut tcp = HttpConnector::new();
    // The TLS layer hands `https` URIs to this connector too.
    tcp.enforce_http(false);
    // Through a proxy, these apply to the connection to the proxy.
    tcp.set_connect_timeout(Some(connect_timeout));
    tcp.set_nodelay(true);
    // Keepalive probes find dead pooled connections and hold NAT entries open during
    // long streams (the values reqwest used before).
    tcp.set_keepalive(Some(Duration::from_secs(15)));
    tcp.set_keepalive_interval(Some(Duration::from_secs(15)));
    tcp.set_keepalive_retries(Some(3));
    let tls = tls_config()?;
    Ok(match proxy {
        None => HttpClient::Direct(pooled(tls_over(tls, tcp))),
        Some(via) => HttpClient::Tunneled(pooled(tls_over(tls, proxy::tunnel(via, tcp)))),
    })
}

fn tls_over<C>(tls: rustls::ClientConfig, connector: C) -> HttpsConnector<C> {
    HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(connector)
}

fn pooled<C: Connect + Clone + Send + Sync + 'static>(connector: C) -> Client<C, Full<Bytes>> {
    Client::builder(TokioExecutor::new())
        // The pool needs a timer to expire idle connections at all.
        .pool_timer(TokioTimer::new())
        .timer(TokioTimer::new())
        .pool_idle_timeout(Duration::from_secs(90))
        // A busy gateway keeps many calls in flight to one upstream; closing the
        // connections they leave idle would only mean new handshakes.
        .pool_max_idle_per_host(1024)
        .build(connector)
}

/// TLS with the process-wide crypto provider (ring, see `install_crypto_provider`) and
/// the platform's certificate verifier.
fn tls_config() -> Result<rustls::ClientConfig, String> {
    let provider = CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()));
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|builder| builder.try_with_platform_verifier())
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .with_no_client_auth();
    Ok(config)
}

/// Parses a URL built from config (and maybe a model name) into a request target. Only
/// absolute `http`/`https` URLs can be called.
pub(crate) fn absolute_uri(url: String) -> Result<Uri, String> {
    let uri = Uri::try_from(url).map_err(|e| e.to_string())?;
    match (uri.scheme_str(), uri.authority()) {
        (Some("http" | "https"), Some(_)) => Ok(uri),
        _ => Err("not an absolute http(s) URL".to_owned()),
    }
}

/// A failed call as the caller sees it: timeouts are 504, a failure to connect (refused,
/// DNS, TLS, a proxy that refuses the tunnel) is 502 `upstream_unreachable`, anything else 502
/// `upstream_connection_failed`. The message never carries the URL or error chain,
/// which may include internal addresses.
pub(crate) fn call_error(e: &hyper_util::client::legacy::Error) -> ApiError {
    if is_timeout(e) {
        timed_out()
    } else if e.is_connect() {
        unreachable()
    } else {
        connection_failed()
    }
}

/// A response body that failed while being read.
pub(crate) fn body_error(e: &hyper::Error) -> ApiError {
    if is_timeout(e) {
        timed_out()
    } else {
        connection_failed()
    }
}

/// A `Retry-After` value in whole seconds, rounded up; HTTP-date values are ignored
/// (no provider sends them).
pub(crate) fn retry_after_secs(value: &[u8]) -> Option<u64> {
    std::str::from_utf8(value)
        .ok()?
        .trim()
        .parse::<f64>()
        .ok()
        .map(|s| s.ceil().max(0.0) as u64)
}

/// The call ran past `request_timeout`.
pub(crate) fn timed_out() -> ApiError {
    ApiError::new(
        ErrorKind::GatewayTimeout,
        "The upstream provider did not answer in time.",
    )
}

/// The upstream could not be reached at all (refused, DNS, TLS, a proxy refusing the
/// tunnel).
pub(crate) fn unreachable() -> ApiError {
    ApiError::new(
        ErrorKind::BadGateway,
        "The upstream provider could not be reached.",
    )
    .with_code("upstream_unreachable")
}

/// The connection failed during the call.
pub(crate) fn connection_failed() -> ApiError {
    ApiError::new(
        ErrorKind::BadGateway,
        "The connection to the upstream provider failed.",
    )
    .with_code("upstream_connection_failed")
}

/// Whether a timeout anywhere in the chain caused the error: the TCP connect timeout
/// surfaces as an `io::ErrorKind::TimedOut` inside the connect error.
pub(crate) fn is_timeout(e: &(dyn StdError + 'static)) -> bool {
    let mut next = Some(e);
    while let Some(err) = next {
        if err
            .downcast_ref::<hyper::Error>()
            .is_some_and(hyper::Error::is_timeout)
            || err
                .downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            return true;
        }
        next = err.source();
    }
    false
}

/// Displays an error with its whole source chain, for the log: hyper's top-level
/// messages ("client error (Connect)") alone do not say what went wrong.
pub(crate) struct Chain<'a>(pub &'a (dyn StdError + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut next = self.0.source();
        while let Some(err) = next {
            write!(f, ": {err}")?;
            next = err.source();
        }
        Ok(())
    }
}
