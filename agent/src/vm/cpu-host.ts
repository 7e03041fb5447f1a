// What CPU this host's hypervisor can give a guest: the named models libvirt reports usable
// (`virsh domcapabilities`, usable='yes'), the x86-64-v2-AES alias when `hypervisor-cpu-compare`
// finds its features, and the modes (host-passthrough/host-model need KVM). Read once per process.
import { CpuMode } from '@quantix/proto/v1/vm.js';
import type { DomainType } from '../libvirt/domain-type.js';
import { buildXml } from '../libvirt/xml/builder.js';
import { xmlAttr, xmlList, xmlReader, xmlText } from '../libvirt/xml/parser.js';
import type { Virsh } from '../libvirt/virsh.js';
import { X86_64_V2_AES, X86_64_V2_AES_FEATURES, namedNode } from './cpu-model.js';

export interface HostCpu {
  /** Named models a VM may use here, sorted. */
  models: string[];
  modes: CpuMode[];
}

const read = xmlReader(['mode', 'model']);

/** Parses `virsh domcapabilities` output: usable named models and the supported modes. */
export function parseDomCapabilities(xml: string): HostCpu {
  const modes = xmlList(read(xml).domainCapabilities?.cpu?.mode);
  const supported = (name: string) =>
    modes.some((m) => xmlAttr(m, 'name') === name && xmlAttr(m, 'supported') === 'yes');
  const custom = modes.find((m) => xmlAttr(m, 'name') === 'custom');
  const models = xmlList(custom?.model)
    .filter((m) => xmlAttr(m, 'usable') === 'yes')
    .map((m) => xmlText(m));
  return {
    models: [...new Set(models)].sort(),
    modes: [
      ...(supported('host-passthrough') ? [CpuMode.CPU_MODE_HOST_PASSTHROUGH] : []),
      ...(supported('host-model') ? [CpuMode.CPU_MODE_HOST_MODEL] : []),
      ...(custom && xmlAttr(custom, 'supported') === 'yes' ? [CpuMode.CPU_MODE_NAMED] : []),
      ...(supported('maximum') ? [CpuMode.CPU_MODE_MAX] : []),
    ],
  };
}

async function readHostCpu(virsh: Virsh, domainType: DomainType): Promise<HostCpu> {
  const caps = parseDomCapabilities(
    await virsh.exec(['domcapabilities', '--virttype', domainType, '--arch', 'x86_64'], { timeoutMs: 30_000 }),
  );
  // libvirt only lets KVM guests see the host CPU; under TCG host-model means nothing useful.
  if (domainType !== 'kvm') {
    caps.modes = caps.modes.filter((m) => m !== CpuMode.CPU_MODE_HOST_PASSTHROUGH && m !== CpuMode.CPU_MODE_HOST_MODEL);
  }
  const alias = buildXml({ cpu: namedNode('qemu64', undefined, X86_64_V2_AES_FEATURES) });
  const compared = await virsh
    .execWithXml(alias, (file) => ['hypervisor-cpu-compare', '--virttype', domainType, '--error', file], {
      timeoutMs: 30_000,
    })
    .then(
      () => true,
      () => false,
    );
  if (compared) caps.models = [X86_64_V2_AES, ...caps.models];
  return caps;
}

// The hypervisor's CPU does not change while the agent runs; a failed read is retried next time.
let cache: Promise<HostCpu> | undefined;

/** This host's CPU models and modes (cached; a failed read is not remembered). */
export function hostCpu(virsh: Virsh, domainType: DomainType): Promise<HostCpu> {
  cache ??= readHostCpu(virsh, domainType).catch((err: unknown) => {
    cache = undefined;
    throw err;
  });
  return cache;
}
