// VmSpec → libvirt domain XML, a pure function over the one XML builder (xml/builder.ts: every
// value escaped by the builder, never concatenated). Disk paths come resolved from their pools.
import { buildXml } from './builder.js';
import { DiskBus, Firmware, NicKind, VideoModel, type VmSpec } from '@quantix/proto/v1/vm.js';
import { bootDeviceNames, diskBusNames, nicKindNames, nicModelNames, videoModelNames } from '../../enum-names.js';
import type { DomainType } from '../domain-type.js';
import { cpuNode } from '../../vm/cpu-model.js';
import { TPM_NODE } from '../../vm/tpm.js';

/** The namespace of the agent's element inside <metadata>. */
export const QX_NS = 'https://quantix-vdc.dev/xmlns/vm/1';

/** The virtio-serial port name qemu-ga listens on (https://wiki.qemu.org/Features/GuestAgent). */
export const GUEST_AGENT_CHANNEL = 'org.qemu.guest_agent.0';

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
  /** For UEFI: the OVMF code/vars template and this VM's NVRAM file; `secure` = Secure Boot (SMM on). */
  uefi?: { code: string; varsTemplate: string; nvram: string; secure?: boolean };
}

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
      '@type': 'file',
      '@device': 'disk',
      driver: { '@name': 'qemu', '@type': vol.format },
      source: { '@file': vol.path },
      target: { '@dev': devs[i], '@bus': diskBusNames.name(d.bus) },
      ...(d.readonly ? { readonly: '' } : {}),
    };
  });
  const cdroms: Node[] = spec.cdroms.map((c, i) => {
    const vol = input.cdroms[i];
    return {
      '@type': 'file',
      '@device': 'cdrom',
      driver: { '@name': 'qemu', '@type': vol?.format ?? 'raw' },
      ...(vol ? { source: { '@file': vol.path } } : {}),
      target: { '@dev': devs[spec.disks.length + i], '@bus': diskBusNames.name(c.bus) },
      readonly: '',
    };
  });
  const interfaces: Node[] = spec.nics.map((n) => ({
    '@type': nicKindNames.name(n.kind) ?? 'user',
    ...(n.mac ? { mac: { '@address': n.mac } } : {}),
    ...(n.kind === NicKind.NIC_KIND_NETWORK ? { source: { '@network': n.source } } : {}),
    ...(n.kind === NicKind.NIC_KIND_BRIDGE ? { source: { '@bridge': n.source } } : {}),
    model: { '@type': nicModelNames.name(n.model) },
  }));
  const needsScsi = spec.disks.some((d) => d.bus === DiskBus.DISK_BUS_SCSI);
  const uefi = spec.firmware === Firmware.FIRMWARE_UEFI ? input.uefi : undefined;
  if (spec.firmware === Firmware.FIRMWARE_UEFI && !uefi) throw new Error('UEFI firmware paths are required');

  const vcpus = spec.sockets * spec.cores;
  const maxVcpus = Math.max(vcpus, spec.maxVcpus);
  const domain: Node = {
    '@type': input.domainType,
    name: spec.name,
    uuid: input.uuid,
    metadata: { 'qx:vm': metadataNode(spec, devs) },
    // With a ceiling the guest boots with all of it and the virtio balloon holds back the rest.
    memory: { '@unit': 'MiB', '#text': Math.max(spec.memoryMib, spec.maxMemoryMib) },
    currentMemory: { '@unit': 'MiB', '#text': spec.memoryMib },
    // vCPUs beyond `current` are hotpluggable (libvirt: the topology covers the maximum).
    vcpu: {
      '@placement': 'static',
      ...(maxVcpus > vcpus ? { '@current': vcpus } : {}),
      '#text': maxVcpus,
    },
    os: {
      type: { '@arch': 'x86_64', ...(spec.machine ? { '@machine': spec.machine } : {}), '#text': 'hvm' },
      ...(uefi
        ? {
            loader: {
              '@readonly': 'yes',
              ...(uefi.secure ? { '@secure': 'yes' } : {}),
              '@type': 'pflash',
              '#text': uefi.code,
            },
            nvram: { '@template': uefi.varsTemplate, '#text': uefi.nvram },
          }
        : {}),
      boot: spec.bootOrder.map((b) => ({ '@dev': bootDeviceNames.name(b) })),
    },
    // Secure Boot's firmware keeps its variables safe from the guest only with SMM.
    features: { acpi: '', apic: '', ...(uefi?.secure ? { smm: { '@state': 'on' } } : {}) },
    cpu: cpuNode(
      spec.cpuMode,
      spec.cpuModel,
      {
        '@sockets': maxVcpus / spec.cores,
        '@dies': 1,
        '@cores': spec.cores,
        '@threads': 1,
      },
      input.domainType,
    ),
    clock: { '@offset': spec.osType === 'windows' ? 'localtime' : 'utc' },
    on_poweroff: 'destroy',
    on_reboot: 'restart',
    on_crash: 'destroy',
    devices: {
      disk: [...disks, ...cdroms],
      ...(needsScsi ? { controller: { '@type': 'scsi', '@index': 0, '@model': 'virtio-scsi' } } : {}),
      interface: interfaces,
      serial: { '@type': 'pty', log: { '@file': input.consoleLog, '@append': 'on' }, target: { '@port': 0 } },
      console: { '@type': 'pty', target: { '@type': 'serial', '@port': 0 } },
      // The QEMU guest agent's virtio-serial port (libvirt picks the socket path and adds the controller).
      channel: { '@type': 'unix', target: { '@type': 'virtio', '@name': GUEST_AGENT_CHANNEL } },
      ...graphicsDevices(spec),
      ...(spec.tpm ? { tpm: TPM_NODE } : {}),
      memballoon: { '@model': 'virtio' },
    },
  };
  return buildXml({ domain });
}

