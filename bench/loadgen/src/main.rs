//! morn-loadgen: a small closed-loop HTTP/1.1 load generator for Morn's benchmark.
//!
//! C workers, one keep-alive connection each (TCP_NODELAY on), each sending the same
//! request back to back for a duration (or until N requests are done). Per request it
//! records the time to response headers, to the first body bytes (TTFB: for an SSE
//! stream, the first event) and to the last body byte (latency). Prints one JSON
//! object on stdout.
//!
//! Usage:
//!   morn-loadgen --url http://127.0.0.1:8080/v1/chat/completions \
//!     --body-file req.json -H 'authorization: Bearer k' -H 'content-type: application/json' \
//!     -c 16 --duration 10 --warmup 2 [--expect '[DONE]'] [--threads 2] [--label morn]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

#[derive(Clone)]
struct Opts {
    url: String,
    host: String,
    authority: String,
    path: String,
    method: hyper::Method,
    headers: Vec<(String, String)>,
    body: Bytes,
    concurrency: usize,
    duration: Option<Duration>,
    requests: Option<u64>,
    warmup: Duration,
    threads: usize,
    expect: Option<Vec<u8>>,
    label: String,
    timeout: Duration,
}

fn usage(msg: &str) -> ! {
    eprintln!("error: {msg}");
    eprintln!(
        "usage: morn-loadgen --url URL [--method M] [--body S | --body-file F] [-H 'name: value']... \
         [-c N] [--duration SECS | --requests N] [--warmup SECS] [--threads N] [--expect S] \
         [--label S] [--timeout SECS]"
    );
    std::process::exit(2);
}

