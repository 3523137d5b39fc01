#!/usr/bin/env python3
"""Morn chaos benchmark: steady load while the upstreams are killed and restarted.

For each variant (non-streamed chat, streamed chat, streamed chat with
`continue_on_failure = true`) this starts two simulators A and B on fixed ports and a
Morn whose model `chaos` has one deployment on each (equal weights, weighted_random,
breaker opens after 3 consecutive failures, 1 s cooldown, 3 attempts, 2 s ttfb
timeout). Closed-loop Python workers (one keep-alive connection each) drive load
through Morn for MORN_CHAOS_SECS while a chaos schedule SIGKILLs A, restarts it on the
same port, then does the same to B:

    t = 8/30, 16/30, 22/30, 28/30 of the run:  kill A, restart A, kill B, restart B

Every request is recorded (start, time to response headers, end, status, whether the
body was complete and had the expected text, x-morn-deployment, x-morn-attempts) and
Morn's health endpoint is sampled after every event. Writes
bench/chaos/results/latest.md and bench/chaos/results/latest.json.

Only the Python standard library. Builds nothing: the release binaries of morn and
morn-mock must exist (cargo build --release -p morn -p morn-mock).

Environment knobs (defaults in brackets):
  MORN_CHAOS_SECS          length of one variant's run, the schedule scales with it [30]
  MORN_CHAOS_CONC          closed-loop workers [16]
  MORN_CHAOS_VARIANTS      comma-separated of chat,stream,stream_cof [chat,stream,stream_cof]
  MORN_CHAOS_TTFB_MS       simulator delay before the answer [20]
  MORN_CHAOS_CHUNKS        stream: text deltas per answer [20]
  MORN_CHAOS_GAP_MS        stream: pause between stream events [10]
  MORN_CHAOS_MAX_COOLDOWN  breaker max_cooldown_secs [unset: Morn's default, 60]
  MORN_CHAOS_OUT           report directory [bench/chaos/results]
  CARGO_TARGET_DIR         where the release binaries are [<repo>/target]
"""

import gzip
import http.client
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target"))
MORN = os.path.join(TARGET, "release", "morn")
MOCK = os.path.join(TARGET, "release", "morn-mock")

SECS = float(os.environ.get("MORN_CHAOS_SECS", "30"))
CONC = int(os.environ.get("MORN_CHAOS_CONC", "16"))
VARIANTS = [v for v in os.environ.get("MORN_CHAOS_VARIANTS", "chat,stream,stream_cof").split(",") if v]
TTFB_MS = int(os.environ.get("MORN_CHAOS_TTFB_MS", "20"))
CHUNKS = int(os.environ.get("MORN_CHAOS_CHUNKS", "20"))
GAP_MS = int(os.environ.get("MORN_CHAOS_GAP_MS", "10"))
MAX_COOLDOWN = os.environ.get("MORN_CHAOS_MAX_COOLDOWN", "")
OUT = os.environ.get("MORN_CHAOS_OUT", os.path.join(HERE, "results"))

MASTER_KEY = "sk-chaos-master"
MODEL = "chaos"
DEP = {"a": "a/chaos", "b": "b/chaos"}
# Fractions of the run at which the events happen (8, 16, 22, 28 s of 30 s).
SCHEDULE = [("kill", "a", 8 / 30), ("restart", "a", 16 / 30), ("kill", "b", 22 / 30), ("restart", "b", 28 / 30)]
PHASES = ["steady", "A down", "A back", "B down", "B back"]
SPIKE_WINDOW = 1.0
REQUEST_TIMEOUT = 20.0

DESCRIPTION = {
    "chat": "non-streamed chat completions",
    "stream": "streamed chat completions, continue_on_failure = false",
    "stream_cof": "streamed chat completions, continue_on_failure = true",
}


