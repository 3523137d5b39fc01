//! A lean HTTP/1.1 client for plain-`http://` upstreams (local servers such as vLLM,
//! Ollama or llama.cpp, and the simulator).
//!
//! hyper's pooled client runs every connection as its own task and hands requests and
//! responses to it through channels; for a small JSON exchange that machinery cost
//! more than a fifth of the gateway's own work per request (callgrind,
//! bench/README.md). Here the calling task does the exchange itself, as nginx does:
//! take an idle connection (or connect), write the request in one call, read and parse
//! the answer, and put the connection back when the answer ended cleanly.
//!
//! A pooled connection the server closed while it sat idle is common (uvicorn, behind
//! vLLM, closes idle connections after 5 s). It is caught before use when its close
//! has already been seen, and otherwise by the first read finding the connection
//! closed before any byte of an answer: the request is then sent again on another
//! connection, as browsers and Go's client do, since a server that closes an idle
//! connection has not read what was written to it. A streamed answer is read by the
//! task relaying it ([`LeanBody`]). TLS and proxied upstreams stay on hyper
//! (`transport.rs`).

mod body;
mod pool;
mod response;
mod stream;

use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use http::{HeaderMap, Uri};
use socket2::{SockRef, TcpKeepalive};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use body::{BodyReader, Framing};
use pool::Pool;
pub(crate) use response::{ReadError, Response};
pub(crate) use stream::LeanBody;

/// A call that failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum H1Error {
    #[error("connect failed: {0}")]
    Connect(io::Error),
    #[error("connect timed out")]
    ConnectTimeout,
    #[error("writing the request failed: {0}")]
    Write(io::Error),
    #[error(transparent)]
    Read(#[from] ReadError),
}

/// The client for one upstream host (a provider's base URL).
#[derive(Debug)]
pub(crate) struct H1Client {
    /// `host:port` as the base URL gives it: the `Host` header and the pool's key.
    authority: String,
    host: String,
    port: u16,
    /// `host: ...` and every provider header, each line ending in CRLF.
    fixed_head: Vec<u8>,
    connect_timeout: Duration,
    pool: Arc<Pool>,
}

/// A streamed call's answer once its head has arrived.
#[derive(Debug)]
pub(crate) struct Opened {
    pub status: u16,
    pub retry_after: Option<u64>,
    pub body: LeanBody,
}

