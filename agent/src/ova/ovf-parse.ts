// OVF descriptor (1.x and 2.0, with or without namespace prefixes) → OvaSpec. Pure: no I/O.
// Hostile input is expected: DTDs/entities are refused before parsing, size and depth are capped,
// every number is range-checked, and whatever is recognised but not honoured becomes a warning.
import { XMLParser } from 'fast-xml-parser';
import type { OvaDisk, OvaNic, OvaSpec } from '@quantix/proto/v1/image.js';
import { AgentError, ErrorCode } from '../errors.js';
import { unitBytes } from './ovf-units.js';
import { osFamily } from './os-family.js';

export const MAX_OVF_BYTES = 4 * 1024 * 1024;
const MAX_DEPTH = 40;
const MAX_CPUS = 512;
const MAX_MEMORY_MIB = 16 * 1024 * 1024;
const MAX_DISK_BYTES = 64 * 2 ** 40;

/** A file of the OVF References section. */
export interface OvfFile {
  id: string;
  href: string;
  size: number;
  compression: '' | 'gzip';
  /** 0 = not chunked. */
  chunkSize: number;
}

export interface OvfDescriptor {
  spec: OvaSpec;
  /** References, by href. */
  files: Map<string, OvfFile>;
  /** The file of each spec.disks[i]. */
  diskFiles: OvfFile[];
}

type Node = Record<string, unknown>;

function ovfError(message: string, field = 'ovf'): AgentError {
  return new AgentError(ErrorCode.InvalidArgument, `OVF descriptor: ${message}`, field);
}

const arrays = new Set([
  'File',
  'Disk',
  'Item',
  'StorageItem',
  'EthernetPortItem',
  'Network',
  'VirtualSystem',
  'Config',
  'ExtraConfig',
  'HostResource',
  'Connection',
  'Adapter',
  'VirtualHardwareSection',
]);

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  removeNSPrefix: true,
  processEntities: false,
  htmlEntities: false,
  parseTagValue: false,
  parseAttributeValue: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  maxNestedTags: MAX_DEPTH,
  isArray: (name) => arrays.has(name),
});

function text(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) return text(v[0]);
  if (typeof v === 'object') return text((v as Node)['#text']);
  return String(v).trim();
}

function list(v: unknown): Node[] {
  if (v === undefined || v === null) return [];
  return (Array.isArray(v) ? v : [v]).filter((x): x is Node => typeof x === 'object' && x !== null);
}

function attr(n: Node | undefined, name: string): string {
  const v = n?.[`@${name}`];
  return typeof v === 'string' ? v.trim() : '';
}

function integer(raw: string, field: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(raw)) throw ovfError(`${field} "${raw.slice(0, 40)}" is not an integer`, field);
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw ovfError(`${field} ${raw.slice(0, 40)} is out of range (${min}..${max})`, field);
  }
  return n;
}

function bytesOf(value: string, units: string, field: string, max: number): number {
  const factor = unitBytes(units);
  if (factor === undefined) throw ovfError(`${field}: unknown allocation units "${units.slice(0, 40)}"`, field);
  const n = integer(value, field, 0, Number.MAX_SAFE_INTEGER);
  const bytes = n * factor;
  if (!Number.isSafeInteger(bytes) || bytes > max) throw ovfError(`${field} ${value} ${units} is absurdly large`, field);
  return bytes;
}

function normaliseMac(raw: string): string | undefined {
  const hex = raw.toLowerCase().replace(/[:\-.]/g, '');
  if (!/^[0-9a-f]{12}$/.test(hex)) return undefined;
  return hex.match(/../g)!.join(':');
}

/** Refuses what no OVF needs and every XML bomb needs: DTDs and entity declarations. */
function preflight(xml: string): void {
  if (Buffer.byteLength(xml) > MAX_OVF_BYTES) throw ovfError(`larger than ${MAX_OVF_BYTES} bytes`);
  if (/<!DOCTYPE/i.test(xml)) throw ovfError('a DTD (<!DOCTYPE>) is not allowed');
  if (/<!ENTITY/i.test(xml)) throw ovfError('entity declarations are not allowed');
}

