#!/usr/bin/env bash
# Morn's CPU per request, user and kernel apart, for two builds measured in turns: on a
# shared machine whose speed drifts from minute to minute, alternating short runs of the
# two binaries against the same mock and load generator compares them more fairly than
# two full bench/run.sh runs. Also counts voluntary context switches per request (all
# of morn's threads), which CPU time alone hides.
#
# Usage: bench/cpu_ab.sh DIR_A DIR_B   (each a directory holding a release `morn`; the
# mock comes from DIR_A)
# Knobs: AB_MODE=chat|stream (chat), AB_CONC (16), AB_SECS (6), AB_PAIRS (4),
# AB_ENV ("" ; e.g. TOKIO_WORKER_THREADS=1, passed to both morn processes).
# Needs the load generator (cargo build --release --manifest-path bench/loadgen/Cargo.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $# -eq 2 ]] || { sed -n 2,13p "$0"; exit 2; }
loadgen="bench/loadgen/target/release/morn-loadgen"
mode="${AB_MODE:-chat}" conc="${AB_CONC:-16}" secs="${AB_SECS:-6}" pairs="${AB_PAIRS:-4}"
for bin in "$1/morn" "$2/morn" "$1/morn-mock" "$loadgen"; do
    [[ -x "$bin" ]] || { echo "cpu_ab.sh: $bin missing" >&2; exit 2; }
done

work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
mock_port="$(free_port)"
"$1/morn-mock" --listen "127.0.0.1:$mock_port" >/dev/null 2>&1 &
directive='{"words":20,"ttfb_ms":0}' expect='"choices"' extra=''
if [[ "$mode" == stream ]]; then
    directive='{"words":20,"chunks":20,"chunk_gap_ms":0,"ttfb_ms":0}' expect='data: [DONE]'
    extra=',"stream":true,"stream_options":{"include_usage":true}'
fi
directive="${directive//\"/\\\"}"
printf '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"#mock%s Write one sentence about load testing a gateway."}],"max_tokens":64%s}' \
    "$directive" "$extra" >"$work/body.json"

# Voluntary context switches of every thread of process $1.
switches() { cat /proc/"$1"/task/*/status | awk '/^voluntary_ctxt_switches/ {s += $2} END {print s}'; }

# One run of the morn in directory $1; prints "rps user_us sys_us switches" per request.
measure() {
    local dir="$1" port pid
    port="$(free_port)"
    rm -rf "$work/data"
    cat >"$work/morn.toml" <<EOF
[server]
listen = "127.0.0.1:$port"
data_dir = "$work/data"
[log]
level = "warn"
[providers.mock]
kind = "openai"
base_url = "http://127.0.0.1:$mock_port/v1"
api_key = "mock-key"
[[models]]
name = "gpt-4o-mini"
provider = "mock"
EOF
    # shellcheck disable=SC2086
    env -i PATH="$PATH" HOME="$HOME" MORN_MASTER_KEY=sk-ab ${AB_ENV:-} \
        "$dir/morn" serve --config "$work/morn.toml" >"$work/morn.log" 2>&1 &
    pid=$!
    for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
    local args=(--url "http://127.0.0.1:$port/v1/chat/completions" --body-file "$work/body.json"
        -H 'authorization: Bearer sk-ab' -H 'content-type: application/json' -c "$conc" --expect "$expect")
    "$loadgen" "${args[@]}" --duration 1 --warmup 0.5 >/dev/null
    local before after cs0 cs1 out
    before="$(awk '{print $14, $15}' /proc/$pid/stat)" cs0="$(switches $pid)"
    out="$("$loadgen" "${args[@]}" --duration "$secs" --warmup 0)"
    after="$(awk '{print $14, $15}' /proc/$pid/stat)" cs1="$(switches $pid)"
    kill "$pid"; wait "$pid" 2>/dev/null || true
    python3 - "$out" "$before" "$after" "$cs0" "$cs1" "$(getconf CLK_TCK)" <<'EOF'
import json, sys
out = json.loads(sys.argv[1]); n = out["requests"]
(u0, s0), (u1, s1) = (map(int, a.split()) for a in sys.argv[2:4])
hz = int(sys.argv[6])
print(f'{out["rps"]:.0f} {(u1-u0)/hz/n*1e6:.1f} {(s1-s0)/hz/n*1e6:.1f} {(int(sys.argv[5])-int(sys.argv[4]))/n:.2f}')
EOF
}

echo "mode $mode, c=$conc, ${secs}s per run, $pairs pairs; A=$1 B=$2"
printf '%-3s %8s %8s %8s %8s %10s\n' run rps user_us sys_us total_us switches
: >"$work/results"
for i in $(seq "$pairs"); do
    for side in A B; do
        dir="$1"; [[ $side == B ]] && dir="$2"
        read -r rps user sys cs < <(measure "$dir")
        awk -v r="$side$i" -v rps="$rps" -v u="$user" -v s="$sys" -v c="$cs" \
            'BEGIN {printf "%-3s %8s %8s %8s %8.1f %10s\n", r, rps, u, s, u + s, c}'
        echo "$side $user $sys $cs" >>"$work/results"
    done
done
awk '{u[$1]+=$2; s[$1]+=$3; c[$1]+=$4; n[$1]++}
     END {for (k in n) printf "mean %s: user %.1f  sys %.1f  total %.1f us/req, %.2f switches/req\n", k, u[k]/n[k], s[k]/n[k], (u[k]+s[k])/n[k], c[k]/n[k]}' \
    "$work/results" | sort
