// libvirt domain XML (as `virsh dumpxml` prints it) → DomainXml, the one typed reading every module
// uses (VM read, network and disk users, OVA export), and → VmSpec with the runtime facts around it.
// Pure; the inverse of domain-build.ts for everything the agent defines, tolerant of foreign domains.
import { BootDevice, DiskBus, Firmware, NicKind, NicModel, VideoModel, type VmSpec } from '@quantix/proto/v1/vm.js';
import { bootDeviceNames, diskBusNames, nicKindNames, nicModelNames, videoModelNames } from '../../enum-names.js';
import { xmlAttr, xmlList, xmlReader, xmlText, xmlTexts, type XmlNode } from './parser.js';
import { readCpu } from '../../vm/cpu-model.js';
import { GUEST_AGENT_CHANNEL } from './domain-build.js';

export interface ParsedDomain {
  spec: VmSpec;
  uuid: string;
  domainType: string;
  /** MACs in NIC order, as libvirt filled them in. */
  macs: string[];
  /** The live VNC Unix socket QEMU listens on ('' when none or not running). */
  vncSocket: string;
  /** This VM's UEFI variable store, if any. */
  nvramPath: string;
  /** The live XML says qemu-ga has the guest agent channel open. */
  guestAgentConnected: boolean;
  /** Every disk and CD-ROM with its file, in XML order. */
  files: { dev: string; device: 'disk' | 'cdrom'; path: string; format: string }[];
}

/** A <disk> as libvirt wrote it. */
export interface DomainDisk {
  /** "disk", "cdrom", "floppy", "lun". */
  device: string;
  /** Target device name (vda, sdb, …). */
  dev: string;
  bus: string;
  /** The first <source>'s attributes that name what the disk reads. */
  source: { file?: string; dev?: string; pool?: string; volume?: string };
  /** <driver type>; libvirt never probes a disk's format, so none means raw. */
  format: string;
  readonly: boolean;
}

/** An <interface> as libvirt wrote it; '' for what it lacks. */
export interface DomainInterface {
  /** "network", "bridge", "user", … */
  type: string;
  network: string;
  bridge: string;
  /** <model type>: "virtio", "e1000", … */
  model: string;
  mac: string;
}

/** The domain XML read into types, close to the document: what every reader of domain XML uses. */
export interface DomainXml {
  /** The domain's type attribute ("kvm", "qemu"). */
  type: string;
  name: string;
  uuid: string;
  /** libvirt's own <description> (not the Quantix metadata's). */
  description: string;
  memoryBytes: number;
  /** <currentMemory> (what the balloon leaves the guest), <memory> when absent. */
  currentMemoryBytes: number;
  /** <vcpu>: the maximum; `current` of them are plugged. */
  vcpus: number;
  currentVcpus: number;
  /** <cpu><topology>, each count undefined when not written. */
  topology: { sockets?: number; cores?: number; threads?: number };
  os: { efi: boolean; machine: string; boot: string[]; nvram: string; secureBoot: boolean };
  /** <cpu> mode and model (cpu-model.ts). */
  cpu: ReturnType<typeof readCpu>;
  /** A <tpm> device is defined. */
  tpm: boolean;
  disks: DomainDisk[];
  interfaces: DomainInterface[];
  /** <graphics>: type, and the Unix socket libvirt chose for it ('' when it listens elsewhere). */
  graphics: { type: string; socket: string }[];
  /** The first <video><model type> ("virtio", "vga", "qxl", …), '' when none. */
  video: string;
  /** The guest agent's channel: absent, or its live state ("connected", "disconnected", '' when off). */
  guestAgent: { present: boolean; state: string };
  /** The Quantix metadata element (<qx:vm>): volumes by target dev, description, tags, OS type. */
  meta: {
    volumes: Map<string, { pool: string; volume: string }>;
    description: string;
    tags: string[];
    osType: string;
    /** <qx:autostart enabled order delay>; all off/0 when absent. */
    autostart: { enabled: boolean; order: number; delaySeconds: number };
  };
}

const read = xmlReader(['disk', 'interface', 'boot', 'tag', 'volume', 'graphics', 'listen', 'channel']);

/** Bytes per libvirt memory unit (https://libvirt.org/formatdomain.html#memory-allocation); none = KiB. */
const MEMORY_UNIT_BYTES: Record<string, number> = {
  b: 1,
  bytes: 1,
  k: 2 ** 10,
  kib: 2 ** 10,
  m: 2 ** 20,
  mib: 2 ** 20,
  g: 2 ** 30,
  gib: 2 ** 30,
  t: 2 ** 40,
  tib: 2 ** 40,
};

