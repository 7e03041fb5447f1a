// A VM's CPU model as libvirt's <cpu> element, both ways (pure): host-passthrough, host-model,
// a named model (QEMU's, or the Quantix alias x86-64-v2-AES) and maximum (TCG's "max").
// https://libvirt.org/formatdomain.html#cpu-model-and-topology
import { CpuMode, type VmSpec } from '@quantix/proto/v1/vm.js';
import { failedPrecondition, invalidArgument } from '../errors.js';
import type { HostCpu } from './cpu-host.js';
import { xmlAttr, xmlList, xmlText, type XmlNode } from '../libvirt/xml/parser.js';

/**
 * The default named model: the x86-64-v2 micro-architecture level plus AES-NI, which every
 * x86-64 server CPU since ~2010 (Intel Westmere, AMD Bulldozer) has and RHEL 9-class guests need.
 * QEMU 7.2 has no model by that name (`qemu-system-x86_64 -cpu help`), so it is qemu64 with the
 * level's features required, as Proxmox defines it (vendor-neutral, unlike Westmere/Nehalem).
 */
export const X86_64_V2_AES = 'x86-64-v2-AES';
/** libvirt's feature names for x86-64-v2 (cx16 lahf popcnt sse3 sse4.1 sse4.2 ssse3) plus aes. */
export const X86_64_V2_AES_FEATURES = ['cx16', 'lahf_lm', 'popcnt', 'pni', 'sse4.1', 'sse4.2', 'ssse3', 'aes'] as const;

/** libvirt's names for the modes (NAMED is 'custom'). */
export const CPU_MODE_NAMES: Record<CpuMode, string> = {
  [CpuMode.CPU_MODE_UNSPECIFIED]: 'custom',
  [CpuMode.CPU_MODE_HOST_PASSTHROUGH]: 'host-passthrough',
  [CpuMode.CPU_MODE_HOST_MODEL]: 'host-model',
  [CpuMode.CPU_MODE_NAMED]: 'custom',
  [CpuMode.CPU_MODE_MAX]: 'maximum',
  [CpuMode.UNRECOGNIZED]: 'custom',
};

/**
 * The <cpu> element for a validated spec's mode and model, with the given <topology>. A named
 * model is checked by libvirt against the host CPU under KVM (check='partial'); under TCG the host
 * CPU is not what the guest runs on (libvirt would refuse e.g. 'vme' that TCG emulates), and
 * domcapabilities' usable='yes' is the check (cpu-host.ts).
 */
export function cpuNode(mode: CpuMode, model: string, topology: XmlNode, domainType = 'kvm'): XmlNode {
  const check = domainType === 'kvm' ? 'partial' : 'none';
  switch (mode) {
    case CpuMode.CPU_MODE_HOST_PASSTHROUGH:
      return { '@mode': 'host-passthrough', '@check': 'none', '@migratable': 'on', topology };
    case CpuMode.CPU_MODE_HOST_MODEL:
      return { '@mode': 'host-model', '@check': 'partial', topology };
    case CpuMode.CPU_MODE_MAX:
      return { '@mode': 'maximum', '@check': 'none', '@migratable': 'on', topology };
    default:
      if (!model) return { topology }; // QEMU's own default model (domains from before #21)
      return model === X86_64_V2_AES
        ? namedNode('qemu64', topology, X86_64_V2_AES_FEATURES, check)
        : namedNode(model, topology, [], check);
  }
}

/** A named model; `fallback='forbid'` so that libvirt never quietly runs a different model. */
export function namedNode(
  model: string,
  topology?: XmlNode,
  features: readonly string[] = [],
  check = 'partial',
): XmlNode {
  return {
    '@mode': 'custom',
    '@match': 'exact',
    '@check': check,
    model: { '@fallback': 'forbid', '#text': model },
    ...(topology ? { topology } : {}),
    ...(features.length ? { feature: features.map((name) => ({ '@policy': 'require', '@name': name })) } : {}),
  };
}

