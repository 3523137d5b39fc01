//! API keys end to end with the real binary: `morn admin bootstrap` and `morn keys ...`
//! against the store a running server uses, keys authenticating `/v1`, model
//! allowlists, and revocation reaching running servers within a second — on SQLite and
//! on PostgreSQL with two replicas.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;
use support::{Morn, config_for, run_morn, start_mock};

/// Runs a `morn` subcommand with the test's config; returns stdout.
fn morn_cli(args: &[&str], config: &Path) -> anyhow::Result<String> {
    let mut full: Vec<&str> = args.to_vec();
    let config = config.to_string_lossy().into_owned();
    full.splice(1..1, ["--config", config.as_str()]);
    let (code, stdout, stderr) = run_morn(&full, &[], Path::new("/"))?;
    anyhow::ensure!(code == 0, "morn {args:?} failed ({code}): {stderr}{stdout}");
    Ok(stdout)
}

fn field<'a>(stdout: &'a str, label: &str) -> &'a str {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(label))
        .map(str::trim)
        .unwrap_or_default()
}

async fn chat(base: &str, key: &str, model: &str) -> anyhow::Result<u16> {
    let body = json!({"model": model, "messages": [{"role": "user", "content": "hi"}]});
    Ok(support::http()
        .post(format!("{base}/v1/chat/completions"))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await?
        .status()
        .as_u16())
}

/// Polls until `chat` returns `want`; the time it took.
async fn until_status(base: &str, key: &str, want: u16) -> anyhow::Result<Duration> {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(5) {
        if chat(base, key, "gpt-4o-mini").await? == want {
            return Ok(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    anyhow::bail!("never got {want}")
}

async fn exercise(morns: &[&Morn], config: &Path) -> anyhow::Result<()> {
    let boot = morn_cli(
        &[
            "admin",
            "bootstrap",
            "--email",
            "owner@example.com",
            "--org",
            "Acme",
        ],
        config,
    )?;
    let workspace = field(&boot, "workspace")
        .rsplit('(')
        .next()
        .unwrap_or_default()
        .trim_end_matches(')')
        .to_owned();
    let owner_key = field(&boot, "api key").to_owned();
    assert!(owner_key.starts_with("mk_"), "{boot}");
    assert!(!field(&boot, "password").is_empty());

    for morn in morns {
        until_status(&morn.base, &owner_key, 200).await?;
    }
    let limited = morn_cli(
        &[
            "keys",
            "create",
            "--workspace",
            &workspace,
            "--name",
            "ci",
            "--models",
            "gpt-4o-mini",
        ],
        config,
    )?;
    let limited_key = field(&limited, "key").to_owned();
    let limited_id = field(&limited, "id").to_owned();
    for morn in morns {
        until_status(&morn.base, &limited_key, 200).await?;
        assert_eq!(
            chat(&morn.base, &limited_key, "claude-sonnet-4-5").await?,
            403,
            "the allowlist holds"
        );
        assert_eq!(
            chat(
                &morn.base,
                "mk_AAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",
                "gpt-4o-mini"
            )
            .await?,
            401
        );
    }
    let listed = morn_cli(&["keys", "list", "--workspace", &workspace], config)?;
    assert!(
        listed.contains("ci") && listed.contains("models=gpt-4o-mini"),
        "{listed}"
    );
    assert!(!listed.contains(&limited_key), "lists never show secrets");

    morn_cli(&["keys", "revoke", &limited_id], config)?;
    for morn in morns {
        let took = until_status(&morn.base, &limited_key, 401).await?;
        assert!(
            took < Duration::from_secs(1),
            "revocation reached a running server in {took:?}"
        );
        assert_eq!(
            chat(&morn.base, &owner_key, "gpt-4o-mini").await?,
            200,
            "other keys still work"
        );
    }
    Ok(())
}

#[tokio::test]
async fn keys_on_sqlite() -> anyhow::Result<()> {
    let mock = start_mock().await?;
    let morn = Morn::start(&config_for(&mock, ""), &[])?;
    let config = morn.dir.path().join("cli.toml");
    let data = morn.dir.path().join("data");
    std::fs::write(
        &config,
        format!("[server]\ndata_dir = \"{}\"\n", data.display()),
    )?;
    exercise(&[&morn], &config).await
}

#[tokio::test]
async fn keys_on_postgres_across_two_replicas() -> anyhow::Result<()> {
    let admin_url = std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let db = format!("morn_cli_{}", std::process::id());
    let _ = run_morn_psql(&admin_url, &format!("DROP DATABASE IF EXISTS {db}"))?;
    let (code, _, err) = run_morn_psql(&admin_url, &format!("CREATE DATABASE {db}"))?;
    anyhow::ensure!(code == 0, "PostgreSQL must be running for this test: {err}");
    let url = admin_url
        .rsplit_once('/')
        .map(|(base, _)| format!("{base}/{db}"))
        .unwrap_or_default();
    let mock = start_mock().await?;
    let database = format!("[database]\nurl = \"{url}\"\n");
    let a = Morn::start(&config_for(&mock, &database), &[])?;
    let b = Morn::start(&config_for(&mock, &database), &[])?;
    let config = a.dir.path().join("cli.toml");
    std::fs::write(
        &config,
        format!(
            "{database}[server]\ndata_dir = \"{}\"\n",
            a.dir.path().join("data").display()
        ),
    )?;
    let result = exercise(&[&a, &b], &config).await;
    drop((a, b));
    let _ = run_morn_psql(
        &admin_url,
        &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
    );
    result
}

/// Runs SQL with `psql`.
fn run_morn_psql(url: &str, sql: &str) -> anyhow::Result<(i32, String, String)> {
    let out = std::process::Command::new("psql")
        .arg(url)
        .arg("-v")
        .arg("ON_ERROR_STOP=1")
        .arg("-c")
        .arg(sql)
        .output()?;
    Ok((
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    ))
}
