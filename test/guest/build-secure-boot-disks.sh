#!/usr/bin/env bash
# Builds two UEFI disks of the test guest for the Secure Boot tests: a GPT disk whose EFI system
# partition boots Debian's signed chain (shim → GRUB → the guest's signed kernel + initrd), and the
# same disk with an unsigned GRUB (grub-mkstandalone) as its loader. Needs the test guest built
# first (build-guest.sh); cached in build/cache/guest, rebuilt when this script or the guest changes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${QX_GUEST_DIR:-$root/build/cache/guest}
stamp="$out/.secure-boot-inputs"
[[ -f "$out/.inputs" && -f "$out/vmlinuz" && -f "$out/initrd.img" ]] || { echo "build-secure-boot-disks: build the test guest first (make guest)" >&2; exit 1; }
inputs=$(cat "$here/build-secure-boot-disks.sh" "$out/.inputs" | sha256sum | cut -c1-16)
if [[ -f "$stamp" && "$(cat "$stamp")" == "$inputs" && -f "$out/qx-sb-signed.qcow2" && -f "$out/qx-sb-unsigned.qcow2" ]]; then
  exit 0
fi
mkdir -p "$out/debs"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$out/debs" && { ls shim-signed_*.deb >/dev/null 2>&1 || apt-get download shim-signed; } \
  && { ls grub-efi-amd64-signed_*.deb >/dev/null 2>&1 || apt-get download grub-efi-amd64-signed; }) 2>&1 | grep -v '^W: Download is performed unsandboxed' || true
dpkg-deb -x "$(ls "$out"/debs/shim-signed_*.deb | head -1)" "$work/x"
dpkg-deb -x "$(ls "$out"/debs/grub-efi-amd64-signed_*.deb | head -1)" "$work/x"

# Debian's signed GRUB has its prefix built in as /EFI/debian on the partition it was loaded from.
cat > "$work/grub.cfg" <<'CFG'
set timeout=0
set default=0
search --no-floppy --file --set=root /qx-guest/vmlinuz
menuentry "Quantix test guest" {
  linux /qx-guest/vmlinuz console=ttyS0,115200 quiet loglevel=3 panic=-1
  initrd /qx-guest/initrd.img
}
CFG
# The unsigned loader says so on the serial line before it boots the same kernel.
{
  printf 'serial --unit=0 --speed=115200\nterminal_output serial console\necho "QX-UNSIGNED-LOADER RUNNING"\n'
  cat "$work/grub.cfg"
} > "$work/unsigned.cfg"
grub-mkstandalone -O x86_64-efi -o "$work/unsigned.efi" --modules="part_gpt fat search serial echo linux" \
  "boot/grub/grub.cfg=$work/unsigned.cfg"

# disk: 64 MiB GPT, one EFI system partition at 1 MiB (sectors 2048..124927), FAT written at its offset.
disk() { # <output qcow2> <BOOTX64.EFI> [grubx64.efi]
  local esp="$work/esp.img" img="$work/disk.img"
  rm -f "$esp" "$img"
  truncate -s 60M "$esp"
  mkfs.vfat -F 32 -n QXESP "$esp" >/dev/null
  mmd -i "$esp" ::/EFI ::/EFI/BOOT ::/EFI/debian ::/qx-guest
  mcopy -i "$esp" "$2" ::/EFI/BOOT/BOOTX64.EFI
  [[ -z "${3:-}" ]] || mcopy -i "$esp" "$3" ::/EFI/BOOT/grubx64.efi
  mcopy -i "$esp" "$work/grub.cfg" ::/EFI/debian/grub.cfg
  mcopy -i "$esp" "$out/vmlinuz" "$out/initrd.img" ::/qx-guest/
  truncate -s 64M "$img"
  sgdisk -o -n 1:2048:124927 -t 1:ef00 -c 1:EFI "$img" >/dev/null
  dd if="$esp" of="$img" bs=512 seek=2048 conv=notrunc status=none
  qemu-img convert -f raw -O qcow2 "$img" "$work/disk.qcow2"
  cp "$work/disk.qcow2" "$out/.$1.new" && mv -f "$out/.$1.new" "$out/$1"
}
disk qx-sb-signed.qcow2 "$work/x/usr/lib/shim/shimx64.efi.signed" "$work/x/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed"
disk qx-sb-unsigned.qcow2 "$work/unsigned.efi"
echo "$inputs" > "$stamp"
echo "build-secure-boot-disks: Secure Boot disks ready in $out"