def log(msg):
    print(f"[chaos {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def die(msg):
    print(f"error: {msg}", file=sys.stderr)
    sys.exit(1)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def drain(stream, path):
    """Copies a child's remaining stdout to a file so its pipe never fills."""
    def run():
        with open(path, "a") as f:
            for line in stream:
                f.write(line)
    threading.Thread(target=run, daemon=True).start()


def wait_line(proc, prefix, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            if proc.poll() is not None:
                raise RuntimeError(f"process exited with {proc.returncode} before printing {prefix!r}")
            continue
        if line.startswith(prefix):
            return line.strip()
    raise RuntimeError(f"no {prefix!r} line within {timeout}s")


def start_mock(port, logdir, name, attempts=50):
    """Starts a simulator on a fixed port; retries while the port is still held."""
    for i in range(attempts):
        err = open(os.path.join(logdir, f"mock-{name}.log"), "a")
        p = subprocess.Popen([MOCK, "--listen", f"127.0.0.1:{port}"], stdout=subprocess.PIPE,
                             stderr=err, text=True)
        try:
            wait_line(p, "morn-mock listening on", timeout=10)
            drain(p.stdout, os.path.join(logdir, f"mock-{name}.out"))
            return p, i + 1
        except RuntimeError:
            p.kill()
            p.wait()
            time.sleep(0.05)
    raise RuntimeError(f"simulator {name} could not listen on port {port}")


def stop(proc):
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


MORN_CONF = """\
[server]
listen = "127.0.0.1:{port}"
data_dir = "{data}"

[log]
level = "warn"

[providers.a]
kind = "openai"
base_url = "http://127.0.0.1:{port_a}/v1"
api_key = "mock-key"

[providers.b]
kind = "openai"
base_url = "http://127.0.0.1:{port_b}/v1"
api_key = "mock-key"

[routing]
strategy = "weighted_random"
retry = {{ max_attempts = 3, base_backoff_ms = 100, max_backoff_ms = 2000 }}
timeouts = {{ ttfb_secs = 2, idle_secs = 10, total_secs = 30 }}

[routing.health]
enabled = true
consecutive_failures = 3
cooldown_secs = 1
{max_cooldown}
[[models]]
name = "{model}"
strategy = "weighted_random"
continue_on_failure = {cof}

[[models.deployments]]
provider = "a"
weight = 1

[[models.deployments]]
provider = "b"
weight = 1
"""


def morn_env():
    # Morn rejects unknown MORN_* variables: hand it none but its own.
    env = {k: v for k, v in os.environ.items() if not k.startswith("MORN_")}
    env["MORN_MASTER_KEY"] = MASTER_KEY
    return env


def start_morn(tmp, logdir, port, port_a, port_b, cof):
    data = os.path.join(tmp, "data")
    os.makedirs(data, exist_ok=True)
    conf = os.path.join(tmp, "morn.toml")
    with open(conf, "w") as f:
        f.write(MORN_CONF.format(port=port, data=data, port_a=port_a, port_b=port_b, model=MODEL,
                                 cof="true" if cof else "false",
                                 max_cooldown=f"max_cooldown_secs = {MAX_COOLDOWN}\n" if MAX_COOLDOWN else ""))
    err = open(os.path.join(logdir, "morn.log"), "w")
    p = subprocess.Popen([MORN, "serve", "--config", conf, "--listen", f"127.0.0.1:{port}",
                          "--data-dir", data], stdout=subprocess.PIPE, stderr=err, text=True,
                         env=morn_env())
    wait_line(p, "morn listening on", timeout=60)
    drain(p.stdout, os.path.join(logdir, "morn.out"))
    return p, conf


def health(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        c.request("GET", "/api/v1/admin/deployments", headers={"authorization": f"Bearer {MASTER_KEY}"})
        r = c.getresponse()
        body = r.read()
        if r.status != 200:
            return {"error": f"{r.status} {body[:200]!r}"}
        keep = ("deployment", "state", "consecutive_failures", "cooldown_remaining_ms", "outstanding",
                "total_requests", "total_failures", "requests_in_window", "errors_in_window", "last_error")
        return {d["deployment"]: {k: d.get(k) for k in keep} for d in json.loads(body)["data"]}
    except Exception as e:  # noqa: BLE001 - a snapshot failing is itself a finding
        return {"error": repr(e)}
    finally:
        c.close()


# ---------------------------------------------------------------------------- load

def request_body(stream):
    directive = {"words": 20, "ttfb_ms": TTFB_MS}
    if stream:
        directive.update(chunks=CHUNKS, chunk_gap_ms=GAP_MS)
    text = "#mock" + json.dumps(directive, separators=(",", ":")) + " Tell me how a gateway survives an upstream outage."
    body = {"model": MODEL, "messages": [{"role": "user", "content": text}], "max_tokens": 64}
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return json.dumps(body, separators=(",", ":")).encode()


def parse_stream(raw):
    """(text, saw_done, error_object_or_None, parse_problem_or_None) of an OpenAI SSE body."""
    text, done, error, problem = [], False, None, None
    for event in raw.decode("utf-8", "replace").replace("\r\n", "\n").split("\n\n"):
        for line in event.split("\n"):
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                done = True
                continue
            if done:
                problem = "data after [DONE]"
            try:
                obj = json.loads(data)
            except ValueError:
                problem = f"malformed chunk {data[:80]!r}"
                continue
            if "error" in obj:
                error = obj["error"]
                continue
            for ch in obj.get("choices") or []:
                t = (ch.get("delta") or {}).get("content")
                if t:
                    text.append(t)
    return "".join(text), done, error, problem


def parse_chat(raw):
    """(text, error_object_or_None, problem_or_None) of a non-streamed answer."""
    try:
        obj = json.loads(raw)
    except ValueError:
        return "", None, f"not JSON: {raw[:80]!r}"
    if "error" in obj:
        return "", obj["error"], None
    choices = obj.get("choices")
    if not choices:
        return "", None, "no choices"
    return choices[0].get("message", {}).get("content") or "", None, None


def one_request(conn, body, stream):
    """Sends one request on a keep-alive connection. Returns a record (times absolute)."""
    rec = {"start": time.monotonic()}
    try:
        conn.request("POST", "/v1/chat/completions", body=body, headers={
            "content-type": "application/json", "authorization": f"Bearer {MASTER_KEY}"})
        resp = conn.getresponse()
        rec["headers"] = time.monotonic()
        rec["status"] = resp.status
        rec["deployment"] = resp.getheader("x-morn-deployment")
        attempts = resp.getheader("x-morn-attempts")
        rec["attempts"] = int(attempts) if attempts and attempts.isdigit() else None
        raw = resp.read()
        rec["end"] = time.monotonic()
        if stream and resp.status == 200:
            text, done, error, problem = parse_stream(raw)
            rec.update(text=text, done=done, error=error, problem=problem)
        else:
            text, error, problem = parse_chat(raw)
            rec.update(text=text, done=None, error=error, problem=problem)
            if resp.status != 200:
                rec["body"] = raw[:500].decode("utf-8", "replace")
                rec["retry_after"] = resp.getheader("retry-after")
        if resp.getheader("connection", "").lower() == "close":
            conn.close()
    except Exception as e:  # noqa: BLE001 - every failure is a client-visible error
        rec.setdefault("headers", None)
        rec["end"] = time.monotonic()
        rec.setdefault("status", 0)
        rec["transport_error"] = repr(e)[:300]
        conn.close()
    return rec


def classify(rec, stream, expected):
    """None when the client got a complete, correct answer; otherwise a short reason."""
    if rec.get("transport_error"):
        return "transport" if rec.get("status", 0) == 0 else "body_read_failed"
    if rec["status"] != 200:
        return f"http_{rec['status']}"
    if rec.get("problem"):
        return "malformed"
    if rec.get("error"):
        return "error_event" if rec.get("text") else "error_event_before_text"
    if stream and not rec.get("done"):
        return "no_done"
    if expected is not None and rec.get("text") != expected:
        return "wrong_text"
    return None


def worker(port, body, stream, stop_at, out):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    while time.monotonic() < stop_at:
        out.append(one_request(conn, body, stream))
    conn.close()


# ---------------------------------------------------------------------------- one variant

def run_variant(variant, logroot):
    stream = variant != "chat"
    cof = variant == "stream_cof"
    logdir = os.path.join(logroot, variant)
    os.makedirs(logdir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f"morn-chaos-{variant}-")
    port_a, port_b, port_m = free_port(), free_port(), free_port()
    procs = {}
    morn = None
    try:
        procs["a"], _ = start_mock(port_a, logdir, "a")
        procs["b"], _ = start_mock(port_b, logdir, "b")
        morn, _ = start_morn(tmp, logdir, port_m, port_a, port_b, cof)
        body = request_body(stream)

        # The expected answer: the simulator is deterministic, so every request of the
        # run must get exactly this text (a continued stream included).
        warm = http.client.HTTPConnection("127.0.0.1", port_m, timeout=REQUEST_TIMEOUT)
        expected = None
        served = set()
        for _ in range(20):
            r = one_request(warm, body, stream)
            if r.get("status") != 200 or classify(r, stream, None):
                die(f"{variant}: warm-up request failed: {r}")
            if expected is None:
                expected = r["text"]
            elif r["text"] != expected:
                die(f"{variant}: the simulator's answer is not deterministic: {expected!r} vs {r['text']!r}")
            served.add(r["deployment"])
        warm.close()
        log(f"{variant}: warm-up ok, served by {sorted(served)}; expected answer {len(expected)} chars")

        records = []
        per_worker = [[] for _ in range(CONC)]
        t0 = time.monotonic()
        stop_at = t0 + SECS
        threads = [threading.Thread(target=worker, args=(port_m, body, stream, stop_at, per_worker[i]), daemon=True)
                   for i in range(CONC)]
        for t in threads:
            t.start()

        events, snapshots = [], []

        def snap(label):
            snapshots.append({"t": round(time.monotonic() - t0, 3), "label": label, "health": health(port_m)})

        snap("start")
        for i, (action, name, frac) in enumerate(SCHEDULE):
            at = t0 + frac * SECS
            # A snapshot just before the event: the state the event found.
            pre = at - 0.25
            if time.monotonic() < pre:
                time.sleep(pre - time.monotonic())
            snap(f"before {action} {name.upper()}")
            if time.monotonic() < at:
                time.sleep(at - time.monotonic())
            ev = {"action": action, "target": name.upper(), "t": round(time.monotonic() - t0, 4)}
            if action == "kill":
                procs[name].send_signal(signal.SIGKILL)
                procs[name].wait()
                ev["t_done"] = round(time.monotonic() - t0, 4)
            else:
                procs[name], tries = start_mock(port_a if name == "a" else port_b, logdir, name)
                ev["t_done"] = round(time.monotonic() - t0, 4)  # listening again
                ev["bind_tries"] = tries
            events.append(ev)
            log(f"{variant}: t={ev['t']:.2f}s {action} {name.upper()} (done at {ev['t_done']:.2f}s)")
            after = at + 0.5
            if time.monotonic() < after:
                time.sleep(after - time.monotonic())
            snap(f"{action} {name.upper()} +0.5s")
        for t in threads:
            t.join(timeout=REQUEST_TIMEOUT + 5)
        t_end = time.monotonic() - t0
        snap("end")
        for w in per_worker:
            records.extend(w)
        for r in records:
            for k in ("start", "headers", "end"):
                if r.get(k) is not None:
                    r[k] = round(r[k] - t0, 4)
            r["failure"] = classify(r, stream, expected)
        records.sort(key=lambda r: r["start"])
        return {"variant": variant, "description": DESCRIPTION[variant], "stream": stream,
                "continue_on_failure": cof, "ports": {"a": port_a, "b": port_b, "morn": port_m},
                "expected_text": expected, "duration_s": round(t_end, 3), "events": events,
                "snapshots": snapshots, "records": records}
    finally:
        for p in procs.values():
            stop(p)
        stop(morn)
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------------------- analysis

def pct(values, p):
    if not values:
        return None
    v = sorted(values)
    k = min(len(v) - 1, max(0, int(round(p / 100 * len(v) + 0.5)) - 1))
    return v[k]


def lat_stats(recs):
    lats = [(r["end"] - r["start"]) * 1000 for r in recs]
    return {"p50_ms": pct(lats, 50), "p99_ms": pct(lats, 99), "max_ms": max(lats) if lats else None}


def summarize(run):
    recs = run["records"]
    ev = run["events"]
    bounds = [0.0] + [e["t"] for e in ev] + [float("inf")]
    phases = []
    for i, name in enumerate(PHASES):
        lo, hi = bounds[i], bounds[i + 1]
        # By completion time: a request in flight at an event counts in the phase
        # after it, where its failure or its failover delay shows.
        ps = [r for r in recs if lo <= r["end"] < hi]
        errs = [r for r in ps if r["failure"]]
        ok = [r for r in ps if not r["failure"]]
        by = {k: sum(1 for r in ok if r.get("deployment") == d) for k, d in DEP.items()}
        retried = sum(1 for r in ok if (r.get("attempts") or 1) > 1)
        phases.append({"phase": name, "from_s": lo, "to_s": None if hi == float("inf") else hi,
                       "requests": len(ps), "errors": len(errs),
                       "error_rate": len(errs) / len(ps) if ps else 0.0,
                       "failures": count_by(errs, "failure"),
                       "first_error_s": min((r["end"] for r in errs), default=None),
                       "last_error_s": max((r["end"] for r in errs), default=None),
                       **lat_stats(ps), "served_a": by["a"], "served_b": by["b"], "retried_ok": retried})
    spikes = []
    for e in ev:
        win = [r for r in recs if e["t"] <= r["end"] < e["t"] + SPIKE_WINDOW]
        spikes.append({"event": f"{e['action']} {e['target']}", "t": e["t"], "requests": len(win),
                       "errors": sum(1 for r in win if r["failure"]), **lat_stats(win)})
    # Back in rotation: the first request whose response came from the restarted
    # simulator after it was listening again.
    recovery = {}
    for e in ev:
        if e["action"] != "restart":
            continue
        dep = DEP[e["target"].lower()]
        first = next((r for r in sorted(recs, key=lambda r: r["headers"] or 1e9)
                      if r.get("deployment") == dep and r["headers"] is not None and r["headers"] >= e["t_done"]), None)
        recovery[e["target"]] = {"listening_at_s": e["t_done"],
                                 "first_served_at_s": first["headers"] if first else None,
                                 "delay_s": round(first["headers"] - e["t_done"], 3) if first else None}
    # Requests in flight on the killed simulator: started before the kill, finished after.
    inflight = {}
    for e in ev:
        if e["action"] != "kill":
            continue
        dep = DEP[e["target"].lower()]
        fl = [r for r in recs if r["start"] < e["t_done"] and r["end"] >= e["t"]]
        # A stream whose headers came from the killed simulator before the kill had
        # already sent output: it could only be continued, not retried.
        on_victim = [r for r in fl if r.get("deployment") == dep and r["headers"] is not None and r["headers"] < e["t"]]
        rerouted = [r for r in fl if (r.get("attempts") or 1) > 1 and r.get("deployment") != dep]
        broken = [r for r in on_victim if r["failure"]]
        inflight[e["target"]] = {
            "in_flight_total": len(fl),
            "in_flight_errors": sum(1 for r in fl if r["failure"]),
            "rerouted_invisibly": sum(1 for r in rerouted if not r["failure"]),
            "answering_from_victim": len(on_victim),
            "answering_from_victim_broken": len(broken),
            "answering_from_victim_completed": len(on_victim) - len(broken),
            "broken_failures": count_by(broken, "failure"),
        }
    total = len(recs)
    errs = [r for r in recs if r["failure"]]
    broken_mid = [r for r in errs if r["failure"] == "error_event"]
    # A stream already answering from a simulator when it was killed: its output
    # reached the client, so without continue_on_failure it can only end with an error.
    kills = [(e["t"], DEP[e["target"].lower()]) for e in ev if e["action"] == "kill"]
    def cut_by_kill(r):
        return r["failure"] == "error_event" and any(
            r.get("deployment") == dep and r["headers"] is not None and r["headers"] < t <= r["end"] <= t + 1.0
            for t, dep in kills)
    cut = [r for r in errs if cut_by_kill(r)]
    # The schedule never has both simulators down, so every other error happened
    # while a live simulator could have answered.
    other = [r for r in errs if not cut_by_kill(r)]
    for r in errs:
        r["cut_by_kill"] = cut_by_kill(r)
    return {"requests": total, "errors": len(errs), "error_rate": len(errs) / total if total else 0.0,
            "failures": count_by(errs, "failure"), "streams_broken_mid_answer": len(broken_mid),
            "cut_mid_answer_by_kill": len(cut), "errors_with_live_alternative": len(other),
            "errors_with_live_alternative_window_s": [min((r["end"] for r in other), default=None),
                                                      max((r["end"] for r in other), default=None)],
            "errors_by_code": count_by([dict(r, code=err_code(r)) for r in errs], "code"),
            "rps": total / run["duration_s"] if run["duration_s"] else 0.0,
            "phases": phases, "spikes": spikes, "recovery": recovery, "in_flight_at_kill": inflight,
            "errors_detail": sample_errors(errs)}


def err_code(r):
    e = r.get("error")
    if isinstance(e, dict) and e.get("code"):
        return f"{r['status']} {e['code']}"
    if r.get("transport_error"):
        return f"{r['status']} transport"
    return f"{r['status']} {r['failure']}"


def sample_errors(errs, per_kind=20):
    """Every stream cut by a kill, and the first `per_kind` errors of every other code
    (a closed loop against a fast 503 makes thousands of identical ones)."""
    out, seen = [], {}
    for r in sorted(errs, key=lambda r: r["end"]):
        k = err_code(r)
        seen[k] = seen.get(k, 0) + 1
        if r.get("cut_by_kill") or seen[k] <= per_kind:
            out.append(slim(r))
    return out


def count_by(recs, key):
    out = {}
    for r in recs:
        out[r[key]] = out.get(r[key], 0) + 1
    return out


def slim(r):
    keep = ("start", "headers", "end", "status", "deployment", "attempts", "failure", "transport_error", "problem",
            "error", "body", "retry_after", "done", "cut_by_kill")
    d = {k: r.get(k) for k in keep if r.get(k) is not None}
    if r.get("text") is not None:
        d["text_chars"] = len(r["text"])
    return d


# ---------------------------------------------------------------------------- report

def machine():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            mem = f"{int(f.readline().split()[1]) / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "memory": mem, "kernel": platform.release(),
            "python": platform.python_version(), "loadavg_at_start": os.getloadavg()}


def git_commit():
    try:
        c = subprocess.run(["git", "-C", REPO, "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--", "crates"], capture_output=True, text=True).stdout.strip()
        return c + (" (crates/ modified)" if dirty else "")
    except OSError:
        return "unknown"


def ms(v):
    return "–" if v is None else f"{v:.0f}"


def render(meta, results):
    L = []
    L.append("# Morn chaos benchmark: failover under steady load\n")
    L.append(f"- date: {meta['date']}")
    L.append(f"- commit: {meta['commit']}")
    m = meta["machine"]
    L.append(f"- machine: {m['cpu']}, {m['cores']} cores, {m['memory']}, Linux {m['kernel']}, Python {m['python']}; "
             f"load average at start {', '.join(f'{x:.1f}' for x in m['loadavg_at_start'])} (shared machine)")
    L.append(f"- command: `{meta['command']}`")
    L.append(f"- binaries: {meta['binaries']}")
    L.append(f"- load: {meta['conc']} closed-loop workers (Python, one keep-alive connection each), {meta['secs']:.0f} s per variant; "
             f"simulator ttfb {meta['ttfb_ms']} ms, 20-token answers; streams in {meta['chunks']} deltas {meta['gap_ms']} ms apart")
    L.append(f"- Morn: model `chaos` = deployments a/chaos (simulator A) + b/chaos (simulator B), weight 1 each, weighted_random; "
             f"retry max_attempts 3; ttfb timeout 2 s; breaker consecutive_failures 3, cooldown_secs 1, "
             f"max_cooldown_secs {meta['max_cooldown'] or '60 (default)'}")
    L.append(f"- schedule (s): kill A {meta['schedule'][0]:.1f}, restart A {meta['schedule'][1]:.1f}, "
             f"kill B {meta['schedule'][2]:.1f}, restart B {meta['schedule'][3]:.1f}; SIGKILL, restart on the same port")
    L.append("- an error is anything a client would notice: a transport error, a non-200 status, a body that is not "
             "a complete answer (no `data: [DONE]`, an error chunk, a malformed chunk), or text different from the "
             "simulator's deterministic answer")
    L.append("- requests are assigned to a phase by the time they completed\n")

    L.append("## Summary\n")
    L.append("| variant | requests | req/s | client-visible errors | error rate | streams cut mid-answer by a kill | "
             "other errors (a live simulator existed) | when (s) | errors by status and code |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---|---|")
    for r in results:
        s = r["summary"]
        kinds = ", ".join(f"{k}: {v}" for k, v in sorted(s["errors_by_code"].items())) or "–"
        lo, hi = s["errors_with_live_alternative_window_s"]
        when = "–" if lo is None else f"{lo:.2f}–{hi:.2f}"
        L.append(f"| {r['variant']} ({r['description']}) | {s['requests']} | {s['rps']:.0f} | {s['errors']} | "
                 f"{100 * s['error_rate']:.2f}% | {s['cut_mid_answer_by_kill'] if r['stream'] else '–'} | "
                 f"{s['errors_with_live_alternative']} | {when} | {kinds} |")
    L.append("")
    L.append("The request count includes every fast error: a closed-loop worker that gets an immediate 503 sends its "
             "next request at once, so during an outage the error *count* measures the client's speed; the *window* "
             "is the figure that matters.\n")

    for r in results:
        s = r["summary"]
        L.append(f"## {r['variant']}: {r['description']}\n")
        L.append("Events: " + "; ".join(
            f"{e['action']} {e['target']} at {e['t']:.2f} s" + (f" (listening at {e['t_done']:.2f} s)" if e["action"] == "restart" else "")
            for e in r["events"]) + "\n")
        L.append("| phase | window (s) | requests | errors | error rate | errors between (s) | p50 ms | p99 ms | max ms | served by A | served by B | needed >1 attempt |")
        L.append("|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|")
        for p in s["phases"]:
            to = "end" if p["to_s"] is None else f"{p['to_s']:.1f}"
            win = f"{p['from_s']:.1f}–{to}"
            okn = p["served_a"] + p["served_b"]
            share = (lambda n: f"{n} ({100 * n / okn:.0f}%)" if okn else str(n))
            ew = "–" if p["first_error_s"] is None else f"{p['first_error_s']:.2f}–{p['last_error_s']:.2f}"
            L.append(f"| {p['phase']} | {win} | {p['requests']} | {p['errors']} | {100 * p['error_rate']:.2f}% | {ew} | "
                     f"{ms(p['p50_ms'])} | {ms(p['p99_ms'])} | {ms(p['max_ms'])} | {share(p['served_a'])} | "
                     f"{share(p['served_b'])} | {p['retried_ok']} |")
        L.append("")
        L.append(f"Latency in the {SPIKE_WINDOW:.0f} s after each event (requests completing then):\n")
        L.append("| event | requests | errors | p50 ms | p99 ms | max ms |")
        L.append("|---|---:|---:|---:|---:|---:|")
        for sp in s["spikes"]:
            L.append(f"| {sp['event']} at {sp['t']:.2f} s | {sp['requests']} | {sp['errors']} | {ms(sp['p50_ms'])} | "
                     f"{ms(sp['p99_ms'])} | {ms(sp['max_ms'])} |")
        L.append("")
        L.append("Back in rotation after restart (first response from the restarted simulator):\n")
        for name, rc in s["recovery"].items():
            if rc["first_served_at_s"] is None:
                L.append(f"- {name}: listening at {rc['listening_at_s']:.2f} s; took no traffic before the run ended")
            else:
                L.append(f"- {name}: listening at {rc['listening_at_s']:.2f} s, first answer at {rc['first_served_at_s']:.2f} s "
                         f"(**{rc['delay_s']:.2f} s** later)")
        L.append("")
        L.append("Requests in flight when a simulator was killed:\n")
        for name, f in s["in_flight_at_kill"].items():
            line = (f"- kill {name}: {f['in_flight_total']} in flight, {f['in_flight_errors']} of them failed for the client; "
                    f"{f['rerouted_invisibly']} answered by the other simulator after a failed attempt")
            if r["stream"]:
                line += (f"; {f['answering_from_victim']} streams were already answering from {name} "
                         f"(headers and output sent): {f['answering_from_victim_broken']} **broken mid-answer by the kill**, "
                         f"{f['answering_from_victim_completed']} completed")
                if f["answering_from_victim_completed"] and r["continue_on_failure"]:
                    line += " (continued on the other simulator, text checked equal to the unbroken answer)"
            L.append(line)
        L.append("")
        L.append("Morn's deployment health (`GET /api/v1/admin/deployments`):\n")
        L.append("| when (s) | snapshot | a/chaos | b/chaos |")
        L.append("|---:|---|---|---|")
        for sn in r["snapshots"]:
            h = sn["health"]
            if "error" in h:
                L.append(f"| {sn['t']:.2f} | {sn['label']} | {h['error']} | |")
                continue
            cells = []
            for d in ("a/chaos", "b/chaos"):
                x = h.get(d, {})
                c = f"{x.get('state')}, fails in a row {x.get('consecutive_failures')}"
                if x.get("cooldown_remaining_ms"):
                    c += f", cooldown {x['cooldown_remaining_ms']} ms"
                c += f", {x.get('total_failures')}/{x.get('total_requests')} failed"
                if x.get("last_error"):
                    c += f", last `{x['last_error']}`"
                cells.append(c)
            L.append(f"| {sn['t']:.2f} | {sn['label']} | {cells[0]} | {cells[1]} |")
        L.append("")
        if s["errors_detail"]:
            L.append(f"Client-visible errors: {s['errors']} ("
                     + ", ".join(f"{k}: {v}" for k, v in sorted(s["errors_by_code"].items()))
                     + "). Every stream cut by a kill and the first 3 of every other code (more in latest.json):\n")
            L.append("| start s | headers s | end s | status | deployment | attempts | kind | detail |")
            L.append("|---:|---:|---:|---:|---|---:|---|---|")
            shown = {}
            for e in s["errors_detail"]:
                k = (e["status"], e["failure"], json.dumps(e.get("error"))[:60] if e.get("error") else e.get("body", "")[:60])
                shown[k] = shown.get(k, 0) + 1
                if not e.get("cut_by_kill") and shown[k] > 3:
                    continue
                detail = e.get("transport_error") or e.get("problem") or json.dumps(e.get("error") or e.get("body"))[:160]
                if e.get("retry_after"):
                    detail = f"retry-after {e['retry_after']}: {detail}"
                if e.get("text_chars") and e["status"] == 200:
                    detail = f"{e['text_chars']} chars of text, then {detail}"
                hd = "–" if e.get("headers") is None else f"{e['headers']:.3f}"
                L.append(f"| {e['start']:.3f} | {hd} | {e['end']:.3f} | "
                         f"{e['status']} | {e.get('deployment') or '–'} | {e.get('attempts') or '–'} | {e['failure']} | "
                         f"{str(detail).replace('|', '/')} |")
            L.append("")
    return "\n".join(L) + "\n"


def main():
    for p in (MORN, MOCK):
        if not os.access(p, os.X_OK):
            die(f"missing {p}: cargo build --release -p morn -p morn-mock")
    for v in VARIANTS:
        if v not in DESCRIPTION:
            die(f"unknown variant {v!r}")
    os.makedirs(OUT, exist_ok=True)
    logroot = os.path.join(OUT, "logs")
    meta = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "commit": git_commit(),
            "machine": machine(), "command": " ".join(
                [f"{k}={os.environ[k]}" for k in sorted(os.environ) if k.startswith("MORN_CHAOS_")] +
                ["python3", "bench/chaos/run.py"]),
            "secs": SECS, "conc": CONC, "ttfb_ms": TTFB_MS, "chunks": CHUNKS, "gap_ms": GAP_MS,
            "max_cooldown": MAX_COOLDOWN, "schedule": [f * SECS for _, _, f in SCHEDULE],
            "binaries": ", ".join(f"{os.path.relpath(b, REPO)} built {datetime.fromtimestamp(os.path.getmtime(b), timezone.utc):%Y-%m-%d %H:%M UTC}"
                                  for b in (MORN, MOCK))}
    results = []
    for v in VARIANTS:
        log(f"variant {v}: {DESCRIPTION[v]}, {SECS:.0f} s at concurrency {CONC}")
        run = run_variant(v, logroot)
        run["summary"] = summarize(run)
        s = run["summary"]
        log(f"{v}: {s['requests']} requests, {s['errors']} client-visible errors ({100 * s['error_rate']:.2f}%) {s['failures']}")
        results.append(run)
    md = render(meta, results)
    with open(os.path.join(OUT, "latest.md"), "w") as f:
        f.write(md)
    # Raw data: summaries, events, health snapshots, sampled errors in latest.json;
    # every request as a row in latest-requests.json.gz (columns below).
    raw = {"meta": meta, "variants": [{k: v for k, v in r.items() if k != "records"} for r in results]}
    with open(os.path.join(OUT, "latest.json"), "w") as f:
        json.dump(raw, f, indent=1)
    cols = ["start", "headers", "end", "status", "deployment", "attempts", "failure"]
    rows = {"columns": cols, "variants": {r["variant"]: [[rec.get(c) for c in cols] for rec in r["records"]]
                                          for r in results}}
    with gzip.open(os.path.join(OUT, "latest-requests.json.gz"), "wt") as f:
        json.dump(rows, f, separators=(",", ":"))
    print(md)


if __name__ == "__main__":
    main()
