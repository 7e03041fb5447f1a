#!/usr/bin/env bash
# Runs inside the base rootfs chroot: trims it and sets the few base facts that belong to the OS
# layer (hostname, root locked, journald volatile). Appliance config lives in overlay/ (app layer).
set -euo pipefail
echo quantix >/etc/hostname
printf '127.0.0.1 localhost\n127.0.1.1 quantix\n::1 localhost\n' >/etc/hosts
passwd -l root >/dev/null
ln -sf /usr/share/zoneinfo/Etc/UTC /etc/localtime
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /usr/share/doc/* /usr/share/man/* /usr/share/info/* /usr/share/locale/* \
  /var/log/*.log /var/cache/debconf/*-old /etc/machine-id /var/lib/dbus/machine-id
touch /etc/machine-id
# QEMU ships firmware for other architectures' boards in qemu-system-data; keep x86 only.
find /usr/share/qemu -maxdepth 1 \( -name '*ppc*' -o -name '*s390*' -o -name 'u-boot*' -o -name 'opensbi*' -o -name 'edk2-arm*' -o -name 'edk2-aarch64*' -o -name 'hppa*' -o -name '*sparc*' -o -name 'openbios*' -o -name 'skiboot*' -o -name 'qemu_vga.ndrv' -o -name 'palcode*' \) -exec rm -rf {} + 2>/dev/null || true
# Kernel modules the appliance never needs (wireless, sound, media, GPU besides basic).
rm -rf /lib/modules/*/kernel/drivers/{net/wireless,media,staging,infiniband,gpu/drm/amd,gpu/drm/nouveau,gpu/drm/i915,gpu/drm/radeon,bluetooth,isdn} \
  /lib/modules/*/kernel/sound /lib/modules/*/kernel/net/{bluetooth,mac80211,wireless} /lib/firmware/* 2>/dev/null || true
for k in /lib/modules/*; do depmod "$(basename "$k")"; done
