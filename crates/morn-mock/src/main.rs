//! The `morn-mock` binary: parses the CLI, binds, announces the address on
//! stdout (one line, for test harnesses) and serves until SIGINT/SIGTERM.

use std::io::Write;

use clap::Parser;
use morn_mock::MockOptions;

/// mimalloc, as in `morn`: the simulator builds every answer from many small JSON
/// values, and with glibc's allocator a third of its instructions per streamed answer
/// were `malloc` and `free` (callgrind). It shares the benchmark machine's cores with
/// the gateway it feeds, so its cost is everyone's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Provider simulator for OpenAI, Anthropic and Gemini wire formats.
#[derive(Debug, Parser)]
#[command(name = "morn-mock", version)]
struct Cli {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:9100")]
    listen: String,
    /// Default delay before response headers, in milliseconds.
    #[arg(long)]
    ttfb_ms: Option<u64>,
    /// Default pause between stream events, in milliseconds.
    #[arg(long)]
    chunk_gap_ms: Option<u64>,
    /// Default answer length in tokens (words).
    #[arg(long)]
    words: Option<usize>,
}

fn init_logging() {
    // Quiet unless RUST_LOG asks for more: the mock sits under benchmarks.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logging();
    let listener = tokio::net::TcpListener::bind(&cli.listen).await?;
    let addr = listener.local_addr()?;
    let opts = MockOptions {
        ttfb_ms: cli.ttfb_ms,
        chunk_gap_ms: cli.chunk_gap_ms,
        words: cli.words,
    };
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "morn-mock listening on http://{addr}")?;
        out.flush()?;
    }
    // No graceful drain: hung (`hang`) requests would block it forever, and a
    // simulator has nothing to flush.
    tokio::select! {
        res = morn_mock::serve(listener, opts) => res?,
        () = shutdown_signal() => {}
    }
    Ok(())
}
