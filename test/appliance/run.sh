#!/usr/bin/env bash
# `make test-appliance`: builds the ISO (base layer cached) and the test guest, then boots the
# appliance in QEMU and drives it through the real API, installs it, updates it to N+1 with a
# signed bundle and sees a broken update roll back (appliance.e2e.ts, which prints the update and
# rollback times), then once more in RAM on an etcd member of this machine (controlplane.e2e.ts),
# then beside a small NFS server guest as a backup target (nfs-backup.e2e.ts: Debian's kernel has the
# NFS client this machine's lacks).
# Serial logs of every boot are kept in test/output/appliance/ (and reported on failure).
# QX_APP_SOURCE=head builds the last commit instead of the working tree.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
start=$SECONDS
QX_ISO=$(bash build/iso/build-iso.sh)
export QX_ISO
echo "test-appliance: ISO ready after $((SECONDS - start)) s: $QX_ISO"
bash test/guest/build-guest.sh >/dev/null
mkdir -p test/output/appliance
node --import tsx --test --test-reporter=spec --test-timeout=3000000 test/appliance/appliance.e2e.ts
node --import tsx --test --test-reporter=spec --test-timeout=1500000 test/appliance/controlplane.e2e.ts
node --import tsx --test --test-reporter=spec --test-timeout=2400000 test/appliance/nfs-backup.e2e.ts
echo "test-appliance: done in $((SECONDS - start)) s"
