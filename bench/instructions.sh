#!/usr/bin/env bash
# User-space instructions per chat request in the morn process, counted by valgrind's
# callgrind: repeatable on a shared, noisy machine where CPU time is not (see
# bench/README.md, "Instructions per request"). Kernel work (the socket sends) is not
# counted, so this complements bench/run.sh, it does not replace it.
#
# Needs release binaries (cargo build --release -p morn -p morn-mock), the load generator
# (cargo build --release --manifest-path bench/loadgen/Cargo.toml) and valgrind.
# Usage: bench/instructions.sh [master|key|governed ...]   (default: master key)
#   master: the master key; key: the bootstrap API key, no policies; governed: that key
#   under a rate limit and a budget too high to refuse (as morn+governed in bench/run.py).
# Knobs: INSTR_MODE=stream (streamed chat, 20 chunks with usage, as bench/run.py's
# stream cells; default: non-streamed chat), INSTR_UPSTREAM=anthropic|gemini (the
# provider kind morn speaks to the mock; default openai; the client still speaks
# OpenAI), CARGO_TARGET_DIR (where the binaries are),
# INSTR_FEW / INSTR_MANY (requests in
# the two runs whose difference is reported; default 500 / 2500), INSTR_KEEP (a directory
# to keep each run's callgrind profile in, as <who>-<requests>.callgrind, for callgrind_annotate).
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-$PWD/target}"
morn="$target/release/morn"
mock="$target/release/morn-mock"
loadgen="bench/loadgen/target/release/morn-loadgen"
few="${INSTR_FEW:-500}"
upstream="${INSTR_UPSTREAM:-openai}"
case "$upstream" in
    openai) upstream_path=/v1 ;;
    anthropic) upstream_path="" ;;
    gemini) upstream_path=/v1beta ;;
    *) echo "instructions.sh: INSTR_UPSTREAM must be openai, anthropic or gemini" >&2; exit 2 ;;
esac
many="${INSTR_MANY:-2500}"
for bin in "$morn" "$mock" "$loadgen"; do
    [[ -x "$bin" ]] || { echo "instructions.sh: $bin missing; see the header for how to build it" >&2; exit 2; }
done
command -v valgrind >/dev/null || { echo "instructions.sh: valgrind not found (apt-get install valgrind)" >&2; exit 2; }

work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
mock_port="$(free_port)"
"$mock" --listen "127.0.0.1:$mock_port" >/dev/null 2>&1 &
python3 - "$work/chat.json" "${INSTR_MODE:-chat}" <<'EOF'
import json, sys
stream = sys.argv[2] == "stream"
mock = '{"words":20,"chunks":20,"chunk_gap_ms":0,"ttfb_ms":0}' if stream else '{"words":20,"ttfb_ms":0}'
text = '#mock' + mock + ' Write one sentence about load testing a gateway.'
body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}], "max_tokens": 64}
if stream:
    body["stream"] = True
    body["stream_options"] = {"include_usage": True}
open(sys.argv[1], "w").write(json.dumps(body, separators=(",", ":")))
EOF
expect='"choices"'
[[ "${INSTR_MODE:-chat}" == stream ]] && expect='data: [DONE]'

# Puts a rate limit and a budget, both too high to refuse, on key `$3` of workspace `$2`,
# then checks a request is admitted under them.
govern() {
    python3 - "$1" "$2" "$3" <<'EOF'
import json, sys, time, urllib.request
port, ws, secret = sys.argv[1], sys.argv[2], sys.argv[3]
def call(method, path, body=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                 data=json.dumps(body).encode() if body else None,
                                 headers={"authorization": "Bearer sk-instr", "content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.load(r)
keys = call("GET", f"/api/v1/workspaces/{ws}/keys")["data"]
kid = next(k["id"] for k in keys if secret.startswith(k.get("prefix") or "\0"))
call("POST", f"/api/v1/workspaces/{ws}/limits", {"scope": "key", "scope_id": kid, "rpm": 100000000, "tpm": 100000000000, "max_concurrent": 100000})
call("POST", f"/api/v1/workspaces/{ws}/budgets", {"scope": "key", "scope_id": kid, "period": "month", "amount_micros": 1000000000000000})
time.sleep(1.5)
body = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}).encode()
req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/chat/completions", data=body,
                             headers={"authorization": f"Bearer {secret}", "content-type": "application/json"})
with urllib.request.urlopen(req, timeout=60) as r:
    assert r.headers.get("x-ratelimit-limit-requests") == "100000000", "policies not applied"
EOF
}

# Total instructions of one morn process: start, `requests` chat requests at c=4, drain.
count() {
    local who="$1" requests="$2" port data
    port="$(free_port)"
    data="$work/data-$requests"
    rm -rf "$data" "$work"/cg.out*
    cat >"$work/morn.toml" <<EOF
[server]
listen = "127.0.0.1:$port"
data_dir = "$data"

[log]
level = "warn"

[providers.mock]
kind = "$upstream"
base_url = "http://127.0.0.1:$mock_port$upstream_path"
api_key = "mock-key"

[[models]]
name = "gpt-4o-mini"
provider = "mock"

[bootstrap]
email = "bench@example.com"
EOF
    env -i PATH="$PATH" HOME="$HOME" MORN_MASTER_KEY=sk-instr \
        valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" \
        "$morn" serve --config "$work/morn.toml" >"$work/morn.log" 2>&1 &
    local pid=$!
    for _ in $(seq 300); do
        curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
        sleep 0.1
    done
    local bearer=sk-instr
    [[ "$who" != master ]] && bearer="$(awk '/^api key/ {print $3}' "$work/morn.log")"
    if [[ "$who" == governed ]]; then
        local workspace
        workspace="$(sed -n 's/^workspace .*(\(.*\))$/\1/p' "$work/morn.log")"
        govern "$port" "$workspace" "$bearer" || { echo "instructions.sh: could not set the policies" >&2; exit 1; }
    fi
    "$loadgen" --url "http://127.0.0.1:$port/v1/chat/completions" --body-file "$work/chat.json" \
        -H "authorization: Bearer $bearer" -c 4 --requests "$requests" --expect "$expect" >"$work/lg.json"
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(1 if d['errors'] else 0)" "$work/lg.json" \
        || { echo "instructions.sh: requests failed: $(cat "$work/lg.json")" >&2; exit 1; }
    kill -TERM "$pid"
    wait "$pid" || true
    if [[ -n "${INSTR_KEEP:-}" ]]; then
        mkdir -p "$INSTR_KEEP"
        cp "$work/cg.out" "$INSTR_KEEP/$who-$requests.callgrind"
    fi
    awk '/^summary:/ {s += $2} END {print s}' "$work"/cg.out*
}

for who in "${@:-master}"; do
    a="$(count "$who" "$few")"
    b="$(count "$who" "$many")"
    echo "$who: $(( (b - a) / (many - few) )) instructions per ${INSTR_MODE:-chat} request (callgrind, ($many - $few) requests)"
done
