#!/usr/bin/env bash
# Every test: builds the components, then runs the workspace's tests (unit tests of the
# SDK, providers, host and emulators; end-to-end tests of domain-host against emulators).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-components.sh
cargo test --locked --workspace --release "$@"
