#!/usr/bin/env bash
# User-space instructions per chat request in the morn process, counted by valgrind's
# callgrind: repeatable on a shared, noisy machine where CPU time is not (see
# bench/README.md, "Instructions per request"). Kernel work (the socket sends) is not
# counted, so this complements bench/run.sh, it does not replace it.
#
# Needs release binaries (cargo build --release -p morn -p morn-mock), the load generator
# (cargo build --release --manifest-path bench/loadgen/Cargo.toml) and valgrind.
# Usage: bench/instructions.sh [master|key ...]   (default: master key)
# Knobs: CARGO_TARGET_DIR (where the binaries are), INSTR_FEW / INSTR_MANY (requests in
# the two runs whose difference is reported; default 500 / 2500).
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-$PWD/target}"
morn="$target/release/morn"
mock="$target/release/morn-mock"
loadgen="bench/loadgen/target/release/morn-loadgen"
few="${INSTR_FEW:-500}"
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
python3 - "$work/chat.json" <<'EOF'
import json, sys
text = '#mock{"words":20,"ttfb_ms":0} Write one sentence about load testing a gateway.'
body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}], "max_tokens": 64}
open(sys.argv[1], "w").write(json.dumps(body, separators=(",", ":")))
EOF

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
kind = "openai"
base_url = "http://127.0.0.1:$mock_port/v1"
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
    [[ "$who" == key ]] && bearer="$(awk '/^api key/ {print $3}' "$work/morn.log")"
    "$loadgen" --url "http://127.0.0.1:$port/v1/chat/completions" --body-file "$work/chat.json" \
        -H "authorization: Bearer $bearer" -c 4 --requests "$requests" --expect '"choices"' >"$work/lg.json"
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(1 if d['errors'] else 0)" "$work/lg.json" \
        || { echo "instructions.sh: requests failed: $(cat "$work/lg.json")" >&2; exit 1; }
    kill -TERM "$pid"
    wait "$pid" || true
    awk '/^summary:/ {s += $2} END {print s}' "$work"/cg.out*
}

for who in "${@:-master}"; do
    a="$(count "$who" "$few")"
    b="$(count "$who" "$many")"
    echo "$who: $(( (b - a) / (many - few) )) instructions per chat request (callgrind, ($many - $few) requests)"
done
