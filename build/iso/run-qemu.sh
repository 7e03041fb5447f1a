#!/usr/bin/env bash
# `make run`: boots the ISO in QEMU (KVM when the CPU has vmx/svm and /dev/kvm is usable, else TCG)
# with a persistent QX-DATA disk under build/work/run and https on https://localhost:8443.
# The guest's user-mode network is restricted: it reaches nothing but the forwarded ports.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
version=$(node -p "require('$repo/package.json').version")
iso=${QX_ISO:-$repo/build/out/quantix-vdc-$version-amd64.iso}
work=$repo/build/work/run
port=${QX_HTTPS_PORT:-8443}
[[ -f $iso ]] || { echo "run-qemu: $iso missing: run make iso" >&2; exit 1; }
mkdir -p "$work"
data=$work/data.img
if [[ ! -f $data ]]; then
  truncate -s "${QX_DATA_SIZE:-20G}" "$data"
  mkfs.ext4 -q -L QX-DATA "$data"
fi
if grep -qE '\b(vmx|svm)\b' /proc/cpuinfo && [[ -r /dev/kvm && -w /dev/kvm ]]; then
  accel=(-accel kvm -cpu host); kind=KVM
else
  accel=(-accel tcg -cpu max); kind="TCG (no vmx/svm: slow)"
fi
cat <<MSG
Quantix-vDC $version in QEMU ($kind), data disk $data
  Web UI:  https://localhost:$port/   (self-signed certificate; the fingerprint is on the console)
  Login:   user admin; on the first visit the UI asks you to choose the admin password.
  Console: this terminal is the appliance's serial console (status screen). Quit: Ctrl-a x
MSG
exec qemu-system-x86_64 "${accel[@]}" -machine q35 -m "${QX_MEMORY_MIB:-2048}" -smp "${QX_CPUS:-2}" \
  -drive "file=$iso,media=cdrom,readonly=on,if=ide,index=0" -boot d \
  -drive "file=$data,format=raw,if=none,id=data" -device virtio-blk-pci,drive=data,serial=qx-data \
  -netdev "user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:$port-:443" -device virtio-net-pci,netdev=net0 \
  -nographic -serial mon:stdio
