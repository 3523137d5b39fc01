#!/usr/bin/env bash
# Fuzzes the platform API with schemathesis against a real `morn` (in front of
# `morn-mock`), driven by the server's own OpenAPI document
# (`GET /api/v1/openapi.json`): no request may get a 5xx.
#
#   cargo build -p morn -p morn-mock && bash tests/api/run.sh [schemathesis args...]
#
# Environment:
#   MORN_VENV      virtualenv to create/reuse      (default: <repo>/.venv, shared with tests/sdk)
#   MORN_BIN       the gateway binary              (default: <repo>/target/debug/morn)
#   MORN_MOCK_BIN  the provider simulator binary   (default: <repo>/target/debug/morn-mock)
#   API_MAX_EXAMPLES  examples per operation and phase (default: 20)
# This script never builds the binaries. Its exit code is schemathesis's.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="${MORN_VENV:-$repo/.venv}"
morn_bin="${MORN_BIN:-$repo/target/debug/morn}"
mock_bin="${MORN_MOCK_BIN:-$repo/target/debug/morn-mock}"
master_key="sk-morn-api-suite-master"

for bin in "$morn_bin" "$mock_bin"; do
  if [[ ! -x "$bin" ]]; then
    echo "run.sh: $bin not found or not executable; build first: cargo build -p morn -p morn-mock" >&2
    exit 2
  fi
done

if [[ ! -x "$venv/bin/python" ]]; then
  python3 -m venv "$venv"
fi
# Own stamp, so this suite and tests/sdk each reinstall only when their own list changed.
stamp="$venv/.morn-api-requirements"
if ! cmp -s "$here/requirements.txt" "$stamp" 2>/dev/null; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
  cp "$here/requirements.txt" "$stamp"
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/morn-api-XXXXXX")"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [[ "${status:-1}" == 0 ]]; then
    rm -rf "$tmp"
  else
    echo "run.sh: logs kept in $tmp" >&2
  fi
}
trap cleanup EXIT

# Morn reads every MORN_* variable as configuration and rejects unknown ones: run it
# with none but the master key.
clean_env=(env)
while IFS='=' read -r name _; do
  [[ "$name" == MORN_* ]] && clean_env+=(-u "$name")
done < <(env)
morn() { "${clean_env[@]}" MORN_MASTER_KEY="$master_key" "$morn_bin" "$@"; }

# Waits for `<prefix> listening on <addr>` in a log; prints the address.
listen_addr() {
  local log="$1" prefix="$2"
  for _ in $(seq 1 300); do
    local line
    line="$(grep -m1 -o "listening on [^ ]*" "$log" 2>/dev/null || true)"
    if [[ -n "$line" ]]; then
      echo "${line#listening on }" | sed -e 's#^http://##' -e 's#/$##'
      return 0
    fi
    sleep 0.1
  done
  echo "run.sh: $prefix did not start; log:" >&2
  cat "$log" >&2
  return 1
}

"${clean_env[@]}" "$mock_bin" --listen 127.0.0.1:0 >"$tmp/mock.log" 2>&1 &
pids+=($!)
mock_addr="$(listen_addr "$tmp/mock.log" morn-mock)"

data_dir="$tmp/data"
mkdir -p "$data_dir"
cat >"$tmp/morn.toml" <<TOML
# Written by tests/api/run.sh.
[server]
data_dir = "$data_dir"
shutdown_grace_secs = 1

[log]
format = "pretty"
level = "warn"

[providers.mock_openai]
kind = "openai"
base_url = "http://$mock_addr/v1"
api_key = "mock-key"

[[models]]
name = "gpt-4o-mini"
provider = "mock_openai"
TOML

email="owner@example.com"
morn admin --config "$tmp/morn.toml" --data-dir "$data_dir" bootstrap --email "$email" >"$tmp/bootstrap.txt"
password="$(awk '$1 == "password" {print $2}' "$tmp/bootstrap.txt")"

# Not through the `morn` function: `$!` must be the server's own pid for the cleanup.
"${clean_env[@]}" MORN_MASTER_KEY="$master_key" "$morn_bin" serve --config "$tmp/morn.toml" \
  --data-dir "$data_dir" --listen 127.0.0.1:0 >"$tmp/morn.log" 2>&1 &
pids+=($!)
addr="$(listen_addr "$tmp/morn.log" morn)"
base="http://$addr"

token="$("$venv/bin/python" "$here/setup.py" "$base" "$email" "$password" "$master_key" "$tmp/schemathesis.toml")"

cd "$tmp"
set +e
"$venv/bin/schemathesis" --config-file "$tmp/schemathesis.toml" run "$base/api/v1/openapi.json" \
  --url "$base" \
  --checks not_a_server_error \
  --max-examples "${API_MAX_EXAMPLES:-20}" \
  --phases examples,coverage,fuzzing \
  --request-timeout 30 \
  --no-color \
  -H "Authorization: Bearer $token" \
  "$@" 2>&1 | tee "$tmp/schemathesis.log"
status=${PIPESTATUS[0]}
set -e
# A pytest-style last line from schemathesis's "Test cases:" summary.
cases="$(grep -A1 '^Test cases:' "$tmp/schemathesis.log" | tail -n1 || true)"
passed="$(grep -oE '[0-9]+ passed' <<<"$cases" | grep -oE '[0-9]+' || echo 0)"
failed="$(grep -oE '[0-9]+ failed' <<<"$cases" | grep -oE '[0-9]+' || echo 0)"
if [[ "$status" != 0 && "$failed" == 0 ]]; then
  failed=1
fi
echo "$passed passed, $failed failed"
exit "$status"