/**
 * The video device and, with it, VNC on a Unix socket libvirt places in the domain's own directory
 * (/var/lib/libvirt/qemu/domain-N-name/vnc.sock, made by QEMU, readable by root only): no TCP port
 * is opened on the host. The socket path is read back from the live XML (domain-parse.ts).
 */
function graphicsDevices(spec: VmSpec): Node {
  const model =
    spec.videoModel === VideoModel.VIDEO_MODEL_UNSPECIFIED
      ? spec.vnc
        ? VideoModel.VIDEO_MODEL_VGA
        : VideoModel.VIDEO_MODEL_NONE
      : spec.videoModel;
  if (model === VideoModel.VIDEO_MODEL_NONE) return {};
  return {
    ...(spec.vnc ? { graphics: { '@type': 'vnc', listen: { '@type': 'socket' } } } : {}),
    video: { model: { '@type': videoModelNames.name(model) } },
  };
}

/** The <qx:vm> metadata element of `spec` (`devs`: target devices of spec.disks then spec.cdroms). */
export function metadataNode(spec: VmSpec, devs: readonly string[]): Node {
  return {
    '@xmlns:qx': QX_NS,
    ...(spec.description ? { 'qx:description': spec.description } : {}),
    ...(spec.osType ? { 'qx:os-type': spec.osType } : {}),
    'qx:tag': spec.tags,
    ...(spec.autostart || spec.autostartOrder || spec.autostartDelaySeconds
      ? {
          'qx:autostart': {
            '@enabled': spec.autostart ? 'yes' : 'no',
            '@order': spec.autostartOrder,
            '@delay': spec.autostartDelaySeconds,
          },
        }
      : {}),
    'qx:volume': [
      ...spec.disks.map((d, i) => ({ '@dev': devs[i], '@pool': d.pool, '@volume': d.volume })),
      ...spec.cdroms
        .map((c, i) => ({ '@dev': devs[spec.disks.length + i], '@pool': c.pool, '@volume': c.volume }))
        .filter((v) => v['@pool']),
    ],
  };
}
