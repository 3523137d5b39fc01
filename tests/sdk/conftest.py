"""Session fixtures: a real `morn-mock` (provider simulator) and a real `morn`
gateway in front of it, both on free ports, and the official SDK clients
pointed at the gateway.

Binaries come from MORN_BIN / MORN_MOCK_BIN (default: <repo>/target/debug/...);
this suite never builds them. Each process's stderr goes to a log file in the
session's temp dir; when a test fails, the lines the gateway and the mock logged
during that test are attached to the failure report.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import anthropic
import openai
import pytest

from helpers import CLIENT_TIMEOUT, MASTER_KEY

REPO = Path(__file__).resolve().parents[2]
MORN_BIN = Path(os.environ.get("MORN_BIN", REPO / "target" / "debug" / "morn"))
MOCK_BIN = Path(os.environ.get("MORN_MOCK_BIN", REPO / "target" / "debug" / "morn-mock"))

START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen
    url: str
    log: Path
    _log_file: object = field(repr=False, default=None)

    def log_tail_since(self, offset: int, limit: int = 80) -> str:
        try:
            with open(self.log, "rb") as f:
                f.seek(offset)
                lines = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-limit:])

    def log_size(self) -> int:
        try:
            return self.log.stat().st_size
        except OSError:
            return 0


def _read_listen_line(popen: subprocess.Popen, prefix: str, log: Path, timeout: float) -> str:
    """Waits for `<prefix> listening on http://IP:PORT` on stdout; returns the URL."""
    found: dict[str, str] = {}
    seen: list[str] = []

    def reader() -> None:
        assert popen.stdout is not None
        for raw in popen.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if "url" not in found:
                seen.append(line)
                m = re.search(rf"{re.escape(prefix)} listening on (http://\S+)", line)
                if m:
                    found["url"] = m.group(1).rstrip("/")
            # Keep draining so a chatty stdout can never block the process.

    threading.Thread(target=reader, name=f"{prefix}-stdout", daemon=True).start()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if "url" in found:
            return found["url"]
        if popen.poll() is not None:
            break
        time.sleep(0.05)
    _stop(popen)
    stderr = log.read_text("utf-8", "replace") if log.exists() else ""
    pytest.exit(
        f"{prefix} did not report `{prefix} listening on ...` within {timeout}s "
        f"(exit code {popen.returncode}).\nstdout:\n" + "\n".join(seen) + f"\nstderr ({log}):\n{stderr[-8000:]}",
        returncode=3,
    )


def _inherited_env() -> dict[str, str]:
    # Morn reads every MORN_* variable as a config override and rejects unknown
    # ones, so the suite's own MORN_BIN / MORN_MOCK_BIN / MORN_VENV stay out.
    return {k: v for k, v in os.environ.items() if not k.startswith("MORN_")}


def _start(name: str, argv: list[str], tmp: Path, env: dict[str, str] | None = None) -> Proc:
    if not Path(argv[0]).is_file():
        pytest.exit(f"{name} binary not found at {argv[0]}: build it first (cargo build -p morn -p morn-mock)", returncode=3)
    log = tmp / f"{name}.stderr.log"
    log_file = open(log, "wb")
    popen = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=log_file,
        env={**_inherited_env(), **(env or {})},
        cwd=tmp,
        start_new_session=True,
    )
    url = _read_listen_line(popen, name, log, START_TIMEOUT)
    return Proc(name, popen, url, log, log_file)


def _stop(popen: subprocess.Popen) -> None:
    if popen.poll() is not None:
        return
    popen.send_signal(signal.SIGTERM)
    try:
        popen.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        popen.kill()
        popen.wait(timeout=STOP_TIMEOUT)


def _config(mock_url: str, data_dir: Path) -> str:
    return f"""\
# Written by tests/sdk/conftest.py: every adapter pointed at one morn-mock.
[server]
data_dir = "{data_dir}"
shutdown_grace_secs = 2

[log]
format = "pretty"
level = "info"

# This suite checks protocol compatibility: each upstream answer must reach the SDK
# as-is, so no retries and no circuit breaker (routing has its own Rust suite).
[routing]
retry = {{ max_attempts = 1 }}

[routing.health]
enabled = false

# First start creates an organization with an owner API key (printed on stderr), for
# the tests that need a workspace key rather than the master key (rate limits).
[bootstrap]
email = "sdk-owner@example.com"

[providers.mock_openai]
kind = "openai"
base_url = "{mock_url}/v1"
api_key = "mock-key"

[providers.mock_anthropic]
kind = "anthropic"
base_url = "{mock_url}"
api_key = "mock-key"

[providers.mock_gemini]
kind = "gemini"
base_url = "{mock_url}/v1beta"
api_key = "mock-key"

[[models]]
name = "gpt-4o-mini"
provider = "mock_openai"

[[models]]
name = "claude-sonnet-4-5"
provider = "mock_anthropic"

[[models]]
name = "gemini-2.5-flash"
provider = "mock_gemini"

[[models]]
name = "text-embedding-3-small"
provider = "mock_openai"

[[models]]
name = "gemini-embedding-001"
provider = "mock_gemini"
"""


@pytest.fixture(scope="session")
def servers(request):
    tmp = Path(tempfile.mkdtemp(prefix="morn-sdk-"))
    procs: list[Proc] = []
    try:
        mock = _start("morn-mock", [str(MOCK_BIN), "--listen", "127.0.0.1:0"], tmp)
        procs.append(mock)
        data_dir = tmp / "data"
        data_dir.mkdir()
        config = tmp / "morn.toml"
        config.write_text(_config(mock.url, data_dir))
        morn = _start(
            "morn",
            [str(MORN_BIN), "serve", "--config", str(config), "--listen", "127.0.0.1:0", "--data-dir", str(data_dir)],
            tmp,
            env={"MORN_MASTER_KEY": MASTER_KEY},
        )
        procs.append(morn)
        yield {"morn": morn, "mock": mock, "tmp": tmp}
    finally:
        for p in reversed(procs):
            _stop(p.popen)
            if p._log_file is not None:
                p._log_file.close()
        # Keep the logs and config of a failed run for a look; tidy up otherwise.
        if not request.session.testsfailed:
            shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def morn_url(servers) -> str:
    return servers["morn"].url


@pytest.fixture(scope="session")
def oai(morn_url) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{morn_url}/v1", api_key=MASTER_KEY, max_retries=0, timeout=CLIENT_TIMEOUT)


@pytest.fixture(scope="session")
def ant(morn_url) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=morn_url, api_key=MASTER_KEY, max_retries=0, timeout=CLIENT_TIMEOUT)


# --- attach the servers' logs from the failing test to its report -------------

_LOG_OFFSETS = pytest.StashKey[dict]()


@pytest.fixture(autouse=True)
def _mark_log_offsets(request, servers):
    request.node.stash[_LOG_OFFSETS] = {name: servers[name].log_size() for name in ("morn", "mock")}
    yield


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call" and report.failed:
        offsets = item.stash.get(_LOG_OFFSETS, None)
        servers = item.funcargs.get("servers") if hasattr(item, "funcargs") else None
        if offsets and servers:
            for name in ("morn", "mock"):
                tail = servers[name].log_tail_since(offsets[name])
                if tail:
                    report.sections.append((f"{name} stderr during this test", tail))
            report.sections.append(("morn-sdk files (config, full logs; kept after a failed run)", str(servers["tmp"])))
    return report