/** The mode and model a domain's <cpu> element describes (no element = QEMU's default, UNSPECIFIED). */
export function readCpu(cpu: XmlNode | undefined): { mode: CpuMode; model: string } {
  const mode = xmlAttr(cpu, 'mode');
  if (mode === 'host-passthrough') return { mode: CpuMode.CPU_MODE_HOST_PASSTHROUGH, model: '' };
  if (mode === 'host-model') return { mode: CpuMode.CPU_MODE_HOST_MODEL, model: '' };
  if (mode === 'maximum') return { mode: CpuMode.CPU_MODE_MAX, model: '' };
  const model = xmlText(cpu?.model);
  if (!model) return { mode: CpuMode.CPU_MODE_UNSPECIFIED, model: '' };
  const required = new Set(
    xmlList(cpu?.feature)
      .filter((f) => (xmlAttr(f, 'policy') || 'require') === 'require')
      .map((f) => xmlAttr(f, 'name')),
  );
  const isAlias = model === 'qemu64' && X86_64_V2_AES_FEATURES.every((f) => required.has(f));
  return { mode: CpuMode.CPU_MODE_NAMED, model: isAlias ? X86_64_V2_AES : model };
}

const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * Checks a spec's CPU fields, throwing INVALID_ARGUMENT naming the field; returns the mode and
 * model to define (no mode = the named default x86-64-v2-AES, movable between hosts).
 */
export function validateCpu(spec: Pick<VmSpec, 'cpuMode' | 'cpuModel'>): { cpuMode: CpuMode; cpuModel: string } {
  const known = [
    CpuMode.CPU_MODE_UNSPECIFIED,
    CpuMode.CPU_MODE_HOST_PASSTHROUGH,
    CpuMode.CPU_MODE_HOST_MODEL,
    CpuMode.CPU_MODE_NAMED,
    CpuMode.CPU_MODE_MAX,
  ];
  if (!known.includes(spec.cpuMode)) throw invalidArgument('spec.cpu_mode', 'unknown CPU mode');
  const named = spec.cpuMode === CpuMode.CPU_MODE_NAMED || spec.cpuMode === CpuMode.CPU_MODE_UNSPECIFIED;
  if (!named) {
    if (spec.cpuModel) throw invalidArgument('spec.cpu_model', 'is only for a named CPU model (cpu_mode NAMED)');
    return { cpuMode: spec.cpuMode, cpuModel: '' };
  }
  const model = spec.cpuModel || (spec.cpuMode === CpuMode.CPU_MODE_UNSPECIFIED ? X86_64_V2_AES : '');
  if (!model) throw invalidArgument('spec.cpu_model', 'is required for a named CPU model');
  if (!MODEL_NAME.test(model)) throw invalidArgument('spec.cpu_model', `"${model}" is not a CPU model name`);
  return { cpuMode: CpuMode.CPU_MODE_NAMED, cpuModel: model };
}

/** Throws FAILED_PRECONDITION when this host cannot run the spec's (validated) CPU, naming what it lacks. */
export function requireHostCpu(spec: Pick<VmSpec, 'cpuMode' | 'cpuModel'>, host: HostCpu, domainType: string): void {
  if (spec.cpuMode === CpuMode.CPU_MODE_NAMED) {
    if (!host.models.includes(spec.cpuModel)) {
      throw failedPrecondition(`this host's hypervisor cannot run the CPU model ${spec.cpuModel}`);
    }
  } else if (spec.cpuMode !== CpuMode.CPU_MODE_UNSPECIFIED && !host.modes.includes(spec.cpuMode)) {
    const why = domainType === 'kvm' ? '' : ' (it needs KVM; this host runs QEMU without it, TCG)';
    throw failedPrecondition(`this host cannot run the CPU mode ${CPU_MODE_NAMES[spec.cpuMode]}${why}`);
  }
}
