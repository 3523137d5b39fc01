#!/usr/bin/env bash
# The whole test suite: Rust unit, golden and black-box tests (cargo nextest), then the
# compatibility suite driven by the official openai and anthropic Python SDKs against
# the real server and the provider simulator, then schemathesis against the platform
# API's OpenAPI document (no 5xx allowed).
#
# Usage: bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

target_dir="${CARGO_TARGET_DIR:-$PWD/target}"

echo "==> building binaries"
cargo build --workspace --bins

echo "==> Rust tests"
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --no-fail-fast
else
    cargo test --workspace --no-fail-fast
fi

echo "==> SDK compatibility suite (openai + anthropic Python SDKs)"
MORN_BIN="$target_dir/debug/morn" MORN_MOCK_BIN="$target_dir/debug/morn-mock" \
    bash tests/sdk/run.sh -q

echo "==> platform API fuzzing (schemathesis against /api/v1/openapi.json)"
MORN_BIN="$target_dir/debug/morn" MORN_MOCK_BIN="$target_dir/debug/morn-mock" \
    bash tests/api/run.sh
