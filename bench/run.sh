#!/usr/bin/env bash
# Morn load benchmark. See bench/README.md. Needs release binaries:
#   cargo build --release -p morn -p morn-mock
# and nginx (apt-get install -y nginx). Smoke run: MORN_BENCH_SECS=2 MORN_BENCH_WARMUP=0.5 bench/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export MORN_BENCH_COMMAND="${MORN_BENCH_COMMAND:-$(env | grep '^MORN_BENCH_' | sort | tr '\n' ' ')bench/run.sh}"
exec python3 bench/run.py "$@"
