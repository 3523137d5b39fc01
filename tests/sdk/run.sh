#!/usr/bin/env bash
# Runs the SDK compatibility suite: the official `openai` and `anthropic` Python
# SDKs against a real `morn` in front of `morn-mock`.
#
#   cargo build -p morn -p morn-mock && bash tests/sdk/run.sh [pytest args...]
#
# Environment:
#   MORN_VENV      virtualenv to create/reuse      (default: <repo>/.venv)
#   MORN_BIN       the gateway binary              (default: <repo>/target/debug/morn)
#   MORN_MOCK_BIN  the provider simulator binary   (default: <repo>/target/debug/morn-mock)
# This script never builds the binaries. Its exit code is pytest's.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="${MORN_VENV:-$repo/.venv}"
export MORN_BIN="${MORN_BIN:-$repo/target/debug/morn}"
export MORN_MOCK_BIN="${MORN_MOCK_BIN:-$repo/target/debug/morn-mock}"

for bin in "$MORN_BIN" "$MORN_MOCK_BIN"; do
  if [[ ! -x "$bin" ]]; then
    echo "run.sh: $bin not found or not executable; build first: cargo build -p morn -p morn-mock" >&2
    exit 2
  fi
done

if [[ ! -x "$venv/bin/python" ]]; then
  python3 -m venv "$venv"
fi
# Reinstall only when requirements.txt changed since the last install.
stamp="$venv/.morn-sdk-requirements"
if ! cmp -s "$here/requirements.txt" "$stamp" 2>/dev/null; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
  cp "$here/requirements.txt" "$stamp"
fi

cd "$here"
set +e
"$venv/bin/python" -m pytest -p no:cacheprovider "$@"
status=$?
set -e
exit "$status"
