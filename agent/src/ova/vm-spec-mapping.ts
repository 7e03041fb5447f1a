// OvaSpec → a suggested VmSpec. The disk bus is chosen so an imported VMware/VirtualBox/Windows
// disk boots without virtio drivers: IDE stays IDE, everything else becomes SATA (AHCI drivers
// ship with every modern OS). NIC models map to what QEMU emulates; firmware is kept. Pure.
import type { OvaSpec } from '@quantix/proto/v1/image.js';
import { firmwareNames } from '../enum-names.js';
import {
  CpuMode,
  BootDevice,
  DiskBus,
  Firmware,
  NicKind,
  NicModel,
  VideoModel,
  type VmSpec,
} from '@quantix/proto/v1/vm.js';

export interface MappedVolume {
  pool: string;
  volume: string;
}

function diskBus(controller: string): DiskBus {
  if (controller === 'ide') return DiskBus.DISK_BUS_IDE;
  if (controller === 'virtio') return DiskBus.DISK_BUS_VIRTIO;
  return DiskBus.DISK_BUS_SATA;
}

function nicModel(model: string): NicModel {
  const m = model.toLowerCase();
  if (m.includes('virtio')) return NicModel.NIC_MODEL_VIRTIO;
  if (m.includes('vmxnet')) return NicModel.NIC_MODEL_VMXNET3;
  if (m === 'e1000e') return NicModel.NIC_MODEL_E1000E;
  if (m.includes('8139')) return NicModel.NIC_MODEL_RTL8139;
  return NicModel.NIC_MODEL_E1000;
}

/** The VM name: OVF name reduced to letters, digits, ". _ -", at most 63 characters. */
export function vmNameOf(name: string): string {
  const s = name
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '')
    .slice(0, 63);
  return s || 'imported-vm';
}

/** A VmSpec for `spec` with its disks on `volumes` (same order). NICs go to `network`. */
export function suggestVmSpec(spec: OvaSpec, volumes: readonly MappedVolume[], network = 'default'): VmSpec {
  const cores = spec.coresPerSocket || 1;
  return {
    name: vmNameOf(spec.name),
    uuid: '',
    sockets: Math.max(1, Math.floor(spec.cpus / cores)),
    cores,
    memoryMib: spec.memoryMib,
    firmware: firmwareNames.value(spec.firmware) ?? Firmware.FIRMWARE_BIOS,
    machine: spec.firmware === 'efi' ? 'q35' : '',
    disks: volumes.map((v, i) => ({
      pool: v.pool,
      volume: v.volume,
      bus: diskBus(spec.disks[i]?.controller ?? ''),
      readonly: false,
    })),
    cdroms: spec.hasCdrom ? [{ pool: '', volume: '', bus: DiskBus.DISK_BUS_SATA }] : [],
    nics: spec.nics.map((n) => ({
      kind: NicKind.NIC_KIND_NETWORK,
      source: network,
      model: nicModel(n.model),
      mac: n.mac,
    })),
    bootOrder: [BootDevice.BOOT_DEVICE_DISK],
    vnc: true,
    // Standard VGA: every imported guest has a driver for it (virtio-gpu drivers are not assumed).
    videoModel: VideoModel.VIDEO_MODEL_VGA,
    description: spec.annotation,
    tags: ['imported-ova'],
    osType: spec.osType,
    cpuMode: CpuMode.CPU_MODE_UNSPECIFIED,
    cpuModel: '',
    secureBoot: false,
    tpm: false,
    autostart: false,
    autostartOrder: 0,
    autostartDelaySeconds: 0,
    maxVcpus: 0,
    maxMemoryMib: 0,
  };
}
