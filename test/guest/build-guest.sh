#!/usr/bin/env bash
# Builds the test guest used by every VM and console test: a Debian kernel plus a
# busybox-static initramfs, packed as a BIOS-bootable hybrid ISO (CD-ROM or disk) and a qcow2.
# Output is cached in build/cache/guest and rebuilt only when this script or init changes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${QX_GUEST_DIR:-$root/build/cache/guest}
stamp="$out/.inputs"
inputs=$(cat "$here/build-guest.sh" "$here/init.sh" "$here/udhcpc.script" | sha256sum | cut -c1-16)
if [[ -f "$stamp" && "$(cat "$stamp")" == "$inputs" && -f "$out/qx-test-guest.iso" && -f "$out/qx-test-guest.qcow2" ]]; then
  exit 0
fi
mkdir -p "$out/debs"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

kpkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
[[ -n "$kpkg" ]] || { echo "build-guest: cannot resolve the kernel package (run apt-get update)" >&2; exit 1; }
(cd "$out/debs" && { ls "$kpkg"_*.deb >/dev/null 2>&1 || apt-get download "$kpkg"; } \
  && { ls busybox-static_*.deb >/dev/null 2>&1 || apt-get download busybox-static; } \
  && { ls qemu-guest-agent_*.deb >/dev/null 2>&1 || apt-get download qemu-guest-agent; }) 2>&1 | grep -v '^W: Download is performed unsandboxed' || true
dpkg-deb -x "$(ls "$out"/debs/"$kpkg"_*.deb | head -1)" "$work/k"
dpkg-deb -x "$(ls "$out"/debs/busybox-static_*.deb | head -1)" "$work/bb"
dpkg-deb -x "$(ls "$out"/debs/qemu-guest-agent_*.deb | head -1)" "$work/qga"

ir="$work/initramfs"
mkdir -p "$ir"/{bin,sbin,etc/acpi/PWRF,proc,sys,dev,tmp,run,lib/modules,usr/share/udhcpc,var/run}
cp "$work/bb/bin/busybox" "$ir/bin/busybox"
for applet in $("$ir/bin/busybox" --list); do
  [[ -e "$ir/bin/$applet" ]] || ln -s busybox "$ir/bin/$applet"
done
kver=$(ls "$work/k/lib/modules")
for m in drivers/input/evdev.ko drivers/acpi/button.ko drivers/net/ethernet/intel/e1000/e1000.ko; do
  cp "$work/k/lib/modules/$kver/kernel/$m" "$ir/lib/modules/"
done
# virtio (disks hot-added on virtio, the guest agent's virtio-serial port, the memory balloon) and SATA
# CD-ROMs, in load order.
for m in virtio/virtio_ring virtio/virtio virtio/virtio_pci_legacy_dev virtio/virtio_pci_modern_dev virtio/virtio_pci \
  virtio/virtio_balloon block/virtio_blk char/virtio_console scsi/scsi_common scsi/scsi_mod cdrom/cdrom scsi/sr_mod ata/libata ata/libahci ata/ahci; do
  cp "$work/k/lib/modules/$kver/kernel/drivers/$m.ko" "$ir/lib/modules/"
done
# ext4 (its dependencies first) and loop, loaded by a test that needs a filesystem the guest agent
# can freeze (a loop-mounted image; tmpfs and the initramfs are not frozen): not at boot.
for m in lib/crc16 fs/mbcache fs/jbd2/jbd2 crypto/crc32c_generic fs/ext4/ext4 drivers/block/loop; do
  cp "$work/k/lib/modules/$kver/kernel/$m.ko" "$ir/lib/modules/"
done
# efivarfs, for the SecureBoot variable a Secure Boot guest reports. The TPM drivers (tpm, tpm_tis_core,
# tpm_tis, tpm_crb) are built into Debian's kernel; copied too should a kernel ship them as modules.
cp "$work/k/lib/modules/$kver/kernel/fs/efivarfs/efivarfs.ko" "$ir/lib/modules/"
for m in tpm tpm_tis_core tpm_tis tpm_crb; do
  [[ ! -f "$work/k/lib/modules/$kver/kernel/drivers/char/tpm/$m.ko" ]] || cp "$work/k/lib/modules/$kver/kernel/drivers/char/tpm/$m.ko" "$ir/lib/modules/"
done
# qemu-ga (Debian's qemu-guest-agent) with the shared libraries it links, resolved on this host.
mkdir -p "$ir/usr/sbin" "$ir/lib64" "$ir/lib/x86_64-linux-gnu"
cp "$work/qga/usr/sbin/qemu-ga" "$ir/usr/sbin/qemu-ga"
for lib in $(ldd "$work/qga/usr/sbin/qemu-ga" | awk '/=> \//{print $3} /^[ \t]*\/lib64\//{print $1}'); do
  cp -L "$lib" "$ir$lib"
done
install -m 0755 "$here/init.sh" "$ir/init"
install -m 0755 "$here/udhcpc.script" "$ir/usr/share/udhcpc/default.script"
# busybox acpid runs /etc/acpi/<EVENT>/<CODE>: the power button powers the guest off.
printf '#!/bin/sh\necho "qx-guest: ACPI power button, powering off"\npoweroff -f\n' > "$ir/etc/acpi/PWRF/00000080"
chmod 0755 "$ir/etc/acpi/PWRF/00000080"
# qemu-ga's guest-shutdown runs /sbin/shutdown (-P/-H/-r +0), which busybox lacks: say so on the
# console, then power off, or reboot for -r (libvirt reboots through the guest agent when it runs).
printf '#!/bin/sh\necho "qx-guest: shutdown $*" >/dev/ttyS0\ncase " $* " in *" -r "*) reboot -f ;; *) poweroff -f ;; esac\n' > "$ir/sbin/shutdown"
chmod 0755 "$ir/sbin/shutdown"
(cd "$ir" && find . | cpio -o -H newc --quiet | gzip -9) > "$work/initrd.img"

iso="$work/iso"
mkdir -p "$iso/boot/grub"
cp "$work/k/boot/vmlinuz-$kver" "$iso/boot/vmlinuz"
cp "$work/initrd.img" "$iso/boot/initrd.img"
cat > "$iso/boot/grub/grub.cfg" <<'CFG'
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
set timeout=0
menuentry "Quantix test guest" {
  linux /boot/vmlinuz console=ttyS0,115200 quiet loglevel=3 panic=-1
  initrd /boot/initrd.img
}
CFG
grub-mkrescue -o "$work/qx-test-guest.iso" "$iso" >"$work/mkrescue.log" 2>&1 || { cat "$work/mkrescue.log" >&2; exit 1; }
qemu-img convert -f raw -O qcow2 "$work/qx-test-guest.iso" "$work/qx-test-guest.qcow2"
# Each file copied beside its place, then renamed over it: tests running meanwhile see the old or the new file, never half of one.
for f in "$iso/boot/vmlinuz" "$work/initrd.img" "$work/qx-test-guest.iso" "$work/qx-test-guest.qcow2"; do
  cp "$f" "$out/.$(basename "$f").new" && mv -f "$out/.$(basename "$f").new" "$out/$(basename "$f")"
done
echo "$inputs" > "$stamp"
echo "build-guest: test guest ready in $out"