function memoryBytes(node: unknown): number {
  const unit = (xmlAttr(node, 'unit') || 'KiB').toLowerCase();
  return Number(xmlText(node)) * (MEMORY_UNIT_BYTES[unit] ?? 2 ** 10);
}

const count = (raw: string): number | undefined => (raw === '' ? undefined : Number(raw));
const optional = (raw: string): string | undefined => (raw === '' ? undefined : raw);

/** Reads domain XML (`virsh dumpxml`) into a DomainXml; throws if the document is no domain. */
export function readDomainXml(xml: string): DomainXml {
  const d = read(xml).domain as XmlNode | undefined;
  if (!d || typeof d !== 'object') throw new Error('not a libvirt domain XML document');
  const meta = (d.metadata?.vm ?? {}) as XmlNode;
  const os = (d.os ?? {}) as XmlNode;
  const topology = d.cpu?.topology as XmlNode | undefined;
  const devices = (d.devices ?? {}) as XmlNode;
  return {
    type: xmlAttr(d, 'type'),
    name: xmlText(d.name),
    uuid: xmlText(d.uuid),
    description: xmlText(d.description),
    memoryBytes: memoryBytes(d.memory),
    currentMemoryBytes: d.currentMemory ? memoryBytes(d.currentMemory) : memoryBytes(d.memory),
    vcpus: Number(xmlText(d.vcpu)),
    currentVcpus: Number(xmlAttr(d.vcpu, 'current')) || Number(xmlText(d.vcpu)),
    topology: {
      sockets: count(xmlAttr(topology, 'sockets')),
      cores: count(xmlAttr(topology, 'cores')),
      threads: count(xmlAttr(topology, 'threads')),
    },
    os: {
      efi: Boolean(os.loader) || xmlAttr(os, 'firmware') === 'efi',
      machine: xmlAttr(os.type, 'machine'),
      boot: xmlList(os.boot).map((b) => xmlAttr(b, 'dev')),
      nvram: xmlText(os.nvram),
      secureBoot: xmlAttr(os.loader, 'secure') === 'yes',
    },
    cpu: readCpu(d.cpu as XmlNode | undefined),
    tpm: devices.tpm !== undefined,
    disks: xmlList(devices.disk).map((disk) => {
      const source = xmlList(disk.source)[0];
      return {
        device: xmlAttr(disk, 'device') || 'disk',
        dev: xmlAttr(disk.target, 'dev'),
        bus: xmlAttr(disk.target, 'bus'),
        source: {
          file: optional(xmlAttr(source, 'file')),
          dev: optional(xmlAttr(source, 'dev')),
          pool: optional(xmlAttr(source, 'pool')),
          volume: optional(xmlAttr(source, 'volume')),
        },
        format: xmlAttr(disk.driver, 'type') || 'raw',
        readonly: disk.readonly !== undefined,
      };
    }),
    interfaces: xmlList(devices.interface).map((nic) => ({
      type: xmlAttr(nic, 'type'),
      network: xmlAttr(nic.source, 'network'),
      bridge: xmlAttr(nic.source, 'bridge'),
      model: xmlAttr(nic.model, 'type'),
      mac: xmlAttr(nic.mac, 'address'),
    })),
    graphics: xmlList(devices.graphics).map((g) => ({
      type: xmlAttr(g, 'type'),
      socket:
        xmlAttr(g, 'socket') ||
        xmlList(g.listen)
          .map((l) => xmlAttr(l, 'socket'))
          .find(Boolean) ||
        '',
    })),
    video: xmlAttr(xmlList(devices.video)[0]?.model, 'type'),
    guestAgent: guestAgentChannel(devices),
    meta: {
      volumes: new Map(
        xmlList(meta.volume).map((v) => [
          xmlAttr(v, 'dev'),
          { pool: xmlAttr(v, 'pool'), volume: xmlAttr(v, 'volume') },
        ]),
      ),
      description: xmlText(meta.description),
      tags: xmlTexts(meta.tag),
      osType: xmlText(meta['os-type']),
      autostart: {
        enabled: xmlAttr(meta.autostart, 'enabled') === 'yes',
        order: Number(xmlAttr(meta.autostart, 'order')) || 0,
        delaySeconds: Number(xmlAttr(meta.autostart, 'delay')) || 0,
      },
    },
  };
}

