#!/usr/bin/env bash
# Sets up and runs the main job: domain-host maps a domain through ServerPilot.
#
#   bash scripts/demo.sh [DOMAIN] [SITE_ID]
#
# With WU_SERVER_PILOT_CLIENT_ID, WU_SERVER_PILOT_API_KEY and WU_SERVER_PILOT_APP_ID in the
# environment, it talks to the real ServerPilot API (the ids go into the config, the key is
# read from the environment variable the config names). Without them, it starts the
# bundled ServerPilot emulator on 127.0.0.1 and shows the app's state afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
domain=${1:-example.com}
site=${2:-1}

bash scripts/build-components.sh >/dev/null
cargo build --locked --release -p domain-host -p panel-emulators
bin=target/release
work=$(mktemp -d)
trap 'kill ${emulator_pid:-} 2>/dev/null || true; rm -rf "$work"' EXIT

if [[ -n ${WU_SERVER_PILOT_CLIENT_ID:-} && -n ${WU_SERVER_PILOT_API_KEY:-} && -n ${WU_SERVER_PILOT_APP_ID:-} ]]; then
  echo "Using the real ServerPilot API (credentials from the environment)."
  cat > "$work/domain-host.toml" <<TOML
www = "always"
[integrations.serverpilot]
enabled = true
constants = { WU_SERVER_PILOT_CLIENT_ID = "$WU_SERVER_PILOT_CLIENT_ID", WU_SERVER_PILOT_APP_ID = "$WU_SERVER_PILOT_APP_ID" }
env = ["WU_SERVER_PILOT_API_KEY"]
TOML
else
  port=${DEMO_PORT:-18081}
  echo "No ServerPilot credentials in the environment: using the bundled emulator on 127.0.0.1:$port."
  "$bin/panel-emulator" serverpilot --port "$port" --client-id cid_demo --api-key demo-api-key --app-id demoapp00000001 &
  emulator_pid=$!
  for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  cat > "$work/domain-host.toml" <<TOML
www = "always"
[integrations.serverpilot]
enabled = true
constants = { WU_SERVER_PILOT_CLIENT_ID = "cid_demo", WU_SERVER_PILOT_APP_ID = "demoapp00000001" }
env = ["WU_SERVER_PILOT_API_KEY"]
routes = { "api.serverpilot.io" = "http://127.0.0.1:$port" }
TOML
  export WU_SERVER_PILOT_API_KEY=demo-api-key
fi

set -x
"$bin/domain-host" --config "$work/domain-host.toml" list
"$bin/domain-host" --config "$work/domain-host.toml" test
"$bin/domain-host" --config "$work/domain-host.toml" add-domain "$domain" --site "$site"
{ set +x; } 2>/dev/null
if [[ -n ${emulator_pid:-} ]]; then
  echo "Emulated ServerPilot app now:"
  if command -v curl >/dev/null; then
    curl -s "http://127.0.0.1:$port/_emulator/state"; echo
  else
    echo "(install curl to see it: http://127.0.0.1:$port/_emulator/state)"
  fi
fi
