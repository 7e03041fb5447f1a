#!/usr/bin/env bash
# `make dev`: agent + server + UI on this machine against the local libvirtd, with embedded
# defaults (data under build/dev-data, the local agent auto-joined). Ctrl-C stops everything.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
data=${QX_DEV_DATA:-$root/build/work/dev-data}
mkdir -p "$data/agent" "$data/server"
export QX_AGENT_DATA_DIR=$data/agent QX_AGENT_LISTEN=127.0.0.1:9443
export QX_SERVER_DATA_DIR=$data/server QX_SERVER_LISTEN=${QX_SERVER_LISTEN:-127.0.0.1:8443}
export QX_LOCAL_AGENT_ADDRESS=127.0.0.1:9443 QX_LOCAL_AGENT_DATA_DIR=$data/agent
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM
(cd "$root" && npm run -s -w @quantix/ui build >/dev/null)
node --import tsx "$root/agent/src/main.ts" & pids+=($!)
node --import tsx "$root/server/src/main.ts" & pids+=($!)
echo "Quantix-vDC (dev) on https://${QX_SERVER_LISTEN}/  — health: https://${QX_SERVER_LISTEN}/api/v1/health"
wait -n "${pids[@]}"
