#!/usr/bin/env python3
"""The latency Morn adds, for two builds or two settings, measured in turns.

A full bench/run.sh takes a quarter of an hour and the machine's speed drifts between
its rounds; a change worth a tenth of a millisecond of p99 drowns in that. This script
runs short cells in turns against one mock and one load generator: direct to the mock,
then morn A, then morn B, again and again. Each round's added latency is the morn cell
minus that round's direct cell, and the summary gives the median over rounds and how
many rounds A was ahead.

Usage: bench/latency_ab.py DIR_A DIR_B
  DIR_A, DIR_B: directories holding a release `morn` (the mock comes from DIR_A).
Knobs (environment): AB_MODE=stream|chat|paced (stream), AB_CONC (16), AB_SECS (2.5),
  AB_ROUNDS (8), AB_EXTRA_A / AB_EXTRA_B (TOML lines appended to that side's config,
  `\\n` for a line break), AB_ENV_A / AB_ENV_B (VAR=value ... for that side's process),
  AB_MOCK_B (a directory whose `morn-mock` side B uses instead, with its own direct
  cells: to see how the simulator's cost shows in what Morn adds).
Needs the load generator: cargo build --release --manifest-path bench/loadgen/Cargo.toml
"""

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

BENCH = os.path.dirname(os.path.abspath(__file__))
LOADGEN = os.path.join(BENCH, "loadgen", "target", "release", "morn-loadgen")
MODE = os.environ.get("AB_MODE", "stream")
CONC = int(os.environ.get("AB_CONC", "16"))
SECS = float(os.environ.get("AB_SECS", "2.5"))
ROUNDS = int(os.environ.get("AB_ROUNDS", "8"))
KEY = "sk-ab"

# The config, request bodies and expected text of bench/run.py's cells, so that the two
# measure the same thing.
sys.path.insert(0, BENCH)
from run import EXPECT, MODEL, MORN_CONF, body_for  # noqa: E402

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port, path):
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1)
            return
        except urllib.error.HTTPError:
            return  # it answers: ready, whatever the status
        except OSError:
            time.sleep(0.05)
    sys.exit(f"latency_ab: nothing ready on port {port}")


def start_morn(tmp, side, bin_dir, mock):
    port = free_port()
    data = os.path.join(tmp, f"data-{side}")
    conf = os.path.join(tmp, f"{side}.toml")
    extra = os.environ.get(f"AB_EXTRA_{side}", "").replace("\\n", "\n")
    with open(conf, "w") as f:
        f.write(MORN_CONF.format(port=port, data=data, mock_port=mock, model=MODEL, extra=extra))
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/"), "MORN_MASTER_KEY": KEY}
    for pair in os.environ.get(f"AB_ENV_{side}", "").split():
        k, _, v = pair.partition("=")
        env[k] = v
    log = open(os.path.join(tmp, f"{side}.log"), "w")
    proc = subprocess.Popen([os.path.join(bin_dir, "morn"), "serve", "--config", conf], env=env,
                            stdout=log, stderr=log)
    wait_ready(port, "/readyz")
    return proc, port


def cell(port, body_file):
    expect = EXPECT[MODE]
    out = subprocess.run([LOADGEN, "--url", f"http://127.0.0.1:{port}/v1/chat/completions",
                          "--body-file", body_file, "-H", "content-type: application/json",
                          "-H", f"authorization: Bearer {KEY}", "-c", str(CONC),
                          "--duration", str(SECS), "--warmup", "0.5", "--threads", "2",
                          "--expect", expect], capture_output=True, text=True, check=True)
    r = json.loads(out.stdout)
    return r["rps"], r["latency_us"]["p50"], r["latency_us"]["p99"]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    dirs = {"A": sys.argv[1], "B": sys.argv[2]}
    tmp = tempfile.mkdtemp(prefix="latency-ab-")
    procs = []
    try:
        mock_dirs = {"A": dirs["A"], "B": os.environ.get("AB_MOCK_B") or dirs["A"]}
        mocks = {}
        for side in "AB":
            if side == "B" and mock_dirs["B"] == mock_dirs["A"]:
                mocks["B"] = mocks["A"]
                continue
            mocks[side] = free_port()
            procs.append(subprocess.Popen([os.path.join(mock_dirs[side], "morn-mock"), "--listen",
                                           f"127.0.0.1:{mocks[side]}"],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            wait_ready(mocks[side], "/v1/models")
        ports = {}
        for side in "AB":
            proc, ports[side] = start_morn(tmp, side, dirs[side], mocks[side])
            procs.append(proc)
        body_file = os.path.join(tmp, "body.json")
        with open(body_file, "w") as f:
            f.write(body_for(MODE))
        print(f"mode {MODE}, c={CONC}, {SECS}s cells, {ROUNDS} rounds; A={dirs['A']} {os.environ.get('AB_EXTRA_A', '')} "
              f"B={dirs['B']} {os.environ.get('AB_EXTRA_B', '')}")
        print("round  direct p99 | A rps  p50+  p99+ | B rps  p50+  p99+   (ms, + = added)")
        added = {"A": [], "B": []}
        for n in range(ROUNDS):
            direct = {"A": cell(mocks["A"], body_file)}
            direct["B"] = direct["A"] if mocks["B"] == mocks["A"] else cell(mocks["B"], body_file)
            row = f"{n + 1:5}  {direct['A'][2] / 1000:10.2f}"
            for side in "AB":
                _, d50, d99 = direct[side]
                rps, p50, p99 = cell(ports[side], body_file)
                added[side].append(((p50 - d50) / 1000, (p99 - d99) / 1000))
                row += f" | {rps:6.0f} {(p50 - d50) / 1000:5.2f} {(p99 - d99) / 1000:5.2f}"
            print(row, flush=True)
        for side in "AB":
            p50s, p99s = zip(*added[side])
            print(f"median {side}: added p50 {statistics.median(p50s):.3f} ms, added p99 {statistics.median(p99s):.3f} ms")
        ahead = sum(a[1] < b[1] for a, b in zip(added["A"], added["B"]))
        print(f"A's added p99 lower in {ahead} of {ROUNDS} rounds")
    finally:
        for p in procs:
            p.terminate()
            p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
