#!/usr/bin/env bash
# `make run`: boots the ISO in QEMU (KVM when the CPU has vmx/svm and /dev/kvm is usable, else TCG)
# with a persistent QX-DATA disk under build/work/run and https on https://localhost:8443.
# The guest's user-mode network is restricted: it reaches nothing but the forwarded ports.
# Boots the ISO's kernel directly so that the first-run setup code made here reaches the server
# (quantix.setup_code= on the kernel command line) and can be printed; QX_RUN_MENU=1 boots
# through the ISO's GRUB menu instead (e.g. to install to disk; the code is then on the console).
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
if [[ ${QX_RUN_MENU:-} == 1 ]]; then
  boot=(-boot d)
  setup="on the first visit the UI asks for the setup code shown on the console and lets you choose the admin password"
else
  # 8 characters from the server's alphabet (no 0/O, 1/I): "XXXX-XXXX".
  code=$(node -e "const a='23456789ABCDEFGHJKLMNPQRSTUVWXYZ';let s='';for(let i=0;i<8;i++)s+=a[require('node:crypto').randomInt(32)];console.log(s.slice(0,4)+'-'+s.slice(4))")
  kernel=$work/boot/vmlinuz initrd=$work/boot/initrd.img
  if [[ ! -f $kernel || ! -f $initrd || $iso -nt $kernel ]]; then
    rm -rf "$work/boot" && mkdir -p "$work/boot"
    xorriso -osirrox on -indev "$iso" -extract /live/vmlinuz "$kernel" -extract /live/initrd.img "$initrd" >/dev/null 2>&1 \
      || { echo "run-qemu: cannot extract the kernel and initrd from $iso (xorriso)" >&2; exit 1; }
  fi
  # The live entry of the ISO's GRUB menu (build/iso/grub-live.cfg) plus the setup code.
  boot=(-kernel "$kernel" -initrd "$initrd"
    -append "boot=live components quiet loglevel=3 console=ttyS0,115200n8 console=tty0 quantix.setup_code=$code")
  setup="on the first visit the UI asks for the setup code $code (until the admin exists) and lets you choose the admin password"
fi
cat <<MSG
Quantix-vDC $version in QEMU ($kind), data disk $data
  Web UI:  https://localhost:$port/   (self-signed certificate; the fingerprint is on the console)
  Login:   user admin; $setup.
  Console: this terminal is the appliance's serial console (status screen). Quit: Ctrl-a x
MSG
exec qemu-system-x86_64 "${accel[@]}" -machine q35 -m "${QX_MEMORY_MIB:-2048}" -smp "${QX_CPUS:-2}" \
  -drive "file=$iso,media=cdrom,readonly=on,if=ide,index=0" "${boot[@]}" \
  -drive "file=$data,format=raw,if=none,id=data" -device virtio-blk-pci,drive=data,serial=qx-data \
  -netdev "user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:$port-:443" -device virtio-net-pci,netdev=net0 \
  -nographic -serial mon:stdio
