#!/usr/bin/env bash
# Builds the app layer: /opt/quantix (agent, server, proto dist, ui/dist, production node_modules),
# overlay/ and the appliance/ programs, as a zstd squashfs stacked over the base OS layer.
# Usage: build-app.sh <out.squashfs> <version>. QX_APP_SOURCE=head builds the last commit (a
# snapshot under build/work/src) instead of the working tree.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
if [[ ${QX_APP_SOURCE:-worktree} == head ]]; then
  src=$repo/build/work/src
  rm -rf "$src" && mkdir -p "$src/node_modules/@quantix"
  git -C "$repo" archive HEAD | tar -x -C "$src"
  # Installed packages are shared with the working tree; the workspace links point into the snapshot.
  for entry in "$repo"/node_modules/* "$repo"/node_modules/.bin; do
    [[ $(basename "$entry") == @quantix ]] || ln -s "$entry" "$src/node_modules/"
  done
  for link in "$repo"/node_modules/@quantix/*; do cp -P "$link" "$src/node_modules/@quantix/"; done
  echo "build-app: building HEAD $(git -C "$repo" rev-parse --short HEAD) in $src" >&2
  repo=$src
fi
out=${1:?out squashfs} version=${2:?version}
cache=$(cd "$here/../.." && pwd)/build/cache
log() { echo "build-app: $*" >&2; }

log "npm run build"
start=$SECONDS
(cd "$repo" && npm run build --silent >&2)
log "app build took $((SECONDS - start)) s"

# Production dependencies, cached by the lock file and the workspace manifests.
workspaces=(proto agent server)
deps_key=$( { cat "$repo/package-lock.json" "$repo/package.json"; for w in "${workspaces[@]}"; do cat "$repo/$w/package.json"; done; node --version; } | sha256sum | cut -c1-16)
deps=$cache/app-deps/$deps_key
if [[ ! -d $deps/node_modules ]]; then
  log "npm ci --omit=dev (deps $deps_key)"
  rm -rf "$deps.tmp" && mkdir -p "$deps.tmp"
  cp "$repo/package.json" "$repo/package-lock.json" "$deps.tmp/"
  for w in proto agent server ui test; do
    mkdir -p "$deps.tmp/$w" && cp "$repo/$w/package.json" "$deps.tmp/$w/"
  done
  (cd "$deps.tmp" && npm ci --omit=dev --no-audit --no-fund --ignore-scripts=false \
    "${workspaces[@]/#/--workspace=}" >&2)
  rm -rf "$deps" && mv "$deps.tmp" "$deps"
fi

root=$(cd "$here/../.." && pwd)/build/work/app-root
rm -rf "$root" && mkdir -p "$root/opt/quantix"
app=$root/opt/quantix
cp -al "$deps/node_modules" "$app/node_modules"
cp "$repo/package.json" "$app/"
for w in "${workspaces[@]}"; do
  mkdir -p "$app/$w" && cp "$repo/$w/package.json" "$app/$w/" && cp -a "$repo/$w/dist" "$app/$w/dist"
done
mkdir -p "$app/ui" && cp -a "$repo/ui/dist" "$app/ui/dist"
# `qx` on the appliance's PATH: the vDC API client and the host-local commands (ova, agent).
cp -a "$repo/agent/bin" "$app/agent/bin"
install -d "$root/usr/local/bin"
ln -s /opt/quantix/agent/bin/qx.js "$root/usr/local/bin/qx"
# node-pty ships prebuilt binaries for other platforms; ours is build/Release (built for this Node).
find "$app/node_modules/node-pty/prebuilds" -mindepth 1 -maxdepth 1 ! -name linux-x64 -exec rm -rf {} + 2>/dev/null || true
rm -rf "$app/node_modules/node-pty/third_party" "$app/node_modules/node-pty/deps"
# Workspace links that point at workspaces not shipped (ui, test) would dangle.
find "$app/node_modules/@quantix" -maxdepth 1 -type l ! -exec test -e {} \; -delete

cp -a "$here/../../overlay/." "$root/"
install -d "$root/usr/lib/quantix" "$root/usr/local/sbin"
cp -a "$here/../../appliance/." "$root/usr/lib/quantix/"
ln -s /usr/lib/quantix/quantix-install "$root/usr/local/sbin/quantix-install"
ln -s /usr/lib/quantix/quantix-network "$root/usr/local/sbin/quantix-network"
# The public half of the update-bundle signing key: the server verifies bundles with it.
key=$(bash "$here/update-key.sh")
install -m 0644 "${key%.pem}.pub.pem" "$root/usr/lib/quantix/update-key.pem"
printf 'QUANTIX_VERSION=%s\nQUANTIX_BUILD=%s\n' "$version" "$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
  >"$root/etc/quantix-release"

log "mksquashfs app"
start=$SECONDS
mksquashfs "$root" "$out.tmp" -comp zstd -Xcompression-level "${QX_APP_ZSTD_LEVEL:-9}" -noappend -quiet \
  -all-root >&2
mv "$out.tmp" "$out"
log "mksquashfs app took $((SECONDS - start)) s"
