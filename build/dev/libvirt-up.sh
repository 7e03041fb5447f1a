#!/usr/bin/env bash
# Brings up libvirt on a machine without systemd (containers, CI): fixes /dev/kvm's group and
# mode, starts virtlogd and libvirtd only if they are not running, and waits until libvirt answers.
# On a machine with systemd the services are left to systemd.
set -euo pipefail
if [[ -c /dev/kvm ]]; then
  getent group kvm >/dev/null && chgrp kvm /dev/kvm
  chmod 660 /dev/kvm
fi
if [[ "$(cat /proc/1/comm 2>/dev/null)" == systemd ]]; then
  systemctl start virtlogd libvirtd >/dev/null 2>&1 || true
else
  pgrep -x virtlogd >/dev/null || virtlogd -d
  pgrep -x libvirtd >/dev/null || libvirtd -d
fi
for _ in $(seq 1 60); do
  virsh -c qemu:///system version >/dev/null 2>&1 && exit 0
  sleep 0.5
done
echo "libvirt-up: libvirtd did not answer on qemu:///system within 30 s" >&2
exit 1
