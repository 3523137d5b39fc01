//! `morn config check`: every problem, with its location, in one run.

mod support;

use support::run_morn;

#[test]
fn a_good_file_passes() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/simulated.toml");
    let (code, stdout, _) = run_morn(&["config", "check", example], &[], dir.path())?;
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("OK (3 providers, 5 models)"), "{stdout}");
    Ok(())
}

#[test]
fn reports_every_problem_with_its_line() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        r#"[server]
listen = "not-an-address"
colour = "blue"

[providers.openai]
kind = "openai"
api_key = { env = "TEST_SURELY_UNSET_VAR" }
base_ur1 = "https://example.com"

[[models]]
name = "gpt-4o"
provider = "openai"

[[models]]
name = "claude"
provider = "anthropic"
"#,
    )?;
    let file = path.to_string_lossy().into_owned();
    let (code, stdout, _) = run_morn(&["config", "check", &file], &[], dir.path())?;
    assert_eq!(code, 1, "{stdout}");
    let expect = [
        format!("{file}:3: `server.colour`: unknown key"),
        format!("{file}:8: `providers.openai.base_ur1`: unknown key"),
        format!("{file}:2: `server.listen`: `not-an-address` is not an address"),
        format!(
            "{file}:7: `providers.openai.api_key`: environment variable `TEST_SURELY_UNSET_VAR` is not set"
        ),
        format!("{file}:16: `models[1].provider`: no provider named `anthropic`"),
    ];
    for line in &expect {
        assert!(
            stdout.contains(line.as_str()),
            "missing {line:?} in:\n{stdout}"
        );
    }
    assert!(stdout.contains("5 problems found"), "{stdout}");
    Ok(())
}

#[test]
fn reports_type_errors_and_bad_toml() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("types.toml");
    std::fs::write(&path, "[server]\nshutdown_grace_secs = \"soon\"\n")?;
    let (code, stdout, _) = run_morn(
        &["config", "check", &path.to_string_lossy()],
        &[],
        dir.path(),
    )?;
    assert_eq!(code, 1);
    assert!(stdout.contains("`server.shutdown_grace_secs`"), "{stdout}");

    std::fs::write(&path, "[server\nlisten = 1\n")?;
    let (code, stdout, _) = run_morn(
        &["config", "check", &path.to_string_lossy()],
        &[],
        dir.path(),
    )?;
    assert_eq!(code, 1);
    assert!(stdout.contains(":1: invalid TOML"), "{stdout}");
    Ok(())
}

#[test]
fn unknown_environment_keys_are_errors_too() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/simulated.toml");
    let (code, stdout, _) = run_morn(
        &["config", "check", example],
        &[("MORN_SERVER__LISTN", "x")],
        dir.path(),
    )?;
    assert_eq!(code, 1);
    assert!(
        stdout.contains("environment variable MORN_SERVER__LISTN: `server.listn`: unknown key"),
        "{stdout}"
    );
    Ok(())
}

#[test]
fn the_real_providers_example_is_valid_once_keys_are_set() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/providers.toml");
    let (code, stdout, _) = run_morn(&["config", "check", example], &[], dir.path())?;
    assert_eq!(code, 1, "missing keys are reported: {stdout}");
    assert!(
        stdout.contains("environment variable `OPENAI_API_KEY` is not set"),
        "{stdout}"
    );
    let keys = [
        ("OPENAI_API_KEY", "a"),
        ("ANTHROPIC_API_KEY", "b"),
        ("GEMINI_API_KEY", "c"),
        ("OPENROUTER_API_KEY", "d"),
    ];
    let (code, stdout, _) = run_morn(&["config", "check", example], &keys, dir.path())?;
    assert_eq!(code, 0, "{stdout}");
    assert!(!stdout.contains("\"a\""), "secret values are never printed");
    Ok(())
}

#[test]
fn the_routing_example_is_valid() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/routing.toml");
    let (code, stdout, _) = run_morn(&["config", "check", example], &[], dir.path())?;
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("OK (3 providers, 4 models)"), "{stdout}");
    Ok(())
}

#[test]
fn routing_mistakes_are_reported() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("routing.toml");
    std::fs::write(
        &path,
        r#"[providers.p]
kind = "openai"

[routing]
strategy = "fastest"

[[models]]
name = "a"
provider = "p"
fallbacks = { unavailable = ["nowhere"], rate_limited = ["a"] }

[[models.deployments]]
provider = "p"

[[models]]
name = "b"

[[models]]
name = "c*"
provider = "p"
"#,
    )?;
    let (code, stdout, _) = run_morn(
        &["config", "check", &path.to_string_lossy()],
        &[],
        dir.path(),
    )?;
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("`routing.strategy`: unknown variant `fastest`"),
        "{stdout}"
    );
    Ok(())
}

#[test]
fn routing_semantic_mistakes_are_all_reported() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("routing.toml");
    std::fs::write(
        &path,
        r#"[providers.p]
kind = "openai"

[[models]]
name = "a"
provider = "p"
fallbacks = { unavailable = ["nowhere"], rate_limited = ["a"] }

[[models.deployments]]
provider = "p"

[[models]]
name = "b"

[[models]]
name = "c*"
provider = "p"

[[models]]
name = "d"

[[models.deployments]]
provider = "q"
weight = 0
"#,
    )?;
    let (code, stdout, _) = run_morn(
        &["config", "check", &path.to_string_lossy()],
        &[],
        dir.path(),
    )?;
    assert_eq!(code, 1, "{stdout}");
    for expected in [
        "`models[0].provider`: give either `provider`",
        "`models[0].fallbacks.unavailable`: no model named `nowhere`",
        "`models[0].fallbacks.rate_limited`: a model cannot fall back to itself",
        "`models[1]`: needs a `provider` or at least one `[[models.deployments]]`",
        "`models[2].name`: a wildcard must be a prefix ending in `/*`",
        "`models[3].deployments[0].provider`: no provider named `q`",
        "`models[3].deployments`: at least one deployment needs a weight above 0",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
    Ok(())
}

#[test]
fn reports_timeouts_of_zero() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("timeouts.toml");
    let file = path.to_string_lossy().into_owned();
    std::fs::write(
        &path,
        "[server]\nidle_timeout_secs = 0\nread_timeout_secs = 0\n",
    )?;
    let (code, stdout, _) = run_morn(&["config", "check", &file], &[], dir.path())?;
    assert_eq!(code, 1, "{stdout}");
    for (line, key) in [(2, "idle_timeout_secs"), (3, "read_timeout_secs")] {
        let expect = format!("{file}:{line}: `server.{key}`: must be at least 1");
        assert!(stdout.contains(&expect), "missing {expect:?} in:\n{stdout}");
    }
    Ok(())
}
