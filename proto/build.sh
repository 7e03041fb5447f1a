#!/usr/bin/env bash
# Regenerates gen/ (ts-proto) and dist/ (compiled) beside the old ones and swaps each in whole,
# so that code running meanwhile (a test, the server, another workspace's build) never finds
# them missing or half written. Serialised: two builds at once take turns.
set -euo pipefail
cd "$(dirname "$0")"
exec 9>.build.lock
flock 9
stage=$(mktemp -d .build.XXXXXX)
trap 'rm -rf "$stage" gen.old dist.old' EXIT
buf generate --output "$stage"
swap() { # $1 = the new directory, $2 = where it goes
  rm -rf "$2.old"
  [[ -e $2 ]] && mv "$2" "$2.old"
  mv "$1" "$2"
}
swap "$stage/gen" gen
tsc -p tsconfig.json --outDir "$stage/dist"
swap "$stage/dist" dist
