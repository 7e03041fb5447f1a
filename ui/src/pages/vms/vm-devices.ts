// What the devices panel offers (qx-vm-devices.ts): which volumes can go into a CD-ROM drive or be
// attached as a disk, and why a disk cannot be unplugged from a running VM. Pure; unit-tested.
import type { VolumeDto } from '@dto/storage.js';
import type { VmDto } from '@dto/vms.js';
import type { DiskBus } from '@dto/enums.js';

/** ISO images for a CD-ROM drive; for a disk, the non-ISO volumes no VM uses (this one included). */
export function volumeChoices(
  volumes: readonly VolumeDto[],
  vm: Pick<VmDto, 'disks'>,
  kind: 'iso' | 'disk',
): VolumeDto[] {
  if (kind === 'iso') return volumes.filter((v) => v.format === 'iso');
  const mine = new Set(vm.disks.map((d) => `${d.pool}/${d.volume}`));
  return volumes.filter((v) => v.format !== 'iso' && !v.usedBy.length && !mine.has(`${v.pool}/${v.name}`));
}

/** Why a disk on `bus` cannot be detached now, or undefined: QEMU hot-unplugs only virtio and SCSI. */
export function hotplugRefusal(running: boolean, bus: DiskBus): string | undefined {
  if (!running || bus === 'virtio' || bus === 'scsi') return undefined;
  return `a ${bus.toUpperCase()} disk cannot be unplugged while the VM runs: shut it down first`;
}

/** "order 10, 30 s delay", "order 0" or "off": a VM's autostart in a list cell or a property. */
export function autostartLabel(vm: Pick<VmDto, 'autostart' | 'autostartOrder' | 'autostartDelaySeconds'>): string {
  if (!vm.autostart) return 'off';
  return `order ${vm.autostartOrder}${vm.autostartDelaySeconds ? `, ${vm.autostartDelaySeconds} s delay` : ''}`;
}
