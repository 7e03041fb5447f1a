// Proto enum numbers ⇄ the lower-case strings of the REST DTOs (the UI never sees proto).
import { BootDevice, DiskBus, Firmware, NicKind, NicModel, VmState } from '@quantix/proto/v1/vm.js';
import { PoolKind, PoolState, VolumeFormat } from '@quantix/proto/v1/storage.js';
import { NetworkKind } from '@quantix/proto/v1/network.js';

function table<E extends number, S extends string>(pairs: [E, S][], fallback: S) {
  const toStr = new Map(pairs);
  const toNum = new Map(pairs.map(([n, s]) => [s, n] as const));
  return {
    str: (n: E): S => toStr.get(n) ?? fallback,
    num: (s: S): E => toNum.get(s) ?? (0 as E),
  };
}

export const vmState = table<VmState, 'running' | 'paused' | 'shutoff' | 'shutting-down' | 'crashed' | 'pmsuspended' | 'blocked' | 'unknown'>(
  [
    [VmState.VM_STATE_RUNNING, 'running'],
    [VmState.VM_STATE_PAUSED, 'paused'],
    [VmState.VM_STATE_SHUTOFF, 'shutoff'],
    [VmState.VM_STATE_SHUTTING_DOWN, 'shutting-down'],
    [VmState.VM_STATE_CRASHED, 'crashed'],
    [VmState.VM_STATE_PMSUSPENDED, 'pmsuspended'],
    [VmState.VM_STATE_BLOCKED, 'blocked'],
  ],
  'unknown',
);
export const firmware = table<Firmware, 'bios' | 'uefi'>([[Firmware.FIRMWARE_BIOS, 'bios'], [Firmware.FIRMWARE_UEFI, 'uefi']], 'bios');
export const diskBus = table<DiskBus, 'virtio' | 'sata' | 'scsi' | 'ide'>(
  [
    [DiskBus.DISK_BUS_VIRTIO, 'virtio'],
    [DiskBus.DISK_BUS_SATA, 'sata'],
    [DiskBus.DISK_BUS_SCSI, 'scsi'],
    [DiskBus.DISK_BUS_IDE, 'ide'],
  ],
  'virtio',
);
export const nicModel = table<NicModel, 'virtio' | 'e1000' | 'e1000e' | 'vmxnet3' | 'rtl8139'>(
  [
    [NicModel.NIC_MODEL_VIRTIO, 'virtio'],
    [NicModel.NIC_MODEL_E1000, 'e1000'],
    [NicModel.NIC_MODEL_E1000E, 'e1000e'],
    [NicModel.NIC_MODEL_VMXNET3, 'vmxnet3'],
    [NicModel.NIC_MODEL_RTL8139, 'rtl8139'],
  ],
  'virtio',
);
export const nicKind = table<NicKind, 'network' | 'bridge' | 'user'>(
  [
    [NicKind.NIC_KIND_NETWORK, 'network'],
    [NicKind.NIC_KIND_BRIDGE, 'bridge'],
    [NicKind.NIC_KIND_USER, 'user'],
  ],
  'user',
);
export const bootDevice = table<BootDevice, 'disk' | 'cdrom' | 'network'>(
  [
    [BootDevice.BOOT_DEVICE_DISK, 'disk'],
    [BootDevice.BOOT_DEVICE_CDROM, 'cdrom'],
    [BootDevice.BOOT_DEVICE_NETWORK, 'network'],
  ],
  'disk',
);
export const poolKind = table<PoolKind, 'loop' | 'dir'>([[PoolKind.POOL_KIND_LOOP, 'loop'], [PoolKind.POOL_KIND_DIR, 'dir']], 'dir');
export const poolState = table<PoolState, 'active' | 'inactive' | 'failed' | 'unknown'>(
  [
    [PoolState.POOL_STATE_ACTIVE, 'active'],
    [PoolState.POOL_STATE_INACTIVE, 'inactive'],
    [PoolState.POOL_STATE_FAILED, 'failed'],
  ],
  'unknown',
);
export const volumeFormat = table<VolumeFormat, 'qcow2' | 'raw' | 'iso' | 'unknown'>(
  [
    [VolumeFormat.VOLUME_FORMAT_QCOW2, 'qcow2'],
    [VolumeFormat.VOLUME_FORMAT_RAW, 'raw'],
    [VolumeFormat.VOLUME_FORMAT_ISO, 'iso'],
  ],
  'unknown',
);
export const networkKind = table<NetworkKind, 'nat' | 'isolated' | 'bridged' | 'unknown'>(
  [
    [NetworkKind.NETWORK_KIND_NAT, 'nat'],
    [NetworkKind.NETWORK_KIND_ISOLATED, 'isolated'],
    [NetworkKind.NETWORK_KIND_BRIDGED, 'bridged'],
  ],
  'unknown',
);