impl H1Client {
    /// A client for `base` when it is a plain `http://` URL; `None` otherwise.
    pub(crate) fn for_base(
        base: &Uri,
        headers: &HeaderMap,
        connect_timeout: Duration,
    ) -> Option<Self> {
        if base.scheme_str() != Some("http") {
            return None;
        }
        let authority = base.authority()?;
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        // `host[:port]`: credentials in the URL (`user:pass@`) never go into `Host`.
        let host_header = authority.as_str().rsplit('@').next().unwrap_or_default();
        let mut fixed_head = Vec::with_capacity(256);
        for (name, value) in [("host", host_header.as_bytes())]
            .into_iter()
            .chain(headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes())))
        {
            fixed_head.extend_from_slice(name.as_bytes());
            fixed_head.extend_from_slice(b": ");
            fixed_head.extend_from_slice(value);
            fixed_head.extend_from_slice(b"\r\n");
        }
        Some(Self {
            authority: authority.as_str().to_owned(),
            host: host.to_owned(),
            port: authority.port_u16().unwrap_or(80),
            fixed_head,
            connect_timeout,
            pool: Arc::default(),
        })
    }

    /// Whether calls to `uri` go to this client's host.
    pub(crate) fn serves(&self, uri: &Uri) -> bool {
        uri.scheme_str() == Some("http")
            && uri
                .authority()
                .is_some_and(|a| a.as_str() == self.authority)
    }

    /// POSTs `body` to `uri` (which [`serves`](Self::serves) accepted) and reads the
    /// whole answer. The caller bounds it in time; dropping the future closes the
    /// connection in use.
    pub(crate) async fn post(&self, uri: &Uri, body: &[u8]) -> Result<Response, H1Error> {
        let request = self.request(uri, body);
        loop {
            let (mut stream, reused) = self.connection().await?;
            let answer = async {
                stream.write_all(&request).await.map_err(H1Error::Write)?;
                Ok::<_, H1Error>(response::read(&mut stream).await?)
            };
            match answer.await {
                Ok(response) => {
                    if response.reusable {
                        self.pool.checkin(stream);
                    }
                    return Ok(response);
                }
                // Closed by the server while idle: try the next connection (pooled
                // ones are used up, so this ends with a new one).
                Err(error) if reused && error.closed_before_response() => continue,
                Err(error) => return Err(error),
            }
        }
    }

    /// POSTs `body` to `uri` and returns once the answer's head has arrived; its body
    /// is read as it comes ([`LeanBody`]).
    pub(crate) async fn open(&self, uri: &Uri, body: &[u8]) -> Result<Opened, H1Error> {
        let request = self.request(uri, body);
        loop {
            let (mut stream, reused) = self.connection().await?;
            let mut buf = BytesMut::with_capacity(8 * 1024);
            let head = async {
                stream.write_all(&request).await.map_err(H1Error::Write)?;
                Ok::<_, H1Error>(response::read_head(&mut stream, &mut buf).await?)
            };
            match head.await {
                Ok(head) => {
                    let keep = !head.close && head.framing != Framing::UntilClose;
                    let reader = BodyReader::new(head.framing);
                    let pool = Arc::clone(&self.pool);
                    return Ok(Opened {
                        status: head.status,
                        retry_after: head.retry_after,
                        body: LeanBody::new(stream, buf, reader, keep, pool),
                    });
                }
                Err(error) if reused && error.closed_before_response() => continue,
                Err(error) => return Err(error),
            }
        }
    }

    /// A pooled connection (`true`) or a new one.
    async fn connection(&self) -> Result<(TcpStream, bool), H1Error> {
        match self.pool.checkout() {
            Some(stream) => Ok((stream, true)),
            None => Ok((self.connect().await?, false)),
        }
    }

    /// The whole request: request line, headers, body.
    fn request(&self, uri: &Uri, body: &[u8]) -> Vec<u8> {
        let target = uri.path_and_query().map_or("/", |p| p.as_str());
        let mut length = itoa::Buffer::new();
        let length = length.format(body.len());
        let mut out = Vec::with_capacity(
            self.fixed_head.len() + target.len() + length.len() + body.len() + 48,
        );
        out.extend_from_slice(b"POST ");
        out.extend_from_slice(target.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\n");
        out.extend_from_slice(&self.fixed_head);
        out.extend_from_slice(b"content-length: ");
        out.extend_from_slice(length.as_bytes());
        out.extend_from_slice(b"\r\n\r\n");
        out.extend_from_slice(body);
        out
    }

    async fn connect(&self) -> Result<TcpStream, H1Error> {
        let stream = tokio::time::timeout(
            self.connect_timeout,
            TcpStream::connect((self.host.as_str(), self.port)),
        )
        .await
        .map_err(|_| H1Error::ConnectTimeout)?
        .map_err(H1Error::Connect)?;
        stream.set_nodelay(true).map_err(H1Error::Connect)?;
        // Keepalive probes find dead pooled connections (the values of the hyper
        // client's connector).
        let keepalive = TcpKeepalive::new()
            .with_time(Duration::from_secs(15))
            .with_interval(Duration::from_secs(15))
            .with_retries(3);
        SockRef::from(&stream)
            .set_tcp_keepalive(&keepalive)
            .map_err(H1Error::Connect)?;
        Ok(stream)
    }
}

impl H1Error {
    /// The connection turned out closed before any answer: on a pooled connection,
    /// the server had closed it while idle, and the request can go on another.
    fn closed_before_response(&self) -> bool {
        match self {
            Self::Write(e) => matches!(
                e.kind(),
                io::ErrorKind::BrokenPipe
                    | io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionAborted
            ),
            Self::Read(ReadError::ClosedBeforeResponse(_)) => true,
            _ => false,
        }
    }

