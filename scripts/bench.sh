#!/usr/bin/env bash
# Benchmarks: builds the components and the host, then prints one table and writes it to
# BENCHMARKS.md with the machine it ran on. `--quick` runs fewer iterations.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-components.sh >/dev/null
cargo build --locked --release -p domain-host -p domain-host-bench
target/release/domain-host-bench --out BENCHMARKS.md "$@"
