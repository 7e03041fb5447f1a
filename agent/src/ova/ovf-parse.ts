// OVF descriptor (1.x and 2.0, with or without namespace prefixes) → OvaSpec. Pure: no I/O.
// Hostile input is expected: DTDs/entities are refused before parsing, size and depth are capped,
// every number is range-checked, and whatever is recognised but not honoured becomes a warning.
// One reader per section: References and DiskSection here, the VirtualHardwareSection in ovf-hardware.ts.
import type { OvaSpec } from '@quantix/proto/v1/image.js';
import { xmlAttr, xmlList, xmlReader, xmlText, type XmlNode } from '../libvirt/xml/parser.js';
import { applyVirtualBoxMacs, attachDisks, firmwareOf, readHardware } from './ovf-hardware.js';
import { bytesOf, integer, ovfError } from './ovf-values.js';
import { osFamily } from './os-family.js';

export const MAX_OVF_BYTES = 4 * 1024 * 1024;
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

/** A disk of the DiskSection; `file` is undefined for a blank disk. */
export interface OvfDisk {
  capacity: number;
  populated: number;
  format: string;
  file?: OvfFile;
}

export interface OvfDescriptor {
  spec: OvaSpec;
  /** References, by href. */
  files: Map<string, OvfFile>;
  /** The file of each spec.disks[i]. */
  diskFiles: OvfFile[];
}

