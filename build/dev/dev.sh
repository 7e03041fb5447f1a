#!/usr/bin/env bash
# `make dev`: agent + server (+ the built UI) on this machine against the local libvirtd, with
# embedded defaults (data under build/work/dev-data, the local agent auto-joined). Prints the URL
# once /api/v1/health answers. Ctrl-C stops everything.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
data=${QX_DEV_DATA:-$root/build/work/dev-data}
mkdir -p "$data/agent" "$data/server"
export QX_AGENT_DATA_DIR=$data/agent QX_AGENT_LISTEN=${QX_AGENT_LISTEN:-127.0.0.1:9443}
export QX_SERVER_DATA_DIR=$data/server QX_SERVER_LISTEN=${QX_SERVER_LISTEN:-127.0.0.1:8443}
export QX_LOCAL_AGENT_ADDRESS=unix:$data/agent/local/agent.sock QX_LOCAL_AGENT_DATA_DIR=$data/agent
export QX_UI_DIR=${QX_UI_DIR:-$root/ui/dist}
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM
if ! (cd "$root" && npm run -s -w @quantix/ui build >"$data/ui-build.log" 2>&1); then
  echo "warning: the UI did not build (see $data/ui-build.log); the API still runs" >&2
fi
node --import tsx "$root/agent/src/main.ts" & pids+=($!)
node --import tsx "$root/server/src/main.ts" & pids+=($!)
url="https://${QX_SERVER_LISTEN}/"
for _ in $(seq 1 60); do
  if curl -fsk "${url}api/v1/health" >/dev/null 2>&1; then break; fi
  sleep 0.5
done
curl -fsk "${url}api/v1/health" >/dev/null || { echo "the server did not answer on ${url}api/v1/health" >&2; exit 1; }
echo
echo "Quantix-vDC (dev) on ${url}  — health: ${url}api/v1/health"
if curl -fsk "${url}api/v1/setup/status" | grep -q '"needsSetup":true'; then
  echo "first run: open ${url} to create the admin (or restart with QX_ADMIN_PASSWORD=...)"
  echo "  Setup code: $(cat "$QX_SERVER_DATA_DIR/setup-code" 2>/dev/null || echo '(not written: see the server log)')"
fi
wait -n "${pids[@]}"