fn parse_args() -> Opts {
    let mut args = std::env::args().skip(1);
    let mut url = None;
    let mut method = None;
    let mut headers = Vec::new();
    let mut body = None;
    let mut concurrency = 1usize;
    let mut duration = None;
    let mut requests = None;
    let mut warmup = 0.0f64;
    let mut threads = 2usize;
    let mut expect = None;
    let mut label = String::new();
    let mut timeout = 30.0f64;
    while let Some(a) = args.next() {
        let mut val = |name: &str| args.next().unwrap_or_else(|| usage(&format!("{name} needs a value")));
        match a.as_str() {
            "--url" => url = Some(val("--url")),
            "--method" => method = Some(val("--method")),
            "-H" | "--header" => {
                let h = val("--header");
                let (k, v) = h.split_once(':').unwrap_or_else(|| usage("header must be 'name: value'"));
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
            "--body" => body = Some(Bytes::from(val("--body"))),
            "--body-file" => {
                let p = val("--body-file");
                body = Some(Bytes::from(
                    std::fs::read(&p).unwrap_or_else(|e| usage(&format!("reading {p}: {e}"))),
                ));
            }
            "-c" | "--concurrency" => concurrency = num(&val("-c")),
            "--duration" => duration = Some(Duration::from_secs_f64(num(&val("--duration")))),
            "--requests" => requests = Some(num(&val("--requests"))),
            "--warmup" => warmup = num(&val("--warmup")),
            "--threads" => threads = num(&val("--threads")),
            "--expect" => expect = Some(val("--expect").into_bytes()),
            "--label" => label = val("--label"),
            "--timeout" => timeout = num(&val("--timeout")),
            "-h" | "--help" => usage("help"),
            other => usage(&format!("unknown argument {other}")),
        }
    }
    let url = url.unwrap_or_else(|| usage("--url is required"));
    let rest = url
        .strip_prefix("http://")
        .unwrap_or_else(|| usage("only http:// URLs are supported"));
    let (authority, path) = match rest.find('/') {
        Some(i) => (rest[..i].to_string(), rest[i..].to_string()),
        None => (rest.to_string(), "/".to_string()),
    };
    let host = if authority.contains(':') { authority.clone() } else { format!("{authority}:80") };
    if duration.is_none() && requests.is_none() {
        duration = Some(Duration::from_secs(10));
    }
    if concurrency == 0 || threads == 0 {
        usage("concurrency and threads must be at least 1");
    }
    let method = match method {
        Some(m) => m.parse().unwrap_or_else(|_| usage("bad method")),
        None if body.is_some() => hyper::Method::POST,
        None => hyper::Method::GET,
    };
    Opts {
        url,
        host,
        authority,
        path,
        method,
        headers,
        body: body.unwrap_or_default(),
        concurrency,
        duration,
        requests,
        warmup: Duration::from_secs_f64(warmup),
        threads,
        expect,
        label,
        timeout: Duration::from_secs_f64(timeout),
    }
}

fn num<T: std::str::FromStr>(s: &str) -> T {
    s.parse().unwrap_or_else(|_| usage(&format!("not a number: {s}")))
}

#[derive(Default)]
struct WorkerStats {
    latency_us: Vec<u32>,
    ttfb_us: Vec<u32>,
    headers_us: Vec<u32>,
    bytes: u64,
    errors_status: u64,
    errors_transport: u64,
    errors_expect: u64,
    errors_timeout: u64,
    connects: u64,
    first_error: Option<String>,
}

impl WorkerStats {
    fn error(&mut self, kind: &str, msg: String) {
        match kind {
            "status" => self.errors_status += 1,
            "expect" => self.errors_expect += 1,
            "timeout" => self.errors_timeout += 1,
            _ => self.errors_transport += 1,
        }
        if self.first_error.is_none() {
            self.first_error = Some(msg);
        }
    }
}

type Sender = http1::SendRequest<Full<Bytes>>;

async fn connect(opts: &Opts) -> Result<Sender, String> {
    let stream = TcpStream::connect(&opts.host).await.map_err(|e| format!("connect: {e}"))?;
    stream.set_nodelay(true).map_err(|e| format!("nodelay: {e}"))?;
    let (sender, conn) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

struct Sample {
    headers: Duration,
    ttfb: Duration,
    total: Duration,
    bytes: u64,
}

enum Outcome {
    Ok(Sample),
    Err(&'static str, String),
}

async fn one_request(opts: &Opts, sender: &mut Sender) -> Outcome {
    let mut b = Request::builder()
        .method(opts.method.clone())
        .uri(opts.path.as_str())
        .header(hyper::header::HOST, opts.authority.as_str());
    for (k, v) in &opts.headers {
        b = b.header(k.as_str(), v.as_str());
    }
    let req = match b.body(Full::new(opts.body.clone())) {
        Ok(r) => r,
        Err(e) => return Outcome::Err("transport", format!("build request: {e}")),
    };
    if let Err(e) = sender.ready().await {
        return Outcome::Err("transport", format!("connection not ready: {e}"));
    }
    let start = Instant::now();
    let resp = match sender.send_request(req).await {
        Ok(r) => r,
        Err(e) => return Outcome::Err("transport", format!("send: {e}")),
    };
    let headers = start.elapsed();
    let status = resp.status();
    let mut body = resp.into_body();
    let mut ttfb = None;
    let mut bytes = 0u64;
    let keep = opts.expect.is_some() || !status.is_success();
    let mut buf = Vec::new();
    loop {
        match body.frame().await {
            None => break,
            Some(Err(e)) => return Outcome::Err("transport", format!("body: {e}")),
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    if !data.is_empty() {
                        if ttfb.is_none() {
                            ttfb = Some(start.elapsed());
                        }
                        bytes += data.len() as u64;
                        if keep && buf.len() < 1 << 20 {
                            buf.extend_from_slice(data);
                        }
                    }
                }
            }
        }
    }
    let total = start.elapsed();
    if !status.is_success() {
        let text = String::from_utf8_lossy(&buf[..buf.len().min(300)]).into_owned();
        return Outcome::Err("status", format!("HTTP {status}: {text}"));
    }
    if let Some(exp) = &opts.expect {
        if !buf.windows(exp.len()).any(|w| w == exp.as_slice()) {
            let tail = String::from_utf8_lossy(&buf[buf.len().saturating_sub(300)..]).into_owned();
            return Outcome::Err("expect", format!("body lacks expected text; tail: {tail}"));
        }
    }
    Outcome::Ok(Sample { headers, ttfb: ttfb.unwrap_or(total), total, bytes })
}

struct Shared {
    measure_from: Instant,
    deadline: Option<Instant>,
    remaining: AtomicU64,
    stop: AtomicBool,
}

async fn worker(opts: Arc<Opts>, shared: Arc<Shared>) -> WorkerStats {
    let mut st = WorkerStats::default();
    let mut sender: Option<Sender> = None;
    loop {
        if shared.stop.load(Ordering::Relaxed) {
            break;
        }
        let now = Instant::now();
        if let Some(d) = shared.deadline {
            if now >= d {
                break;
            }
        }
        let measuring = now >= shared.measure_from;
        if measuring && opts.requests.is_some() {
            // Claim one of the N measured requests.
            let prev = shared.remaining.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |r| r.checked_sub(1));
            if prev.is_err() {
                break;
            }
        }
        // The server may close a keep-alive connection between requests (e.g. a
        // keepalive_requests limit): reconnect without counting an error.
        if sender.as_ref().is_some_and(|s| s.is_closed()) {
            sender = None;
        }
        if sender.is_none() {
            match connect(&opts).await {
                Ok(s) => {
                    st.connects += 1;
                    sender = Some(s);
                }
                Err(e) => {
                    if measuring {
                        st.error("transport", e);
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            }
        }
        let Some(s) = sender.as_mut() else { continue };
        let out = match tokio::time::timeout(opts.timeout, one_request(&opts, s)).await {
            Ok(o) => o,
            Err(_) => Outcome::Err("timeout", format!("no complete response within {:?}", opts.timeout)),
        };
        let done = Instant::now();
        // A request counts when it finished inside the measured window.
        let counted = measuring && shared.deadline.map_or(true, |d| done <= d);
        match out {
            Outcome::Ok(sample) => {
                if counted {
                    st.latency_us.push(us(sample.total));
                    st.ttfb_us.push(us(sample.ttfb));
                    st.headers_us.push(us(sample.headers));
                    st.bytes += sample.bytes;
                }
            }
            Outcome::Err(kind, msg) => {
                if counted {
                    st.error(kind, msg);
                }
                if kind != "status" && kind != "expect" {
                    sender = None; // reconnect after transport errors and timeouts
                }
            }
        }
    }
    st
}

fn us(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

fn pct(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn dist_json(v: &mut Vec<u32>) -> String {
    v.sort_unstable();
    let mean = if v.is_empty() { 0.0 } else { v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64 };
    format!(
        "{{\"p50\":{},\"p90\":{},\"p99\":{},\"p999\":{},\"max\":{},\"mean\":{:.1}}}",
        pct(v, 50.0),
        pct(v, 90.0),
        pct(v, 99.0),
        pct(v, 99.9),
        v.last().copied().unwrap_or(0),
        mean
    )
}

/// User+system CPU seconds of this process, from /proc/self/stat.
fn self_cpu_secs() -> f64 {
    let Ok(s) = std::fs::read_to_string("/proc/self/stat") else { return 0.0 };
    let Some(after) = s.rfind(')').map(|i| &s[i + 2..]) else { return 0.0 };
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields after the command: state is index 0, utime is field 14 overall => index 11.
    let ut: f64 = f.get(11).and_then(|x| x.parse().ok()).unwrap_or(0.0);
    let stt: f64 = f.get(12).and_then(|x| x.parse().ok()).unwrap_or(0.0);
    (ut + stt) / 100.0
}

fn json_str(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn main() {
    let opts = Arc::new(parse_args());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(opts.threads)
        .enable_all()
        .build()
        .unwrap_or_else(|e| usage(&format!("runtime: {e}")));
    let cpu0 = self_cpu_secs();
    let (stats, window) = rt.block_on(async {
        let start = Instant::now();
        let measure_from = start + opts.warmup;
        let shared = Arc::new(Shared {
            measure_from,
            deadline: opts.duration.map(|d| measure_from + d),
            remaining: AtomicU64::new(opts.requests.unwrap_or(0)),
            stop: AtomicBool::new(false),
        });
        let handles: Vec<_> = (0..opts.concurrency)
            .map(|_| tokio::spawn(worker(opts.clone(), shared.clone())))
            .collect();
        let mut all = Vec::new();
        for h in handles {
            if let Ok(s) = h.await {
                all.push(s);
            }
        }
        let end = match shared.deadline {
            Some(d) => d.min(Instant::now()),
            None => Instant::now(),
        };
        (all, end.saturating_duration_since(measure_from))
    });
    let cpu = self_cpu_secs() - cpu0;
    let mut lat = Vec::new();
    let mut ttfb = Vec::new();
    let mut hdr = Vec::new();
    let (mut bytes, mut es, mut et, mut ee, mut eto, mut conns) = (0u64, 0u64, 0u64, 0u64, 0u64, 0u64);
    let mut first_error = None;
    for mut s in stats {
        lat.append(&mut s.latency_us);
        ttfb.append(&mut s.ttfb_us);
        hdr.append(&mut s.headers_us);
        bytes += s.bytes;
        es += s.errors_status;
        et += s.errors_transport;
        ee += s.errors_expect;
        eto += s.errors_timeout;
        conns += s.connects;
        if first_error.is_none() {
            first_error = s.first_error;
        }
    }
    let ok = lat.len() as u64;
    let errors = es + et + ee + eto;
    let secs = window.as_secs_f64().max(1e-9);
    println!(
        "{{\"label\":{},\"url\":{},\"concurrency\":{},\"threads\":{},\"window_s\":{:.3},\"requests\":{},\"ok\":{},\"errors\":{},\
\"error_kinds\":{{\"status\":{},\"transport\":{},\"expect\":{},\"timeout\":{}}},\"first_error\":{},\"rps\":{:.1},\
\"latency_us\":{},\"ttfb_us\":{},\"headers_us\":{},\"bytes\":{},\"connections\":{},\"loadgen_cpu_s\":{:.2}}}",
        json_str(&opts.label),
        json_str(&opts.url),
        opts.concurrency,
        opts.threads,
        secs,
        ok + errors,
        ok,
        errors,
        es,
        et,
        ee,
        eto,
        first_error.as_deref().map(json_str).unwrap_or_else(|| "null".into()),
        ok as f64 / secs,
        dist_json(&mut lat),
        dist_json(&mut ttfb),
        dist_json(&mut hdr),
        bytes,
        conns,
        cpu
    );
}