const read = xmlReader([
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

/** Refuses what no OVF needs and every XML bomb needs (DTDs, entity declarations), with OVF's own words. */
function preflight(xml: string): void {
  if (Buffer.byteLength(xml) > MAX_OVF_BYTES) throw ovfError(`larger than ${MAX_OVF_BYTES} bytes`);
  if (/<!DOCTYPE/i.test(xml)) throw ovfError('a DTD (<!DOCTYPE>) is not allowed');
  if (/<!ENTITY/i.test(xml)) throw ovfError('entity declarations are not allowed');
}

/** The Envelope and its single VirtualSystem. */
function readEnvelope(xml: string): { env: XmlNode; vs: XmlNode } {
  preflight(xml);
  let doc: XmlNode;
  try {
    doc = read(xml);
  } catch (err) {
    throw ovfError(`not well-formed XML (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`);
  }
  const env = doc['Envelope'] as XmlNode | undefined;
  if (!env || typeof env !== 'object') throw ovfError('no Envelope element (not an OVF descriptor)');
  if (env['VirtualSystemCollection']) {
    throw ovfError('a VirtualSystemCollection (vApp of several VMs) is not supported: export each VM as its own OVA');
  }
  const systems = xmlList(env['VirtualSystem']);
  if (systems.length === 0) throw ovfError('no VirtualSystem element');
  if (systems.length > 1) throw ovfError('more than one VirtualSystem: export each VM as its own OVA');
  return { env, vs: systems[0]! };
}

/** References: the files inside the OVA, by href and by id; none may leave the OVA. */
function readReferences(env: XmlNode): { files: Map<string, OvfFile>; filesById: Map<string, OvfFile> } {
  const files = new Map<string, OvfFile>();
  const filesById = new Map<string, OvfFile>();
  for (const f of xmlList((env['References'] as XmlNode | undefined)?.['File'])) {
    const id = xmlAttr(f, 'id');
    const href = xmlAttr(f, 'href');
    if (!id || !href) throw ovfError('a References/File without id or href', 'References.File');
    if (/^[a-z][a-z0-9+.-]*:/i.test(href))
      throw ovfError(`file "${href}" is a URL; only files inside the OVA are allowed`, 'References.File.href');
    if (href.startsWith('/') || href.split(/[\\/]/).includes('..'))
      throw ovfError(`file href "${href}" leaves the OVA`, 'References.File.href');
    const compression = xmlAttr(f, 'compression');
    if (compression && compression !== 'gzip' && compression !== 'identity') {
      throw ovfError(`file "${href}": unsupported compression "${compression}"`, 'References.File.compression');
    }
    const sizeRaw = xmlAttr(f, 'size');
    const chunkRaw = xmlAttr(f, 'chunkSize');
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
  return { files, filesById };
}

/** DiskSection: each disk's capacity, populated size, format and file (by fileRef). */
function readDiskSection(env: XmlNode, filesById: Map<string, OvfFile>, warnings: string[]): Map<string, OvfDisk> {
  const diskSection = (env['DiskSection'] ?? env['VirtualDiskDesc']) as XmlNode | undefined;
  const ovfDisks = new Map<string, OvfDisk>();
  for (const d of xmlList(diskSection?.['Disk'])) {
    const id = xmlAttr(d, 'diskId');
    if (!id) throw ovfError('a Disk without diskId', 'DiskSection.Disk');
    const capacity = bytesOf(
      xmlAttr(d, 'capacity'),
      xmlAttr(d, 'capacityAllocationUnits'),
      `Disk "${id}" capacity`,
      MAX_DISK_BYTES,
    );
    if (capacity === 0) throw ovfError(`Disk "${id}" has zero capacity`, 'DiskSection.Disk.capacity');
    const populatedRaw = xmlAttr(d, 'populatedSize');
    const fileRef = xmlAttr(d, 'fileRef');
    const file = fileRef ? filesById.get(fileRef) : undefined;
    if (fileRef && !file)
      throw ovfError(`Disk "${id}" refers to unknown file "${fileRef}"`, 'DiskSection.Disk.fileRef');
    if (!file) warnings.push(`disk "${id}" has no file (a blank disk): not imported`);
    ovfDisks.set(id, {
      capacity,
      populated: populatedRaw ? integer(populatedRaw, `Disk "${id}" populatedSize`, 0, Number.MAX_SAFE_INTEGER) : 0,
      format: formatOf(xmlAttr(d, 'format')),
      file,
    });
  }
  return ovfDisks;
}

/** "vmdk" | "qcow2" | "raw" from the Disk format URI (VMware/VirtualBox/QEMU spellings). */
function formatOf(uri: string): string {
  if (/vmdk/i.test(uri)) return 'vmdk';
  if (/#raw$|\braw\b/i.test(uri)) return 'raw';
  if (/qcow/i.test(uri)) return 'qcow2';
  if (/img/i.test(uri)) return 'raw';
  return 'vmdk';
}

/** The VirtualSystem's name, AnnotationSection and OperatingSystemSection. */
function readSystemInfo(vs: XmlNode): { name: string; annotation: string; osType: string } {
  const osSection = vs['OperatingSystemSection'] as XmlNode | undefined;
  const osIdRaw = xmlAttr(osSection, 'id');
  return {
    name: xmlText(vs['Name']) || xmlAttr(vs, 'id') || 'imported-vm',
    annotation: xmlText((vs['AnnotationSection'] as XmlNode | undefined)?.['Annotation']),
    osType: osFamily(
      /^\d+$/.test(osIdRaw) ? Number(osIdRaw) : undefined,
      xmlAttr(osSection, 'osType') || xmlText(osSection?.['Description']) || xmlText(osSection?.['OSType']),
    ),
  };
}

/** The first VirtualHardwareSection (a warning when there are several). */
function hardwareSection(vs: XmlNode, warnings: string[]): XmlNode {
  const hwSections = xmlList(vs['VirtualHardwareSection']);
  if (hwSections.length === 0) throw ovfError('no VirtualHardwareSection', 'VirtualHardwareSection');
  if (hwSections.length > 1) warnings.push('several VirtualHardwareSections: the first one is used');
  return hwSections[0]!;
}

/** Parses OVF XML text into a spec plus the file references it needs. */
export function parseOvf(xml: string): OvfDescriptor {
  const { env, vs } = readEnvelope(xml);
  const warnings: string[] = [];
  const { files, filesById } = readReferences(env);
  const ovfDisks = readDiskSection(env, filesById, warnings);
  const { name, annotation, osType } = readSystemInfo(vs);
  const hwSection = hardwareSection(vs, warnings);
  const hw = readHardware(hwSection, warnings);
  const { disks, diskFiles } = attachDisks(hw, ovfDisks, warnings);
  const firmware = firmwareOf(hwSection, vs, warnings);
  applyVirtualBoxMacs(vs, hw.nics);

  return {
    spec: {
      name: name.slice(0, 200),
      annotation: annotation.slice(0, 4000),
      osType,
      firmware,
      cpus: hw.cpus,
      coresPerSocket: hw.coresPerSocket,
      memoryMib: hw.memoryMib,
      disks,
      nics: hw.nics,
      hasCdrom: hw.hasCdrom,
      hasFloppy: hw.hasFloppy,
      manifest: 'absent',
      certificatePresent: false,
      warnings,
    },
    files,
    diskFiles,
  };
}
