#!/bin/sh
# PID 1 of the Quantix test guest. Prints a known banner on ttyS0, echoes every input line
# with a known prefix (a line starting with "qx-run " is run as a command, for network tests), gets an address by DHCP when it has a NIC, and powers off on ACPI.
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
for m in evdev button e1000 virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_balloon virtio_blk \
  virtio_console scsi_common scsi_mod cdrom sr_mod libata libahci ahci tpm tpm_tis_core tpm_tis tpm_crb; do
  [ -f /lib/modules/$m.ko ] && insmod /lib/modules/$m.ko 2>/dev/null
done
# The TPM the kernel found (tpm_tis/tpm_crb), and under UEFI the SecureBoot variable's value (its last
# byte: 1 enabled, 0 disabled): tests of TPM and Secure Boot VMs read these lines.
if [ -e /sys/class/tpm/tpm0 ]; then
  echo "qx-guest: tpm0 TPM version $(cat /sys/class/tpm/tpm0/tpm_version_major 2>/dev/null) driver $(basename "$(readlink /sys/class/tpm/tpm0/device/driver)")"
else
  echo "qx-guest: no TPM found"
fi
if [ -d /sys/firmware/efi ]; then
  insmod /lib/modules/efivarfs.ko 2>/dev/null
  mount -t efivarfs efivarfs /sys/firmware/efi/efivars
  sb=/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c
  if [ -e "$sb" ]; then
    echo "qx-guest: SecureBoot efivar $(od -An -tu1 "$sb" | awk '{print $NF}')"
  else
    echo "qx-guest: SecureBoot efivar absent"
  fi
else
  echo "qx-guest: no EFI (BIOS boot)"
fi
# qemu-ga on the guest agent's virtio-serial port, found by name (no udev makes /dev/virtio-ports/).
for p in /sys/class/virtio-ports/*; do
  [ "$(cat "$p/name" 2>/dev/null)" = org.qemu.guest_agent.0 ] && /usr/sbin/qemu-ga -d -m virtio-serial -p "/dev/${p##*/}" -t /run
done
# acpid only watches the event nodes present when it starts: wait for the power button's node.
i=0
while [ $i -lt 50 ]; do
  pb=$(grep -l "Power Button" /sys/class/input/event*/device/name 2>/dev/null | head -n1)
  [ -n "$pb" ] && [ -e "/dev/input/$(basename "$(dirname "$(dirname "$pb")")")" ] && break
  sleep 0.1; i=$((i + 1))
done
# -d: log to stderr (busybox acpid otherwise needs /var/log/acpid.log) and stay in the foreground.
acpid -d -c /etc/acpi </dev/null >/dev/null 2>&1 &
ip link set lo up
if ip link show eth0 >/dev/null 2>&1; then
  ip link set eth0 up
  udhcpc -i eth0 -b -q -t 20 -T 1 -s /usr/share/udhcpc/default.script >/dev/null 2>&1 &
fi
# The VGA console (tty1), for graphical-console tests: a banner there, every line typed there is
# echoed on tty1 and reported on ttyS0, and Ctrl-Alt-Del (SIGINT to PID 1 once the kernel is told
# not to reboot at once) is reported on ttyS0.
echo 0 >/proc/sys/kernel/ctrl-alt-del
trap 'echo "qx-ctrl-alt-del" >/dev/ttyS0' INT
if [ -c /dev/tty1 ]; then
  (
    echo "QUANTIX-TEST-GUEST VGA READY"
    while read -r line; do echo "qx-vga: $line"; echo "qx-vga: $line" >/dev/ttyS0; done
  ) </dev/tty1 >/dev/tty1 2>&1 &
fi
echo ""
echo "QUANTIX-TEST-GUEST READY"
while true; do
  if read -r line; then
    case "$line" in
      "qx-run "*) sh -c "${line#qx-run }" 2>&1; echo "qx-run-done: $?" ;;
      *) echo "qx-echo: $line" ;;
    esac
  else
    sleep 1
  fi
done </dev/ttyS0 >/dev/ttyS0 2>&1