interface Controller {
  kind: string;
  address: string;
}

function controllerKind(type: number, subtype: string, warnings: string[]): string {
  if (type === 5) return 'ide';
  if (type === 6) return 'scsi';
  if (/nvme/i.test(subtype)) return 'nvme';
  if (/ahci|sata/i.test(subtype)) return 'sata';
  if (/virtio/i.test(subtype)) return 'virtio';
  warnings.push(`storage controller "${subtype || type}" treated as SATA`);
  return 'sata';
}

/** Parses OVF XML text into a spec plus the file references it needs. */
export function parseOvf(xml: string): OvfDescriptor {
  preflight(xml);
  let doc: Node;
  try {
    doc = parser.parse(xml) as Node;
  } catch (err) {
    throw ovfError(`not well-formed XML (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`);
  }
  const env = doc['Envelope'] as Node | undefined;
  if (!env || typeof env !== 'object') throw ovfError('no Envelope element (not an OVF descriptor)');
  if (env['VirtualSystemCollection']) {
    throw ovfError('a VirtualSystemCollection (vApp of several VMs) is not supported: export each VM as its own OVA');
  }
  const systems = list(env['VirtualSystem']);
  if (systems.length === 0) throw ovfError('no VirtualSystem element');
  if (systems.length > 1) throw ovfError('more than one VirtualSystem: export each VM as its own OVA');
  const vs = systems[0]!;
  const warnings: string[] = [];

  const files = new Map<string, OvfFile>();
  const filesById = new Map<string, OvfFile>();
  for (const f of list((env['References'] as Node | undefined)?.['File'])) {
    const id = attr(f, 'id');
    const href = attr(f, 'href');
    if (!id || !href) throw ovfError('a References/File without id or href', 'References.File');
    if (/^[a-z][a-z0-9+.-]*:/i.test(href)) throw ovfError(`file "${href}" is a URL; only files inside the OVA are allowed`, 'References.File.href');
    if (href.startsWith('/') || href.split(/[\\/]/).includes('..')) throw ovfError(`file href "${href}" leaves the OVA`, 'References.File.href');
    const compression = attr(f, 'compression');
    if (compression && compression !== 'gzip' && compression !== 'identity') {
      throw ovfError(`file "${href}": unsupported compression "${compression}"`, 'References.File.compression');
    }
    const sizeRaw = attr(f, 'size');
    const chunkRaw = attr(f, 'chunkSize');
    const file: OvfFile = {
      id,
      href,
      size: sizeRaw ? integer(sizeRaw, 'References.File.size', 0, Number.MAX_SAFE_INTEGER) : 0,
      compression: compression === 'gzip' ? 'gzip' : '',
      chunkSize: chunkRaw ? integer(chunkRaw, 'References.File.chunkSize', 1, Number.MAX_SAFE_INTEGER) : 0,
    };
    if (files.has(href) || filesById.has(id)) throw ovfError(`file "${href}" listed twice`, 'References.File');
    files.set(href, file);
    filesById.set(id, file);
  }

  const diskSection = (env['DiskSection'] ?? env['VirtualDiskDesc']) as Node | undefined;
  const ovfDisks = new Map<string, { capacity: number; populated: number; format: string; file?: OvfFile }>();
  for (const d of list(diskSection?.['Disk'])) {
    const id = attr(d, 'diskId');
    if (!id) throw ovfError('a Disk without diskId', 'DiskSection.Disk');
    const capacity = bytesOf(attr(d, 'capacity'), attr(d, 'capacityAllocationUnits'), `Disk "${id}" capacity`, MAX_DISK_BYTES);
    if (capacity === 0) throw ovfError(`Disk "${id}" has zero capacity`, 'DiskSection.Disk.capacity');
    const populatedRaw = attr(d, 'populatedSize');
    const fileRef = attr(d, 'fileRef');
    const file = fileRef ? filesById.get(fileRef) : undefined;
    if (fileRef && !file) throw ovfError(`Disk "${id}" refers to unknown file "${fileRef}"`, 'DiskSection.Disk.fileRef');
    if (!file) warnings.push(`disk "${id}" has no file (a blank disk): not imported`);
    ovfDisks.set(id, {
      capacity,
      populated: populatedRaw ? integer(populatedRaw, `Disk "${id}" populatedSize`, 0, Number.MAX_SAFE_INTEGER) : 0,
      format: formatOf(attr(d, 'format')),
      file,
    });
  }

  const name = text(vs['Name']) || attr(vs, 'id') || 'imported-vm';
  const annotation = text((vs['AnnotationSection'] as Node | undefined)?.['Annotation']);
  const osSection = vs['OperatingSystemSection'] as Node | undefined;
  const osIdRaw = attr(osSection, 'id');
  const osType = osFamily(
    /^\d+$/.test(osIdRaw) ? Number(osIdRaw) : undefined,
    attr(osSection, 'osType') || text(osSection?.['Description']) || text(osSection?.['OSType']),
  );

  const hwSections = list(vs['VirtualHardwareSection']);
  if (hwSections.length === 0) throw ovfError('no VirtualHardwareSection', 'VirtualHardwareSection');
  if (hwSections.length > 1) warnings.push('several VirtualHardwareSections: the first one is used');
  const hw = hwSections[0]!;
  const items = [...list(hw['Item']), ...list(hw['StorageItem']), ...list(hw['EthernetPortItem'])];

  let cpus = 0;
  let coresPerSocket = 1;
  let memoryMib = 0;
  let hasCdrom = false;
  let hasFloppy = false;
  const controllers = new Map<string, Controller>();
  const diskItems: Node[] = [];
  const nics: OvaNic[] = [];
  for (const it of items) {
    const type = Number(text(it['ResourceType']));
    const id = text(it['InstanceID']);
    const subtype = text(it['ResourceSubType']);
    switch (type) {
      case 3: {
        cpus = integer(text(it['VirtualQuantity']), 'CPU VirtualQuantity', 1, MAX_CPUS);
        const cps = text(it['CoresPerSocket']);
        if (cps) coresPerSocket = integer(cps, 'CPU CoresPerSocket', 1, MAX_CPUS);
        break;
      }
      case 4: {
        const bytes = bytesOf(text(it['VirtualQuantity']), text(it['AllocationUnits']) || 'MB', 'Memory VirtualQuantity', MAX_MEMORY_MIB * 2 ** 20);
        memoryMib = Math.ceil(bytes / 2 ** 20);
        if (memoryMib < 1) throw ovfError('Memory VirtualQuantity is zero', 'Memory VirtualQuantity');
        break;
      }
      case 5:
      case 6:
      case 20:
        controllers.set(id, { kind: controllerKind(type, subtype, warnings), address: text(it['Address']) });
        break;
      case 17:
        diskItems.push(it);
        break;
      case 10: {
        const rawMac = text(it['Address']);
        const mac = rawMac ? normaliseMac(rawMac) : '';
        if (mac === undefined) warnings.push(`NIC "${text(it['ElementName'])}": MAC "${rawMac.slice(0, 40)}" ignored (malformed)`);
        nics.push({ model: subtype || 'E1000', network: text(it['Connection']), mac: mac ?? '' });
        break;
      }
      case 14:
        hasFloppy = true;
        warnings.push('floppy drive not imported');
        break;
      case 15:
      case 16:
        hasCdrom = true;
        break;
      case 0:
      case 1:
      case 24: // video: the VM always gets one
        break;
      default: {
        const what = text(it['ElementName']) || text(it['Caption']) || `resource type ${type}`;
        if (Number.isFinite(type)) warnings.push(`device "${what.slice(0, 60)}" not imported`);
      }
    }
  }
  if (cpus === 0) throw ovfError('no CPU item (ResourceType 3)', 'CPU VirtualQuantity');
  if (memoryMib === 0) throw ovfError('no memory item (ResourceType 4)', 'Memory VirtualQuantity');
  if (cpus % coresPerSocket !== 0) {
    warnings.push(`${cpus} CPUs do not divide into ${coresPerSocket} cores per socket: using 1 core per socket`);
    coresPerSocket = 1;
  }

  const disks: OvaDisk[] = [];
  const diskFiles: OvfFile[] = [];
  const used = new Set<string>();
  for (const it of diskItems) {
    const res = text(it['HostResource']);
    const m = /^(?:ovf:)?\/+disk\/(.+)$/.exec(res);
    if (!m) throw ovfError(`disk item with unsupported HostResource "${res.slice(0, 60)}"`, 'Item.HostResource');
    const d = ovfDisks.get(m[1]!);
    if (!d) throw ovfError(`disk item refers to unknown disk "${m[1]}"`, 'Item.HostResource');
    if (used.has(m[1]!)) throw ovfError(`disk "${m[1]}" attached twice`, 'Item.HostResource');
    used.add(m[1]!);
    if (!d.file) continue;
    const ctl = controllers.get(text(it['Parent']));
    if (!ctl) warnings.push(`disk "${m[1]}" has no known controller: treated as SATA`);
    disks.push({
      file: d.file.href,
      capacityBytes: d.capacity,
      populatedBytes: d.populated,
      controller: ctl?.kind ?? 'sata',
      address: text(it['AddressOnParent']),
      format: d.format,
    });
    diskFiles.push(d.file);
  }
  for (const [id, d] of ovfDisks) {
    if (used.has(id) || !d.file) continue;
    warnings.push(`disk "${id}" is not attached to the VM in the OVF: imported as an extra SATA disk`);
    disks.push({ file: d.file.href, capacityBytes: d.capacity, populatedBytes: d.populated, controller: 'sata', address: '', format: d.format });
    diskFiles.push(d.file);
  }

  const firmware = firmwareOf(hw, vs, warnings);
  applyVirtualBoxMacs(vs, nics);

  return {
    spec: {
      name: name.slice(0, 200),
      annotation: annotation.slice(0, 4000),
      osType,
      firmware,
      cpus,
      coresPerSocket,
      memoryMib,
      disks,
      nics,
      hasCdrom,
      hasFloppy,
      manifest: 'absent',
      certificatePresent: false,
      warnings,
    },
    files,
    diskFiles,
  };
}

