// Proto enum numbers ⇄ the strings of the REST contract (the value lists in dto/enums.ts), one
// table per enum and no other copy on the server. Each table names every REST value (its Record
// type makes the compiler check that); a number the server does not know reads as the fallback.
import {
  BootDevice,
  CpuMode,
  DiskBus,
  Firmware,
  NicKind,
  NicModel,
  VideoModel,
  VmState,
} from '@quantix/proto/v1/vm.js';
import { PoolKind, PoolState, VolumeFormat } from '@quantix/proto/v1/storage.js';
import { NetworkKind } from '@quantix/proto/v1/network.js';
import { BackupConsistency, BackupKind } from '@quantix/proto/v1/backup.js';
import type { BACKUP_CONSISTENCIES, BACKUP_KINDS } from '../dto/backups.js';
import type * as Rest from '../dto/enums.js';

function table<E extends number, S extends string, F extends string = S>(byName: Record<S, E>, fallback: F) {
  const names = new Map<number, S>((Object.entries(byName) as [S, E][]).map(([s, n]) => [n, s]));
  return {
    str: (n: E): S | F => names.get(n) ?? fallback,
    num: (s: S): E => byName[s],
  };
}

export const vmState = table<VmState, Exclude<Rest.VmState, 'unknown'>, 'unknown'>(
  {
    running: VmState.VM_STATE_RUNNING,
    paused: VmState.VM_STATE_PAUSED,
    shutoff: VmState.VM_STATE_SHUTOFF,
    'shutting-down': VmState.VM_STATE_SHUTTING_DOWN,
    crashed: VmState.VM_STATE_CRASHED,
    pmsuspended: VmState.VM_STATE_PMSUSPENDED,
    blocked: VmState.VM_STATE_BLOCKED,
  },
  'unknown',
);
export const firmware = table<Firmware, Rest.Firmware>(
  { bios: Firmware.FIRMWARE_BIOS, uefi: Firmware.FIRMWARE_UEFI },
  'bios',
);
export const diskBus = table<DiskBus, Rest.DiskBus>(
  {
    virtio: DiskBus.DISK_BUS_VIRTIO,
    sata: DiskBus.DISK_BUS_SATA,
    scsi: DiskBus.DISK_BUS_SCSI,
    ide: DiskBus.DISK_BUS_IDE,
  },
  'virtio',
);
export const nicModel = table<NicModel, Rest.NicModel>(
  {
    virtio: NicModel.NIC_MODEL_VIRTIO,
    e1000: NicModel.NIC_MODEL_E1000,
    e1000e: NicModel.NIC_MODEL_E1000E,
    vmxnet3: NicModel.NIC_MODEL_VMXNET3,
    rtl8139: NicModel.NIC_MODEL_RTL8139,
  },
  'virtio',
);
export const nicKind = table<NicKind, Rest.NicKind>(
  { network: NicKind.NIC_KIND_NETWORK, bridge: NicKind.NIC_KIND_BRIDGE, user: NicKind.NIC_KIND_USER },
  'user',
);
/** 'default': a VM defined before CPU models (QEMU's own default CPU). */
export const cpuMode = table<CpuMode, Rest.CpuMode, 'default'>(
  {
    'host-passthrough': CpuMode.CPU_MODE_HOST_PASSTHROUGH,
    'host-model': CpuMode.CPU_MODE_HOST_MODEL,
    named: CpuMode.CPU_MODE_NAMED,
    max: CpuMode.CPU_MODE_MAX,
  },
  'default',
);
export const bootDevice = table<BootDevice, Rest.BootDevice>(
  { disk: BootDevice.BOOT_DEVICE_DISK, cdrom: BootDevice.BOOT_DEVICE_CDROM, network: BootDevice.BOOT_DEVICE_NETWORK },
  'disk',
);
export const videoModel = table<VideoModel, Rest.VideoModel>(
  {
    virtio: VideoModel.VIDEO_MODEL_VIRTIO,
    vga: VideoModel.VIDEO_MODEL_VGA,
    qxl: VideoModel.VIDEO_MODEL_QXL,
    none: VideoModel.VIDEO_MODEL_NONE,
  },
  'none',
);
export const poolKind = table<PoolKind, Rest.PoolKind>(
  { loop: PoolKind.POOL_KIND_LOOP, dir: PoolKind.POOL_KIND_DIR },
  'dir',
);
export const poolState = table<PoolState, Exclude<Rest.PoolState, 'unknown'>, 'unknown'>(
  {
    active: PoolState.POOL_STATE_ACTIVE,
    inactive: PoolState.POOL_STATE_INACTIVE,
    failed: PoolState.POOL_STATE_FAILED,
    starting: PoolState.POOL_STATE_STARTING,
  },
  'unknown',
);
export const volumeFormat = table<VolumeFormat, Rest.VolumeFormat, 'unknown'>(
  { qcow2: VolumeFormat.VOLUME_FORMAT_QCOW2, raw: VolumeFormat.VOLUME_FORMAT_RAW, iso: VolumeFormat.VOLUME_FORMAT_ISO },
  'unknown',
);
export const networkKind = table<NetworkKind, Rest.NetworkKind, 'unknown'>(
  {
    nat: NetworkKind.NETWORK_KIND_NAT,
    isolated: NetworkKind.NETWORK_KIND_ISOLATED,
    bridged: NetworkKind.NETWORK_KIND_BRIDGED,
  },
  'unknown',
);
export const backupKind = table<BackupKind, (typeof BACKUP_KINDS)[number]>(
  { full: BackupKind.BACKUP_KIND_FULL, incremental: BackupKind.BACKUP_KIND_INCREMENTAL },
  'full',
);
/** An unknown consistency reads as the weakest, crash-consistent. */
export const backupConsistency = table<BackupConsistency, (typeof BACKUP_CONSISTENCIES)[number]>(
  {
    application: BackupConsistency.BACKUP_CONSISTENCY_APPLICATION,
    crash: BackupConsistency.BACKUP_CONSISTENCY_CRASH,
    stopped: BackupConsistency.BACKUP_CONSISTENCY_STOPPED,
  },
  'crash',
);
