// libvirt domain XML (as `virsh dumpxml` prints it) → VmSpec and the runtime facts around it.
// Pure; the inverse of domain-build.ts for everything the agent defines, tolerant of foreign domains.
import { XMLParser } from 'fast-xml-parser';
import { BootDevice, DiskBus, Firmware, NicKind, NicModel, type VmSpec } from '@quantix/proto/v1/vm.js';

export interface ParsedDomain {
  spec: VmSpec;
  uuid: string;
  domainType: string;
  /** MACs in NIC order, as libvirt filled them in. */
  macs: string[];
  /** Live VNC port (0 when none). */
  vncPort: number;
  /** This VM's UEFI variable store, if any. */
  nvramPath: string;
  /** Every disk and CD-ROM with its file, in XML order. */
  files: { dev: string; device: 'disk' | 'cdrom'; path: string; format: string }[];
}

const ARRAYS = new Set(['disk', 'interface', 'boot', 'tag', 'volume', 'graphics', 'listen']);
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  isArray: (name) => ARRAYS.has(name),
});

const buses: Record<string, DiskBus> = {
  virtio: DiskBus.DISK_BUS_VIRTIO,
  sata: DiskBus.DISK_BUS_SATA,
  scsi: DiskBus.DISK_BUS_SCSI,
  ide: DiskBus.DISK_BUS_IDE,
};
const models: Record<string, NicModel> = {
  virtio: NicModel.NIC_MODEL_VIRTIO,
  e1000: NicModel.NIC_MODEL_E1000,
  e1000e: NicModel.NIC_MODEL_E1000E,
  vmxnet3: NicModel.NIC_MODEL_VMXNET3,
  rtl8139: NicModel.NIC_MODEL_RTL8139,
};
const boots: Record<string, BootDevice> = {
  hd: BootDevice.BOOT_DEVICE_DISK,
  cdrom: BootDevice.BOOT_DEVICE_CDROM,
  network: BootDevice.BOOT_DEVICE_NETWORK,
};

// The parser's output is untyped by nature; these helpers keep the walking below readable.
type X = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const text = (v: unknown): string => (v === undefined || v === null ? '' : typeof v === 'object' ? String((v as X)['#text'] ?? '') : String(v));
const list = (v: unknown): X[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]) as X[];

/** Memory in MiB from a libvirt <memory unit=…> element (default KiB). */
function mib(node: unknown): number {
  const value = Number(text(node));
  const unit = (typeof node === 'object' && node ? String((node as X)['@unit'] ?? 'KiB') : 'KiB').toLowerCase();
  const factor: Record<string, number> = { b: 1 / 1048576, bytes: 1 / 1048576, kib: 1 / 1024, k: 1 / 1024, mib: 1, m: 1, gib: 1024, g: 1024, tib: 1048576, t: 1048576 };
  return Math.round(value * (factor[unit] ?? 1 / 1024));
}

export function parseDomainXml(xml: string): ParsedDomain {
  const d = (parser.parse(xml) as X).domain as X | undefined;
  if (!d) throw new Error('not a libvirt domain XML document');
  const meta = (d.metadata?.vm ?? {}) as X;
  const volumes = new Map(list(meta.volume).map((v) => [String(v['@dev']), { pool: String(v['@pool']), volume: String(v['@volume']) }]));
  const os = (d.os ?? {}) as X;
  const topology = (d.cpu?.topology ?? {}) as X;
  const vcpus = Number(text(d.vcpu)) || 1;
  const sockets = Number(topology['@sockets']) || 1;
  const cores = Number(topology['@cores']) || Math.max(1, Math.floor(vcpus / sockets));
  const devices = (d.devices ?? {}) as X;
  const files: ParsedDomain['files'] = [];
  const spec: VmSpec = {
    name: text(d.name),
    uuid: text(d.uuid),
    sockets,
    cores,
    memoryMib: mib(d.memory),
    firmware: os.loader || os['@firmware'] === 'efi' ? Firmware.FIRMWARE_UEFI : Firmware.FIRMWARE_BIOS,
    machine: String(os.type?.['@machine'] ?? ''),
    disks: [],
    cdroms: [],
    nics: [],
    bootOrder: list(os.boot).map((b) => boots[String(b['@dev'])] ?? BootDevice.BOOT_DEVICE_UNSPECIFIED),
    vnc: list(devices.graphics).some((g) => g['@type'] === 'vnc'),
    description: text(meta.description),
    tags: list(meta.tag).map(text),
    osType: text(meta['os-type']),
  };
  // libvirt sorts disks by bus; the metadata keeps the order they were defined in.
  const order = [...volumes.keys()];
  const rank = (disk: X) => {
    const i = order.indexOf(String(disk.target?.['@dev'] ?? ''));
    return i < 0 ? order.length : i;
  };
  const sorted = list(devices.disk)
    .map((disk, i) => ({ disk, i }))
    .sort((a, b) => rank(a.disk) - rank(b.disk) || a.i - b.i)
    .map((x) => x.disk);
  for (const disk of sorted) {
    const dev = String(disk.target?.['@dev'] ?? '');
    const bus = buses[String(disk.target?.['@bus'] ?? '')] ?? DiskBus.DISK_BUS_UNSPECIFIED;
    const path = String(disk.source?.['@file'] ?? disk.source?.['@dev'] ?? '');
    const ref = volumes.get(dev) ?? { pool: '', volume: path ? path.slice(path.lastIndexOf('/') + 1) : '' };
    const format = String(disk.driver?.['@type'] ?? 'raw');
    if (disk['@device'] === 'cdrom') {
      spec.cdroms.push({ pool: path ? ref.pool : '', volume: path ? ref.volume : '', bus });
      files.push({ dev, device: 'cdrom', path, format });
    } else if ((disk['@device'] ?? 'disk') === 'disk') {
      spec.disks.push({ pool: ref.pool, volume: ref.volume, bus, readonly: disk.readonly !== undefined });
      files.push({ dev, device: 'disk', path, format });
    }
  }
  const macs: string[] = [];
  for (const nic of list(devices.interface)) {
    const type = String(nic['@type']);
    const kind =
      type === 'network' ? NicKind.NIC_KIND_NETWORK : type === 'bridge' ? NicKind.NIC_KIND_BRIDGE : type === 'user' ? NicKind.NIC_KIND_USER : NicKind.NIC_KIND_UNSPECIFIED;
    const mac = String(nic.mac?.['@address'] ?? '');
    macs.push(mac);
    spec.nics.push({
      kind,
      source: String(nic.source?.['@network'] ?? nic.source?.['@bridge'] ?? ''),
      model: models[String(nic.model?.['@type'] ?? '')] ?? NicModel.NIC_MODEL_UNSPECIFIED,
      mac,
    });
  }
  const vnc = list(devices.graphics).find((g) => g['@type'] === 'vnc');
  return {
    spec,
    uuid: spec.uuid,
    domainType: String(d['@type'] ?? ''),
    macs,
    vncPort: Math.max(0, Number(vnc?.['@port'] ?? 0) || 0),
    nvramPath: text(os.nvram),
    files,
  };
}
