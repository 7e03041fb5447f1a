// An OVF VirtualSystem's hardware: the VirtualHardwareSection's items (CPU, memory, controllers,
// disks, NICs, drives), how its disk items attach the DiskSection's disks, the firmware (VMware
// Config / VirtualBox Machine) and VirtualBox's NIC MACs. Pure; hostile input, like ovf-parse.ts.
import type { OvaDisk, OvaNic } from '@quantix/proto/v1/image.js';
import { xmlAttr, xmlList, xmlText, type XmlNode } from '../libvirt/xml/parser.js';
import type { OvfDisk, OvfFile } from './ovf-parse.js';
import { bytesOf, integer, normaliseMac, ovfError } from './ovf-values.js';

const MAX_CPUS = 512;
const MAX_MEMORY_MIB = 16 * 1024 * 1024;

/** The items of a VirtualHardwareSection, read. */
export interface OvfHardware {
  cpus: number;
  coresPerSocket: number;
  memoryMib: number;
  hasCdrom: boolean;
  hasFloppy: boolean;
  nics: OvaNic[];
  /** Storage controllers by InstanceID. */
  controllers: Map<string, Controller>;
  /** Disk items (ResourceType 17), in document order. */
  diskItems: XmlNode[];
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

/** Reads the items of the hardware section `hw` (Item, StorageItem, EthernetPortItem) by CIM ResourceType. */
export function readHardware(hw: XmlNode, warnings: string[]): OvfHardware {
  const items = [...xmlList(hw['Item']), ...xmlList(hw['StorageItem']), ...xmlList(hw['EthernetPortItem'])];
  const out: OvfHardware = {
    cpus: 0,
    coresPerSocket: 1,
    memoryMib: 0,
    hasCdrom: false,
    hasFloppy: false,
    nics: [],
    controllers: new Map(),
    diskItems: [],
  };
  for (const it of items) {
    const type = Number(xmlText(it['ResourceType']));
    const id = xmlText(it['InstanceID']);
    const subtype = xmlText(it['ResourceSubType']);
    switch (type) {
      case 3: {
        out.cpus = integer(xmlText(it['VirtualQuantity']), 'CPU VirtualQuantity', 1, MAX_CPUS);
        const cps = xmlText(it['CoresPerSocket']);
        if (cps) out.coresPerSocket = integer(cps, 'CPU CoresPerSocket', 1, MAX_CPUS);
        break;
      }
      case 4: {
        const bytes = bytesOf(
          xmlText(it['VirtualQuantity']),
          xmlText(it['AllocationUnits']) || 'MB',
          'Memory VirtualQuantity',
          MAX_MEMORY_MIB * 2 ** 20,
        );
        out.memoryMib = Math.ceil(bytes / 2 ** 20);
        if (out.memoryMib < 1) throw ovfError('Memory VirtualQuantity is zero', 'Memory VirtualQuantity');
        break;
      }
      case 5:
      case 6:
      case 20:
        out.controllers.set(id, { kind: controllerKind(type, subtype, warnings), address: xmlText(it['Address']) });
        break;
      case 17:
        out.diskItems.push(it);
        break;
      case 10: {
        const rawMac = xmlText(it['Address']);
        const mac = rawMac ? normaliseMac(rawMac) : '';
        if (mac === undefined)
          warnings.push(`NIC "${xmlText(it['ElementName'])}": MAC "${rawMac.slice(0, 40)}" ignored (malformed)`);
        out.nics.push({ model: subtype || 'E1000', network: xmlText(it['Connection']), mac: mac ?? '' });
        break;
      }
      case 14:
        out.hasFloppy = true;
        warnings.push('floppy drive not imported');
        break;
      case 15:
      case 16:
        out.hasCdrom = true;
        break;
      case 0:
      case 1:
      case 24: // video: the VM always gets one
        break;
      default: {
        const what = xmlText(it['ElementName']) || xmlText(it['Caption']) || `resource type ${type}`;
        if (Number.isFinite(type)) warnings.push(`device "${what.slice(0, 60)}" not imported`);
      }
    }
  }
  if (out.cpus === 0) throw ovfError('no CPU item (ResourceType 3)', 'CPU VirtualQuantity');
  if (out.memoryMib === 0) throw ovfError('no memory item (ResourceType 4)', 'Memory VirtualQuantity');
  if (out.cpus % out.coresPerSocket !== 0) {
    warnings.push(
      `${out.cpus} CPUs do not divide into ${out.coresPerSocket} cores per socket: using 1 core per socket`,
    );
    out.coresPerSocket = 1;
  }
  return out;
}

/**
 * The VM's disks: each disk item's HostResource names a DiskSection disk (attached once, on its
 * controller); disks with a file that no item attaches become extra SATA disks. Blank disks are skipped.
 */
export function attachDisks(
  hw: OvfHardware,
  ovfDisks: Map<string, OvfDisk>,
  warnings: string[],
): { disks: OvaDisk[]; diskFiles: OvfFile[] } {
  const disks: OvaDisk[] = [];
  const diskFiles: OvfFile[] = [];
  const used = new Set<string>();
  for (const it of hw.diskItems) {
    const res = xmlText(it['HostResource']);
    const m = /^(?:ovf:)?\/+disk\/(.+)$/.exec(res);
    if (!m) throw ovfError(`disk item with unsupported HostResource "${res.slice(0, 60)}"`, 'Item.HostResource');
    const d = ovfDisks.get(m[1]!);
    if (!d) throw ovfError(`disk item refers to unknown disk "${m[1]}"`, 'Item.HostResource');
    if (used.has(m[1]!)) throw ovfError(`disk "${m[1]}" attached twice`, 'Item.HostResource');
    used.add(m[1]!);
    if (!d.file) continue;
    const ctl = hw.controllers.get(xmlText(it['Parent']));
    if (!ctl) warnings.push(`disk "${m[1]}" has no known controller: treated as SATA`);
    disks.push({
      file: d.file.href,
      capacityBytes: d.capacity,
      populatedBytes: d.populated,
      controller: ctl?.kind ?? 'sata',
      address: xmlText(it['AddressOnParent']),
      format: d.format,
    });
    diskFiles.push(d.file);
  }
  for (const [id, d] of ovfDisks) {
    if (used.has(id) || !d.file) continue;
    warnings.push(`disk "${id}" is not attached to the VM in the OVF: imported as an extra SATA disk`);
    disks.push({
      file: d.file.href,
      capacityBytes: d.capacity,
      populatedBytes: d.populated,
      controller: 'sata',
      address: '',
      format: d.format,
    });
    diskFiles.push(d.file);
  }
  return { disks, diskFiles };
}

/** VMware: vmw:Config key="firmware" in the hardware section; VirtualBox: vbox:Machine/Hardware/Firmware. */
export function firmwareOf(hw: XmlNode, vs: XmlNode, warnings: string[]): string {
  for (const c of [...xmlList(hw['Config']), ...xmlList(hw['ExtraConfig'])]) {
    if (xmlAttr(c, 'key') === 'firmware') {
      const v = xmlAttr(c, 'value').toLowerCase();
      if (v === 'efi') return 'efi';
      if (v && v !== 'bios') warnings.push(`firmware "${v}" unknown: using BIOS`);
    }
  }
  const machine = vs['Machine'] as XmlNode | undefined;
  const vboxFirmware = xmlAttr((machine?.['Hardware'] as XmlNode | undefined)?.['Firmware'], 'type');
  if (/^efi/i.test(vboxFirmware)) return 'efi';
  return 'bios';
}

/** VirtualBox keeps NIC MACs in its own Machine section, by adapter slot. */
export function applyVirtualBoxMacs(vs: XmlNode, nics: OvaNic[]): void {
  const machine = vs['Machine'] as XmlNode | undefined;
  const network = xmlList((machine?.['Hardware'] as XmlNode | undefined)?.['Network'])[0];
  const adapters = xmlList(network?.['Adapter'])
    .filter((a) => xmlAttr(a, 'enabled') === 'true')
    .sort((a, b) => Number(xmlAttr(a, 'slot')) - Number(xmlAttr(b, 'slot')));
  adapters.forEach((a, i) => {
    const nic = nics[i];
    const mac = normaliseMac(xmlAttr(a, 'MACAddress'));
    if (nic && !nic.mac && mac) nic.mac = mac;
  });
}
