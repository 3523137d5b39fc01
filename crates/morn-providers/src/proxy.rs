//! The outbound proxy: which upstreams are reached through one (from the standard
//! environment variables) and the connector that tunnels to them through it.
//!
//! Deployments behind an egress proxy set `HTTPS_PROXY` and friends. The variables are
//! read when a provider is built, and the decision is made then, once: a provider's
//! base URL fixes the scheme and host of every call it makes. A provider without a
//! proxy gets the same direct client as before, so calls pay nothing for this.
//!
//! `http` and `https` upstreams both go through an HTTP CONNECT tunnel (hyper-util's
//! `Tunnel`), with TLS to an `https` upstream inside it. One mechanism for both schemes
//! keeps requests in origin form, and the proxy credentials on the CONNECT only, never
//! on a request that reaches the upstream. Only `http://` proxy URLs are supported:
//! hyper-util offers no TLS-to-the-proxy connector, and SOCKS is out of scope.

use http::Uri;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::proxy::matcher::{Intercept, Matcher};
use tower::util::MapRequest;

/// What a tunneled client connects with: TCP to the proxy, then CONNECT to the
/// upstream. `transport.rs` puts TLS on top.
pub(crate) type TunnelConnector = MapRequest<Tunnel<HttpConnector>, fn(Uri) -> Uri>;

/// Which upstreams go through an outbound proxy, with the meaning curl gives the
/// variables (the upper-case name wins over the lower-case one):
///
/// - `HTTPS_PROXY`/`https_proxy`: the proxy for `https` upstreams;
/// - `HTTP_PROXY`/`http_proxy`: the proxy for `http` upstreams;
/// - `ALL_PROXY`/`all_proxy`: the proxy for either, where the one above is unset;
/// - `NO_PROXY`/`no_proxy`: hosts connected to directly (domains with their
///   subdomains, IP addresses, CIDR ranges, or `*`).
///
/// Credentials in a proxy URL (`http://user:pass@proxy:3128`) are sent to the proxy
/// as `Proxy-Authorization: Basic`. `Debug` shows the proxy addresses but not them.
#[derive(Debug)]
pub struct ProxySettings {
    matcher: Matcher,
}

impl ProxySettings {
    /// From the process environment; what [`Provider::new`](crate::Provider::new) uses.
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// From the same variables looked up by name through `lookup`, so that tests and
    /// embedders need not change the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        // As hyper-util's `Matcher::from_env` does: under CGI, `HTTP_PROXY` can come
        // from a request's `Proxy:` header ("httpoxy"), so no variable is trusted.
        if lookup("REQUEST_METHOD").is_some() {
            return Self::none();
        }
        let first = |names: [&str; 2]| names.into_iter().find_map(&lookup).unwrap_or_default();
        let matcher = Matcher::builder()
            .all(first(["ALL_PROXY", "all_proxy"]))
            .http(first(["HTTP_PROXY", "http_proxy"]))
            .https(first(["HTTPS_PROXY", "https_proxy"]))
            .no(first(["NO_PROXY", "no_proxy"]))
            .build();
        Self { matcher }
    }

    /// Every upstream connected to directly.
    pub fn none() -> Self {
        Self {
            matcher: Matcher::builder().build(),
        }
    }

    /// The proxy that calls to `base_url` go through, `None` to connect directly. A
    /// proxy this client cannot use is an error: going around a proxy the deployment
    /// asked for would be worse than not starting the provider.
    pub(crate) fn route(
        &self,
        provider: &str,
        base_url: &Uri,
    ) -> Result<Option<Intercept>, String> {
        let Some(proxy) = self.matcher.intercept(base_url) else {
            return Ok(None);
        };
        match proxy.uri().scheme_str() {
            Some("http") => {
                // The URI has no credentials: the matcher keeps them apart.
                tracing::info!(provider, proxy = %proxy.uri(), "upstream calls go through an HTTP CONNECT proxy");
                Ok(Some(proxy))
            }
            scheme => Err(format!(
                "provider {provider}: the outbound proxy for this upstream is a {}:// URL; \
                 only http:// proxies are supported (list the upstream's host in NO_PROXY \
                 to connect directly)",
                scheme.unwrap_or_default()
            )),
        }
    }
}

/// A connector that reaches every destination through `proxy` with HTTP CONNECT.
/// hyper-util marks the `Proxy-Authorization` value sensitive, so `Debug` hides it.
pub(crate) fn tunnel(proxy: &Intercept, tcp: HttpConnector) -> TunnelConnector {
    let mut tunnel = Tunnel::new(proxy.uri().clone(), tcp);
    if let Some(auth) = proxy.basic_auth() {
        tunnel = tunnel.with_auth(auth.clone());
    }
    MapRequest::new(tunnel, with_default_port as fn(Uri) -> Uri)
}

/// `Tunnel` asks for port 443 when the URI names none, which is right for `https`
/// only: an `http` upstream without a port is on 80.
fn with_default_port(dst: Uri) -> Uri {
    if dst.port().is_some() || dst.scheme_str() != Some("http") {
        return dst;
    }
    let Some(host) = dst.host() else {
        return dst;
    };
    let authority = format!("{host}:80");
    Uri::builder()
        .scheme("http")
        .authority(authority)
        .path_and_query("/")
        .build()
        .unwrap_or(dst)
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> ProxySettings {
        ProxySettings::from_lookup(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    fn proxy_for(settings: &ProxySettings, url: &'static str) -> Option<String> {
        settings
            .route("p", &Uri::from_static(url))
            .ok()
            .flatten()
            .map(|p| p.uri().to_string())
    }

    #[test]
    fn each_scheme_takes_its_own_variable_and_all_proxy_fills_in() {
        let s = settings(&[
            ("HTTPS_PROXY", "http://tls-proxy:3128"),
            ("all_proxy", "http://any-proxy:3128"),
        ]);
        assert_eq!(
            proxy_for(&s, "https://api.example.com/v1").as_deref(),
            Some("http://tls-proxy:3128/")
        );
        assert_eq!(
            proxy_for(&s, "http://10.0.0.5:8000/v1").as_deref(),
            Some("http://any-proxy:3128/")
        );
    }

    #[test]
    fn no_variables_no_proxy_and_under_cgi_none_is_trusted() {
        assert_eq!(proxy_for(&settings(&[]), "https://api.example.com"), None);
        let cgi = settings(&[("HTTPS_PROXY", "http://p:1"), ("REQUEST_METHOD", "GET")]);
        assert_eq!(proxy_for(&cgi, "https://api.example.com"), None);
    }

    #[test]
    fn an_https_or_socks_proxy_is_refused_without_naming_it() {
        for proxy in ["https://user:pw@p.internal:443", "socks5://p.internal:1080"] {
            let s = settings(&[("ALL_PROXY", proxy)]);
            let err = s
                .route("p", &Uri::from_static("https://api.example.com"))
                .unwrap_err();
            assert!(err.contains("only http:// proxies"), "{err}");
            assert!(!err.contains("p.internal") && !err.contains("pw"), "{err}");
        }
    }

    #[test]
    fn an_http_destination_without_a_port_is_tunneled_to_port_80() {
        let dst = with_default_port(Uri::from_static("http://vllm.internal/v1/chat"));
        assert_eq!(
            (dst.host(), dst.port_u16()),
            (Some("vllm.internal"), Some(80))
        );
        let https = with_default_port(Uri::from_static("https://api.example.com/v1"));
        assert_eq!(https.port_u16(), None);
    }
}
