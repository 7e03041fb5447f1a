#!/usr/bin/env bash
# The benchmark's baseline ISO: bare Debian live (baseline-packages.txt, same pipeline, same
# compression, same GRUB menu as the appliance) whose only service is busybox httpd on port 80.
# Prints the ISO path; cached by its inputs under build/cache/baseline.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
base=$(bash "$here/build-base.sh" "$here/baseline-packages.txt")
key=$( { basename "$base"; cat "$here/build-baseline-iso.sh" "$here/grub-live.cfg"; } | sha256sum | cut -c1-16)
iso=$repo/build/cache/baseline/baseline-$key.iso
[[ -f $iso ]] && { echo "$iso"; exit 0; }

work=$repo/build/work/baseline
rm -rf "$work" && mkdir -p "$work/layer/etc/systemd/system/multi-user.target.wants" \
  "$work/layer/etc/systemd/network" "$work/layer/srv/www" "$work/iso/live" "$work/iso/boot/grub"
layer=$work/layer
echo '<h1>baseline</h1>' >"$layer/srv/www/index.html"
printf '[Match]\nName=en* eth*\n\n[Network]\nDHCP=yes\n' >"$layer/etc/systemd/network/20-wired.network"
cat >"$layer/etc/systemd/system/baseline-http.service" <<'UNIT'
[Unit]
Description=Baseline HTTP server
After=network.target
[Service]
ExecStart=/bin/busybox httpd -f -p 80 -h /srv/www
[Install]
WantedBy=multi-user.target
UNIT
ln -s /etc/systemd/system/baseline-http.service "$layer/etc/systemd/system/multi-user.target.wants/"
ln -s /lib/systemd/system/systemd-networkd.service "$layer/etc/systemd/system/multi-user.target.wants/"
mksquashfs "$layer" "$work/iso/live/10-app.squashfs" -comp zstd -noappend -quiet -all-root >/dev/null
ln "$base/base.squashfs" "$work/iso/live/00-base.squashfs"
ln "$base/vmlinuz" "$work/iso/live/vmlinuz"
ln "$base/initrd.img" "$work/iso/live/initrd.img"
printf '00-base.squashfs\n10-app.squashfs\n' >"$work/iso/live/filesystem.module"
sed "s/@VERSION@/baseline/g" "$here/grub-live.cfg" >"$work/iso/boot/grub/grub.cfg"
mkdir -p "$(dirname "$iso")"
grub-mkrescue -o "$iso.tmp" "$work/iso" -- -volid BASELINE >/dev/null 2>&1
mv "$iso.tmp" "$iso"
rm -rf "$work"
echo "$iso"
