// Proto enum ⇄ string tables of the agent, all in one place: the names libvirt writes in domain
// XML (disk bus, NIC model and kind, boot device), the names OVF uses (NIC ResourceSubType,
// firmware), and the agent's own names for pool kinds, volume formats and network kinds.
import { PoolKind, VolumeFormat } from '@quantix/proto/v1/storage.js';
import { NetworkKind } from '@quantix/proto/v1/network.js';
import { BootDevice, DiskBus, Firmware, NicKind, NicModel, VideoModel } from '@quantix/proto/v1/vm.js';

/** A two-way table between proto enum values and names; undefined for what it does not list. */
export interface EnumNames<E extends number, S extends string> {
  name(value: E): S | undefined;
  value(name: string): E | undefined;
}

function enumNames<E extends number, S extends string>(pairs: readonly (readonly [E, S])[]): EnumNames<E, S> {
  const names = new Map<E, S>(pairs);
  const values = new Map<string, E>(pairs.map(([v, n]) => [n, v]));
  return { name: (value) => names.get(value), value: (name) => values.get(name) };
}

/** libvirt <target bus>. */
export const diskBusNames = enumNames<DiskBus, 'virtio' | 'sata' | 'scsi' | 'ide'>([
  [DiskBus.DISK_BUS_VIRTIO, 'virtio'],
  [DiskBus.DISK_BUS_SATA, 'sata'],
  [DiskBus.DISK_BUS_SCSI, 'scsi'],
  [DiskBus.DISK_BUS_IDE, 'ide'],
]);

/** libvirt <interface><model type>. */
export const nicModelNames = enumNames<NicModel, string>([
  [NicModel.NIC_MODEL_VIRTIO, 'virtio'],
  [NicModel.NIC_MODEL_E1000, 'e1000'],
  [NicModel.NIC_MODEL_E1000E, 'e1000e'],
  [NicModel.NIC_MODEL_VMXNET3, 'vmxnet3'],
  [NicModel.NIC_MODEL_RTL8139, 'rtl8139'],
]);

/** OVF EthernetPortItem ResourceSubType as VMware's ovftool writes it (what an OVA export writes). */
export const ovfNicModelNames = enumNames<NicModel, string>([
  [NicModel.NIC_MODEL_VIRTIO, 'VirtioNet'],
  [NicModel.NIC_MODEL_E1000, 'E1000'],
  [NicModel.NIC_MODEL_E1000E, 'E1000e'],
  [NicModel.NIC_MODEL_VMXNET3, 'VmxNet3'],
  [NicModel.NIC_MODEL_RTL8139, 'RTL8139'],
]);

/** libvirt <interface type>. */
export const nicKindNames = enumNames<NicKind, 'network' | 'bridge' | 'user'>([
  [NicKind.NIC_KIND_NETWORK, 'network'],
  [NicKind.NIC_KIND_BRIDGE, 'bridge'],
  [NicKind.NIC_KIND_USER, 'user'],
]);

/** libvirt <video><model type>. */
export const videoModelNames = enumNames<VideoModel, 'virtio' | 'vga' | 'qxl' | 'none'>([
  [VideoModel.VIDEO_MODEL_VIRTIO, 'virtio'],
  [VideoModel.VIDEO_MODEL_VGA, 'vga'],
  [VideoModel.VIDEO_MODEL_QXL, 'qxl'],
  [VideoModel.VIDEO_MODEL_NONE, 'none'],
]);

/** libvirt <os><boot dev>. */
export const bootDeviceNames = enumNames<BootDevice, 'hd' | 'cdrom' | 'network'>([
  [BootDevice.BOOT_DEVICE_DISK, 'hd'],
  [BootDevice.BOOT_DEVICE_CDROM, 'cdrom'],
  [BootDevice.BOOT_DEVICE_NETWORK, 'network'],
]);

/** OvaSpec.firmware (the OVF side). */
export const firmwareNames = enumNames<Firmware, 'bios' | 'efi'>([
  [Firmware.FIRMWARE_BIOS, 'bios'],
  [Firmware.FIRMWARE_UEFI, 'efi'],
]);

/** Pool kinds as stored in the pool records. */
export const poolKindNames = enumNames<PoolKind, 'loop' | 'dir'>([
  [PoolKind.POOL_KIND_LOOP, 'loop'],
  [PoolKind.POOL_KIND_DIR, 'dir'],
]);

/** Volume formats as recorded (storage/volume-formats.ts), probed and uploaded. */
export const volumeFormatNames = enumNames<VolumeFormat, 'qcow2' | 'raw' | 'iso'>([
  [VolumeFormat.VOLUME_FORMAT_QCOW2, 'qcow2'],
  [VolumeFormat.VOLUME_FORMAT_RAW, 'raw'],
  [VolumeFormat.VOLUME_FORMAT_ISO, 'iso'],
]);

/** Network kinds as kept in the network XML's Quantix metadata. */
export const networkKindNames = enumNames<NetworkKind, 'nat' | 'isolated' | 'bridged'>([
  [NetworkKind.NETWORK_KIND_NAT, 'nat'],
  [NetworkKind.NETWORK_KIND_ISOLATED, 'isolated'],
  [NetworkKind.NETWORK_KIND_BRIDGED, 'bridged'],
]);

/** VmSpec.os_type: no proto enum, the names are the values. */
export const OS_TYPES: readonly string[] = ['', 'linux', 'windows', 'other'];
