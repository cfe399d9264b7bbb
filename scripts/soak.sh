#!/usr/bin/env bash
# The soak test (tests/soak.rs): the real `domain-host serve` under a steady stream of
# events while the ServerPilot emulator fails at random (503, a connection dropped after
# applying, 503 after applying, a stall past the request timeout) and the service is
# SIGKILLed at random moments and restarted; then every accepted event must be done once
# in effect, the panel hold exactly the wanted names, every stage change have reached the
# callback receiver in order, and the service's memory have stayed flat. Prints the
# figures; exits non-zero on any violation.
#
#   bash scripts/soak.sh            # 75 s of load (CI)
#   bash scripts/soak.sh 600        # ten minutes
#
# DOMAIN_HOST_SOAK_RATE (events/s, default 16) and DOMAIN_HOST_SOAK_SEED pass through.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-75}"
case "$secs" in
  '' | *[!0-9]* | 0) echo "usage: scripts/soak.sh [SECONDS]  (a whole number of seconds, at least 1)" >&2; exit 2 ;;
esac
bash scripts/build-components.sh >/dev/null
DOMAIN_HOST_SOAK_SECS="$secs" cargo test --locked --release -p domain-host --test soak -- --ignored --nocapture
