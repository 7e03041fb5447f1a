// OvaSpec-like export description → OVF 1.0 XML (VMware ovftool flavour), built with
// the one XML builder (libvirt/xml/builder.ts) so every value is escaped. Pure.
import { buildXml } from '../libvirt/xml/builder.js';

export interface ExportDisk {
  /** File name inside the OVA. */
  href: string;
  fileSize: number;
  capacityBytes: number;
}

export interface ExportNic {
  model: string;
  network: string;
  mac: string;
}

export interface ExportDescription {
  name: string;
  annotation: string;
  osType: string;
  firmware: 'bios' | 'efi';
  cpus: number;
  coresPerSocket: number;
  memoryMib: number;
  disks: ExportDisk[];
  nics: ExportNic[];
}

const cimOs: Record<string, [number, string]> = {
  linux: [101, 'Linux 64-Bit'],
  windows: [120, 'Microsoft Windows 10 64-bit'],
  bsd: [78, 'FreeBSD 64-Bit'],
  solaris: [81, 'Solaris 64-Bit'],
};

function item(id: number, type: number, name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { 'rasd:ElementName': name, 'rasd:InstanceID': id, 'rasd:ResourceType': type, ...extra };
}

/** OVF 1.0 descriptor text for `d`. */
export function buildOvf(d: ExportDescription): string {
  const [osId, osDesc] = cimOs[d.osType] ?? [1, 'Other'];
  const networks = [...new Set(d.nics.map((n) => n.network || 'VM Network'))];
  let id = 1;
  const items: Record<string, unknown>[] = [
    {
      ...item(id++, 3, `${d.cpus} virtual CPU(s)`, {
        'rasd:VirtualQuantity': d.cpus,
        'vmw:CoresPerSocket': { '@ovf:required': 'false', '#text': d.coresPerSocket },
      }),
      'rasd:AllocationUnits': 'hertz * 10^6',
    },
    item(id++, 4, `${d.memoryMib}MB of memory`, {
      'rasd:AllocationUnits': 'byte * 2^20',
      'rasd:VirtualQuantity': d.memoryMib,
    }),
  ];
  const sata = id++;
  items.push(item(sata, 20, 'SATA controller 0', { 'rasd:Address': 0, 'rasd:ResourceSubType': 'vmware.sata.ahci' }));
  d.disks.forEach((_disk, i) => {
    items.push(
      item(id++, 17, `Hard disk ${i + 1}`, {
        'rasd:AddressOnParent': i,
        'rasd:HostResource': `ovf:/disk/vmdisk${i + 1}`,
        'rasd:Parent': sata,
      }),
    );
  });
  d.nics.forEach((nic, i) => {
    items.push(
      item(id++, 10, `Network adapter ${i + 1}`, {
        ...(nic.mac ? { 'rasd:Address': nic.mac } : {}),
        'rasd:AddressOnParent': 7 + i,
        'rasd:AutomaticAllocation': 'true',
        'rasd:Connection': nic.network || 'VM Network',
        'rasd:ResourceSubType': nic.model || 'E1000',
      }),
    );
  });
  // ElementName/InstanceID/ResourceType must keep the RASD alphabetical order; sort keys.
  const sorted = items.map((it) => Object.fromEntries(Object.entries(it).sort(([a], [b]) => a.localeCompare(b))));
  const doc = {
    '?xml': { '@version': '1.0', '@encoding': 'UTF-8' },
    Envelope: {
      '@vmw:buildId': 'quantix',
      '@xmlns': 'http://schemas.dmtf.org/ovf/envelope/1',
      '@xmlns:cim': 'http://schemas.dmtf.org/wbem/wscim/1/common',
      '@xmlns:ovf': 'http://schemas.dmtf.org/ovf/envelope/1',
      '@xmlns:rasd': 'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData',
      '@xmlns:vmw': 'http://www.vmware.com/schema/ovf',
      '@xmlns:vssd': 'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData',
      '@xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance',
      References: {
        File: d.disks.map((disk, i) => ({
          '@ovf:href': disk.href,
          '@ovf:id': `file${i + 1}`,
          '@ovf:size': disk.fileSize,
        })),
      },
      DiskSection: {
        Info: 'Virtual disk information',
        Disk: d.disks.map((disk, i) => ({
          '@ovf:capacity': disk.capacityBytes,
          '@ovf:capacityAllocationUnits': 'byte',
          '@ovf:diskId': `vmdisk${i + 1}`,
          '@ovf:fileRef': `file${i + 1}`,
          '@ovf:format': 'http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized',
        })),
      },
      NetworkSection: {
        Info: 'The list of logical networks',
        Network: networks.map((n) => ({ '@ovf:name': n, Description: `The ${n} network` })),
      },
      VirtualSystem: {
        '@ovf:id': d.name,
        Info: 'A virtual machine',
        Name: d.name,
        ...(d.annotation
          ? { AnnotationSection: { Info: 'A human-readable annotation', Annotation: d.annotation } }
          : {}),
        OperatingSystemSection: {
          '@ovf:id': osId,
          Info: 'The kind of installed guest operating system',
          Description: osDesc,
        },
        VirtualHardwareSection: {
          Info: 'Virtual hardware requirements',
          System: {
            'vssd:ElementName': 'Virtual Hardware Family',
            'vssd:InstanceID': 0,
            'vssd:VirtualSystemIdentifier': d.name,
            'vssd:VirtualSystemType': 'vmx-13',
          },
          Item: sorted,
          ...(d.firmware === 'efi'
            ? { 'vmw:Config': { '@ovf:required': 'false', '@vmw:key': 'firmware', '@vmw:value': 'efi' } }
            : {}),
        },
      },
    },
  };
  return buildXml(doc);
}