function guestAgentChannel(devices: XmlNode): DomainXml['guestAgent'] {
  const ch = xmlList(devices.channel).find((c) => xmlAttr(c.target, 'name') === GUEST_AGENT_CHANNEL);
  return { present: Boolean(ch), state: ch ? xmlAttr(ch.target, 'state') : '' };
}

/** Domain XML → the VmSpec it was defined from, plus the runtime facts around it. */
export function parseDomainXml(xml: string): ParsedDomain {
  const d = readDomainXml(xml);
  const vcpus = d.vcpus || 1;
  const current = d.currentVcpus || vcpus;
  const cores = d.topology.cores || Math.max(1, Math.floor(vcpus / (d.topology.sockets || 1)));
  // The topology spans the hotplug maximum: the sockets plugged now are current / cores.
  const sockets = Math.max(1, Math.floor(current / cores));
  const memoryMib = Math.round(d.currentMemoryBytes / 2 ** 20);
  const maxMemoryMib = Math.round(d.memoryBytes / 2 ** 20);
  const files: ParsedDomain['files'] = [];
  const spec: VmSpec = {
    name: d.name,
    uuid: d.uuid,
    sockets,
    cores,
    memoryMib,
    maxMemoryMib: maxMemoryMib > memoryMib ? maxMemoryMib : 0,
    maxVcpus: vcpus > sockets * cores ? vcpus : 0,
    firmware: d.os.efi ? Firmware.FIRMWARE_UEFI : Firmware.FIRMWARE_BIOS,
    machine: d.os.machine,
    disks: [],
    cdroms: [],
    nics: [],
    bootOrder: d.os.boot.map((b) => bootDeviceNames.value(b) ?? BootDevice.BOOT_DEVICE_UNSPECIFIED),
    vnc: d.graphics.some((g) => g.type === 'vnc'),
    videoModel: d.video
      ? (videoModelNames.value(d.video) ?? VideoModel.VIDEO_MODEL_UNSPECIFIED)
      : VideoModel.VIDEO_MODEL_NONE,
    description: d.meta.description,
    tags: d.meta.tags,
    osType: d.meta.osType,
    cpuMode: d.cpu.mode,
    cpuModel: d.cpu.model,
    secureBoot: d.os.secureBoot,
    tpm: d.tpm,
    autostart: d.meta.autostart.enabled,
    autostartOrder: d.meta.autostart.order,
    autostartDelaySeconds: d.meta.autostart.delaySeconds,
  };
  // libvirt sorts disks by bus; the metadata keeps the order they were defined in.
  const order = [...d.meta.volumes.keys()];
  const rank = (disk: DomainDisk) => {
    const i = order.indexOf(disk.dev);
    return i < 0 ? order.length : i;
  };
  const sorted = d.disks
    .map((disk, i) => ({ disk, i }))
    .sort((a, b) => rank(a.disk) - rank(b.disk) || a.i - b.i)
    .map((x) => x.disk);
  for (const disk of sorted) {
    const { dev, format } = disk;
    const bus = diskBusNames.value(disk.bus) ?? DiskBus.DISK_BUS_UNSPECIFIED;
    const path = disk.source.file ?? disk.source.dev ?? '';
    const ref = d.meta.volumes.get(dev) ?? { pool: '', volume: path ? path.slice(path.lastIndexOf('/') + 1) : '' };
    if (disk.device === 'cdrom') {
      spec.cdroms.push({ pool: path ? ref.pool : '', volume: path ? ref.volume : '', bus });
      files.push({ dev, device: 'cdrom', path, format });
    } else if (disk.device === 'disk') {
      spec.disks.push({ pool: ref.pool, volume: ref.volume, bus, readonly: disk.readonly });
      files.push({ dev, device: 'disk', path, format });
    }
  }
  for (const nic of d.interfaces) {
    spec.nics.push({
      kind: nicKindNames.value(nic.type) ?? NicKind.NIC_KIND_UNSPECIFIED,
      source: nic.network || nic.bridge,
      model: nicModelNames.value(nic.model) ?? NicModel.NIC_MODEL_UNSPECIFIED,
      mac: nic.mac,
    });
  }
  return {
    spec,
    uuid: spec.uuid,
    domainType: d.type,
    macs: d.interfaces.map((n) => n.mac),
    vncSocket: d.graphics.find((g) => g.type === 'vnc')?.socket ?? '',
    nvramPath: d.os.nvram,
    guestAgentConnected: d.guestAgent.state === 'connected',
    files,
  };
}
