#!/usr/bin/env bash
# Every test: builds the components and the test fixtures, then runs the workspace's tests
# (unit tests of the SDK, providers, host and emulators; end-to-end tests of domain-host
# against the emulators). Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
# The layout rule: no import cycles between the modules of the SDK or the host.
python3 scripts/module-cycles.py src host-harness/src
bash scripts/build-components.sh
cargo build --locked --target wasm32-wasip2 --profile component -p hostile -p hostile-widened -p hostile-template -p hostile-bad-header -p hostile-session -p future-contract
cargo test --locked --workspace --release --no-fail-fast "$@"
