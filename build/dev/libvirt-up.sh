#!/usr/bin/env bash
# Brings up libvirt on a machine without systemd (containers, CI): fixes /dev/kvm's group and
# mode, starts virtlogd and libvirtd only if they are not running, and waits until libvirt answers.
# On a machine with systemd the services are left to systemd.
set -euo pipefail
if [[ -c /dev/kvm ]]; then
  getent group kvm >/dev/null && chgrp kvm /dev/kvm
  chmod 660 /dev/kvm
fi
# swtpm's local CA (the vTPMs' endorsement certificates) must belong to the user libvirt runs swtpm
# as: tss if that user existed when libvirtd started, root otherwise. A root-run swtpm leaves
# root-owned files that make every later tss-run one fail ("Need read/write rights on
# .lock.swtpm-localca"), e.g. after swtpm-tools was installed while libvirtd was running. Owned by
# tss, both work (root reads anything).
if getent passwd tss >/dev/null && [[ -d /var/lib/swtpm-localca ]]; then
  chown -R tss:root /var/lib/swtpm-localca
fi
if [[ "$(cat /proc/1/comm 2>/dev/null)" == systemd ]]; then
  systemctl start virtlogd libvirtd >/dev/null 2>&1 || true
else
  # systemd makes / shared at boot; without it / stays private, and each mount namespace made while
  # a filesystem is mounted (every VM's under libvirt, the cluster tests' second host) keeps its own
  # copy of that mount until it ends: a loop pool's device then stays busy after its unmount.
  # Shared, the unmount reaches those (slave) copies too.
  grep -q ' / / [^-]*shared:' /proc/self/mountinfo || mount --make-rshared /
  pgrep -x virtlogd >/dev/null || virtlogd -d
  pgrep -x libvirtd >/dev/null || libvirtd -d
fi
for _ in $(seq 1 60); do
  virsh -c qemu:///system version >/dev/null 2>&1 && exit 0
  sleep 0.5
done
echo "libvirt-up: libvirtd did not answer on qemu:///system within 30 s" >&2
exit 1
