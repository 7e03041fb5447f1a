#!/usr/bin/env bash
# The update-bundle signing key: an Ed25519 key made once into build/cache (never committed;
# QX_UPDATE_KEY overrides). Prints the private key's path; its public half is beside it (.pub.pem)
# and goes into the image as /usr/lib/quantix/update-key.pem.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
key=${QX_UPDATE_KEY:-$repo/build/cache/update-signing-key.pem}
if [[ ! -f $key ]]; then
  mkdir -p "$(dirname "$key")"
  (umask 077 && openssl genpkey -algorithm ed25519 -out "$key.tmp") && mv "$key.tmp" "$key"
  echo "update-key: made a new signing key $key" >&2
fi
[[ -f ${key%.pem}.pub.pem ]] || openssl pkey -in "$key" -pubout -out "${key%.pem}.pub.pem"
echo "$key"