    /// A failure to reach the upstream at all (as opposed to one during the call).
    pub(crate) fn is_connect(&self) -> bool {
        matches!(self, Self::Connect(_))
    }

    pub(crate) fn is_timeout(&self) -> bool {
        matches!(self, Self::ConnectTimeout)
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;
    use tokio::io::AsyncReadExt;
    use tokio::net::TcpListener;

    use super::*;

    fn client(base: &str) -> Result<H1Client, String> {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", HeaderValue::from_static("Bearer k"));
        H1Client::for_base(
            &base.parse().map_err(|_| "uri")?,
            &headers,
            Duration::from_secs(2),
        )
        .ok_or_else(|| "not plain http".to_owned())
    }

    /// Reads one request (head and `content-length` body) off `socket`.
    async fn read_request(socket: &mut TcpStream) -> io::Result<String> {
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = socket.read(&mut buf).await?;
            if n == 0 {
                return Ok(String::new());
            }
            seen.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&seen).into_owned();
            if let Some(end) = text.find("\r\n\r\n") {
                let length = text[..end]
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length: "))
                    .and_then(|v| v.parse::<usize>().ok())
                    .unwrap_or(0);
                if seen.len() >= end + 4 + length {
                    return Ok(text);
                }
            }
        }
    }

    #[test]
    fn only_plain_http_bases_get_a_client() -> Result<(), String> {
        let headers = HeaderMap::new();
        let https: Uri = "https://api.openai.com/v1".parse().map_err(|_| "uri")?;
        assert!(H1Client::for_base(&https, &headers, Duration::from_secs(1)).is_none());
        let c = client("http://127.0.0.1:8000/v1")?;
        assert_eq!((c.host.as_str(), c.port), ("127.0.0.1", 8000));
        assert!(
            c.serves(
                &"http://127.0.0.1:8000/v1/chat/completions"
                    .parse()
                    .map_err(|_| "uri")?
            )
        );
        assert!(
            !c.serves(
                &"http://127.0.0.1:8001/v1/chat/completions"
                    .parse()
                    .map_err(|_| "uri")?
            )
        );
        let v6 = client("http://[::1]/v1")?;
        assert_eq!((v6.host.as_str(), v6.port), ("::1", 80));
        assert!(v6.fixed_head.starts_with(b"host: [::1]\r\n"));
        let with_user = client("http://user:secret@10.0.0.5:8000/v1")?;
        assert!(with_user.fixed_head.starts_with(b"host: 10.0.0.5:8000\r\n"));
        assert!(!String::from_utf8_lossy(&with_user.fixed_head).contains("secret"));
        Ok(())
    }

    #[tokio::test]
    async fn the_request_is_written_whole_and_the_connection_reused()
    -> Result<(), Box<dyn std::error::Error>> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await?;
            let mut requests = Vec::new();
            for answer in ["one", "two"] {
                requests.push(read_request(&mut socket).await?);
                let reply = format!("HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\n{answer}");
                socket.write_all(reply.as_bytes()).await?;
            }
            io::Result::Ok(requests)
        });
        let c = client(&base)?;
        let uri: Uri = format!("{base}/v1/chat/completions?x=1").parse()?;
        assert_eq!(&c.post(&uri, b"{\"a\":1}").await?.body[..], b"one");
        assert_eq!(&c.post(&uri, b"{}").await?.body[..], b"two");
        let requests = server.await??;
        let host = base.trim_start_matches("http://");
        assert_eq!(
            requests[0],
            format!(
                "POST /v1/chat/completions?x=1 HTTP/1.1\r\nhost: {host}\r\nauthorization: Bearer k\r\n\
                 content-length: 7\r\n\r\n{{\"a\":1}}"
            )
        );
        Ok(())
    }

    #[tokio::test]
    async fn a_connection_closed_while_idle_is_replaced_without_failing_the_call()
    -> Result<(), Box<dyn std::error::Error>> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let (closed_tx, closed_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            // First connection: one answer, then closed by the server.
            let (mut first, _) = listener.accept().await?;
            read_request(&mut first).await?;
            first
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                .await?;
            drop(first);
            let _ = closed_tx.send(());
            // The retry arrives on a new connection.
            let (mut second, _) = listener.accept().await?;
            let request = read_request(&mut second).await?;
            second
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nagain")
                .await?;
            io::Result::Ok(request)
        });
        let c = client(&base)?;
        let uri: Uri = format!("{base}/v1/embeddings").parse()?;
        assert_eq!(&c.post(&uri, b"1").await?.body[..], b"ok");
        closed_rx.await?;
        assert_eq!(&c.post(&uri, b"2").await?.body[..], b"again");
        assert!(server.await??.ends_with("\r\n\r\n2"));
        Ok(())
    }

    #[tokio::test]
    async fn a_fresh_connection_closed_without_an_answer_is_an_error_not_a_retry()
    -> Result<(), Box<dyn std::error::Error>> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await?;
            read_request(&mut socket).await?;
            drop(socket);
            // A second connection would be a retry of a request the server read.
            let next = tokio::time::timeout(Duration::from_millis(300), listener.accept()).await;
            io::Result::Ok(next.is_err())
        });
        let c = client(&base)?;
        let uri: Uri = format!("{base}/v1/chat/completions").parse()?;
        let err = c.post(&uri, b"{}").await.err().ok_or("expected an error")?;
        assert!(
            matches!(err, H1Error::Read(ReadError::ClosedBeforeResponse(_))),
            "{err:?}"
        );
        assert!(server.await??, "no second attempt");
        Ok(())
    }

    #[tokio::test]
    async fn a_streamed_body_arrives_in_pieces_and_its_connection_is_reused()
    -> Result<(), Box<dyn std::error::Error>> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let (go_tx, go_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            // One connection for both calls: the second proves the first was pooled.
            let (mut socket, _) = listener.accept().await?;
            read_request(&mut socket).await?;
            socket
                .write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n6\r\nfirst\n\r\n")
                .await?;
            go_rx.await.map_err(io::Error::other)?;
            // The end marker, then (separately, as servers do) the last chunk.
            socket.write_all(b"5\r\nlast\n\r\n").await?;
            tokio::time::sleep(Duration::from_millis(50)).await;
            socket.write_all(b"0\r\n\r\n").await?;
            read_request(&mut socket).await?;
            socket
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nagain")
                .await?;
            io::Result::Ok(())
        });
        let c = client(&base)?;
        let uri: Uri = format!("{base}/v1/chat/completions").parse()?;
        let mut opened = c.open(&uri, b"{}").await?;
        assert_eq!(opened.status, 200);
        let first = opened.body.chunk().await.ok_or("a piece")??;
        assert_eq!(
            &first[..],
            b"first\n",
            "the first piece comes before the rest is sent"
        );
        go_tx.send(()).map_err(|_| "server gone")?;
        let last = opened.body.chunk().await.ok_or("a piece")??;
        assert_eq!(&last[..], b"last\n");
        // The caller saw its end marker: it stops reading, and the connection goes
        // back to the pool once the terminator arrives.
        opened.body.finish();
        for _ in 0..100 {
            if c.pool.idle_count() == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(c.pool.idle_count(), 1);
        assert_eq!(&c.post(&uri, b"{}").await?.body[..], b"again");
        server.await??;
        Ok(())
    }

    #[tokio::test]
    async fn a_refused_connection_is_a_connect_error() -> Result<(), Box<dyn std::error::Error>> {
        let port = TcpListener::bind("127.0.0.1:0").await?.local_addr()?.port();
        let c = client(&format!("http://127.0.0.1:{port}"))?;
        let uri: Uri = format!("http://127.0.0.1:{port}/v1/x").parse()?;
        let err = c.post(&uri, b"{}").await.err().ok_or("expected an error")?;
        assert!(err.is_connect(), "{err:?}");
        Ok(())
    }
}
