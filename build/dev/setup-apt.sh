#!/usr/bin/env bash
# Installs the Debian packages listed in apt-packages.txt (idempotent; only missing ones).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# Words, not lines: a line naming two packages is two packages.
read -r -a pkgs <<<"$(grep -vE '^\s*(#|$)' "$here/apt-packages.txt" | tr '\n' ' ')"
command -v npm >/dev/null 2>&1 || pkgs+=(npm)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
