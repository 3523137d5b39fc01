//! Harness for black-box tests of the real `morn` binary: the simulator in process on
//! port 0, Morn as a child process on port 0, with a config file written per test.
#![allow(
    dead_code,
    reason = "each test binary uses a different part of the harness"
)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const KEY: &str = "sk-morn-blackbox";
pub const UPSTREAM_SECRET: &str = "sk-upstream-do-not-log-7731";

/// Starts the simulator on a free port; returns its base URL.
pub async fn start_mock() -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(morn_mock::serve(
        listener,
        morn_mock::MockOptions::default(),
    ));
    Ok(url)
}

/// A config with one provider per adapter, all pointed at the simulator.
pub fn config_for(mock: &str, extra: &str) -> String {
    format!(
        r#"{extra}
[providers.mock_openai]
kind = "openai"
base_url = "{mock}/v1"
api_key = {{ env = "TEST_UPSTREAM_KEY" }}

[providers.mock_anthropic]
kind = "anthropic"
base_url = "{mock}"
api_key = {{ env = "TEST_UPSTREAM_KEY" }}

[providers.mock_gemini]
kind = "gemini"
base_url = "{mock}/v1beta"
api_key = {{ env = "TEST_UPSTREAM_KEY" }}

[[models]]
name = "gpt-4o-mini"
provider = "mock_openai"

[[models]]
name = "claude-sonnet-4-5"
provider = "mock_anthropic"

[[models]]
name = "gemini-2.5-flash"
provider = "mock_gemini"
"#
    )
}

/// A running `morn serve`.
pub struct Morn {
    pub child: Child,
    pub base: String,
    pub stderr_path: PathBuf,
    pub dir: tempfile::TempDir,
}

impl Morn {
    /// Writes `config` and starts `morn serve` on port 0; returns once it printed its
    /// address. `env` adds environment variables.
    pub fn start(config: &str, env: &[(&str, &str)]) -> anyhow::Result<Self> {
        Self::start_with_data(config, env, None)
    }

    /// Like `start`, with the data directory at `data` (default: `<its dir>/data`).
    pub fn start_with_data(
        config: &str,
        env: &[(&str, &str)],
        data: Option<&Path>,
    ) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let data = data.map_or_else(|| dir.path().join("data"), Path::to_path_buf);
        let config_path = dir.path().join("morn.toml");
        std::fs::write(&config_path, config)?;
        let stderr_path = dir.path().join("stderr.log");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_morn"));
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&config_path)
            .arg("--data-dir")
            .arg(&data)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("MORN_MASTER_KEY", KEY)
            .env("TEST_UPSTREAM_KEY", UPSTREAM_SECRET)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr_path)?);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let Some(addr) = line.trim().strip_prefix("morn listening on ") else {
            let _ = child.kill();
            anyhow::bail!(
                "morn did not start: {line:?}\n{}",
                std::fs::read_to_string(&stderr_path)?
            );
        };
        Ok(Self {
            base: addr.to_owned(),
            child,
            stderr_path,
            dir,
        })
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// Sends a signal to the process.
    pub fn signal(&self, signal: i32) -> anyhow::Result<()> {
        let pid = i32::try_from(self.child.id())?;
        // `kill(1)` keeps the tests free of unsafe libc calls.
        let rc = std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()?;
        anyhow::ensure!(rc.success(), "kill failed");
        Ok(())
    }

    /// Waits for the process to exit, at most `limit`.
    pub fn wait_exit(&mut self, limit: Duration) -> anyhow::Result<Option<i32>> {
        let start = std::time::Instant::now();
        while start.elapsed() < limit {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status.code());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(None)
    }
}

impl Drop for Morn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `morn` with arguments; returns (exit code, stdout, stderr).
pub fn run_morn(
    args: &[&str],
    env: &[(&str, &str)],
    cwd: &Path,
) -> anyhow::Result<(i32, String, String)> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_morn"));
    cmd.args(args)
        .current_dir(cwd)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output()?;
    Ok((
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

/// An HTTP client for the tests (installs the TLS crypto provider reqwest needs).
pub fn http() -> reqwest::Client {
    morn_providers::install_crypto_provider();
    reqwest::Client::new()
}