/** "vmdk" | "qcow2" | "raw" from the Disk format URI (VMware/VirtualBox/QEMU spellings). */
function formatOf(uri: string): string {
  if (/vmdk/i.test(uri)) return 'vmdk';
  if (/#raw$|\braw\b/i.test(uri)) return 'raw';
  if (/qcow/i.test(uri)) return 'qcow2';
  if (/img/i.test(uri)) return 'raw';
  return 'vmdk';
}

/** VMware: vmw:Config key="firmware" in the hardware section; VirtualBox: vbox:Machine/Hardware/Firmware. */
function firmwareOf(hw: Node, vs: Node, warnings: string[]): string {
  for (const c of [...list(hw['Config']), ...list(hw['ExtraConfig'])]) {
    if (attr(c, 'key') === 'firmware') {
      const v = attr(c, 'value').toLowerCase();
      if (v === 'efi') return 'efi';
      if (v && v !== 'bios') warnings.push(`firmware "${v}" unknown: using BIOS`);
    }
  }
  const machine = vs['Machine'] as Node | undefined;
  const vboxFirmware = attr((machine?.['Hardware'] as Node | undefined)?.['Firmware'] as Node | undefined, 'type');
  if (/^efi/i.test(vboxFirmware)) return 'efi';
  return 'bios';
}

/** VirtualBox keeps NIC MACs in its own Machine section, by adapter slot. */
function applyVirtualBoxMacs(vs: Node, nics: OvaNic[]): void {
  const machine = vs['Machine'] as Node | undefined;
  const network = list((machine?.['Hardware'] as Node | undefined)?.['Network'])[0];
  const adapters = list(network?.['Adapter'])
    .filter((a) => attr(a, 'enabled') === 'true')
    .sort((a, b) => Number(attr(a, 'slot')) - Number(attr(b, 'slot')));
  adapters.forEach((a, i) => {
    const nic = nics[i];
    const mac = normaliseMac(attr(a, 'MACAddress'));
    if (nic && !nic.mac && mac) nic.mac = mac;
  });
}
