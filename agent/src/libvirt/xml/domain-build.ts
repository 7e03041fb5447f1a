// VmSpec → libvirt domain XML, a pure function over fast-xml-parser's XMLBuilder (every value
// escaped by the builder, never concatenated). Disk paths come resolved from their pools.
import { XMLBuilder } from 'fast-xml-parser';
import { DiskBus, Firmware, NicKind, type VmSpec } from '@quantix/proto/v1/vm.js';
import { bootDeviceNames, diskBusNames, nicKindNames, nicModelNames } from '../../enum-names.js';
import type { DomainType } from '../domain-type.js';

/** The namespace of the agent's element inside <metadata>. */
export const QX_NS = 'https://quantix-vdc.dev/xmlns/vm/1';

export interface ResolvedVolume {
  path: string;
  /** qemu driver format: "qcow2", "raw", … */
  format: string;
}

export interface DomainBuildInput {
  /** Validated (vm-spec-validate.ts). */
  spec: VmSpec;
  uuid: string;
  domainType: DomainType;
  /** One per spec.disks entry, same order. */
  disks: ResolvedVolume[];
  /** One per spec.cdroms entry; undefined = empty drive. */
  cdroms: (ResolvedVolume | undefined)[];
  /** The file libvirt copies the serial console's output to (console/console-log.ts). */
  consoleLog: string;
  /** For UEFI: the OVMF code/vars template and this VM's NVRAM file. */
  uefi?: { code: string; varsTemplate: string; nvram: string };
}

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  format: true,
  suppressEmptyNode: true,
});

/** Target device names: vdX for virtio, sdX shared by SATA and SCSI, hdX for IDE. */
export function targetDevs(buses: readonly DiskBus[]): string[] {
  const next: Record<string, number> = { vd: 0, sd: 0, hd: 0 };
  return buses.map((bus) => {
    const prefix = bus === DiskBus.DISK_BUS_VIRTIO ? 'vd' : bus === DiskBus.DISK_BUS_IDE ? 'hd' : 'sd';
    const n = next[prefix]!;
    next[prefix] = n + 1;
    return prefix + String.fromCharCode(97 + n);
  });
}

type Node = Record<string, unknown>;

export function buildDomainXml(input: DomainBuildInput): string {
  const { spec } = input;
  const devs = targetDevs([...spec.disks.map((d) => d.bus), ...spec.cdroms.map((c) => c.bus)]);
  const disks: Node[] = spec.disks.map((d, i) => {
    const vol = input.disks[i]!;
    return {
      '@_type': 'file',
      '@_device': 'disk',
      driver: { '@_name': 'qemu', '@_type': vol.format },
      source: { '@_file': vol.path },
      target: { '@_dev': devs[i], '@_bus': diskBusNames.name(d.bus) },
      ...(d.readonly ? { readonly: '' } : {}),
    };
  });
  const cdroms: Node[] = spec.cdroms.map((c, i) => {
    const vol = input.cdroms[i];
    return {
      '@_type': 'file',
      '@_device': 'cdrom',
      driver: { '@_name': 'qemu', '@_type': vol?.format ?? 'raw' },
      ...(vol ? { source: { '@_file': vol.path } } : {}),
      target: { '@_dev': devs[spec.disks.length + i], '@_bus': diskBusNames.name(c.bus) },
      readonly: '',
    };
  });
  const interfaces: Node[] = spec.nics.map((n) => ({
    '@_type': nicKindNames.name(n.kind) ?? 'user',
    ...(n.mac ? { mac: { '@_address': n.mac } } : {}),
    ...(n.kind === NicKind.NIC_KIND_NETWORK ? { source: { '@_network': n.source } } : {}),
    ...(n.kind === NicKind.NIC_KIND_BRIDGE ? { source: { '@_bridge': n.source } } : {}),
    model: { '@_type': nicModelNames.name(n.model) },
  }));
  const needsScsi = spec.disks.some((d) => d.bus === DiskBus.DISK_BUS_SCSI);
  const uefi = spec.firmware === Firmware.FIRMWARE_UEFI ? input.uefi : undefined;
  if (spec.firmware === Firmware.FIRMWARE_UEFI && !uefi) throw new Error('UEFI firmware paths are required');

  const domain: Node = {
    '@_type': input.domainType,
    name: spec.name,
    uuid: input.uuid,
    metadata: { 'qx:vm': metadataNode(spec, devs) },
    memory: { '@_unit': 'MiB', '#text': spec.memoryMib },
    currentMemory: { '@_unit': 'MiB', '#text': spec.memoryMib },
    vcpu: { '@_placement': 'static', '#text': spec.sockets * spec.cores },
    os: {
      type: { '@_arch': 'x86_64', ...(spec.machine ? { '@_machine': spec.machine } : {}), '#text': 'hvm' },
      ...(uefi
        ? {
            loader: { '@_readonly': 'yes', '@_type': 'pflash', '#text': uefi.code },
            nvram: { '@_template': uefi.varsTemplate, '#text': uefi.nvram },
          }
        : {}),
      boot: spec.bootOrder.map((b) => ({ '@_dev': bootDeviceNames.name(b) })),
    },
    features: { acpi: '', apic: '' },
    cpu: { topology: { '@_sockets': spec.sockets, '@_dies': 1, '@_cores': spec.cores, '@_threads': 1 } },
    clock: { '@_offset': spec.osType === 'windows' ? 'localtime' : 'utc' },
    on_poweroff: 'destroy',
    on_reboot: 'restart',
    on_crash: 'destroy',
    devices: {
      disk: [...disks, ...cdroms],
      ...(needsScsi ? { controller: { '@_type': 'scsi', '@_index': 0, '@_model': 'virtio-scsi' } } : {}),
      interface: interfaces,
      serial: { '@_type': 'pty', log: { '@_file': input.consoleLog, '@_append': 'on' }, target: { '@_port': 0 } },
      console: { '@_type': 'pty', target: { '@_type': 'serial', '@_port': 0 } },
      ...(spec.vnc
        ? {
            graphics: {
              '@_type': 'vnc',
              '@_port': -1,
              '@_autoport': 'yes',
              '@_listen': '127.0.0.1',
              listen: { '@_type': 'address', '@_address': '127.0.0.1' },
            },
            video: { model: { '@_type': 'vga' } },
          }
        : {}),
      memballoon: { '@_model': 'virtio' },
    },
  };
  return builder.build({ domain }) as string;
}

function metadataNode(spec: VmSpec, devs: readonly string[]): Node {
  return {
    '@_xmlns:qx': QX_NS,
    ...(spec.description ? { 'qx:description': spec.description } : {}),
    ...(spec.osType ? { 'qx:os-type': spec.osType } : {}),
    'qx:tag': spec.tags,
    'qx:volume': [
      ...spec.disks.map((d, i) => ({ '@_dev': devs[i], '@_pool': d.pool, '@_volume': d.volume })),
      ...spec.cdroms
        .map((c, i) => ({ '@_dev': devs[spec.disks.length + i], '@_pool': c.pool, '@_volume': c.volume }))
        .filter((v) => v['@_pool']),
    ],
  };
}
