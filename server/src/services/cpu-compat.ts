// Whether a host can run a VM's guest hardware (CPU mode and model, Secure Boot, TPM), from what
// its agent reports in HostInfo. Placement asks it; so does the migration preflight (with the
// source host too, since host-passthrough only moves between identical CPUs).
import type { HostInfo } from '@quantix/proto/v1/host.js';
import { CpuMode, type Vm, type VmSpec } from '@quantix/proto/v1/vm.js';
import type { AgentPool } from '../agents/agent-pool.js';
import type { HostConnection } from '../agents/host-connection.js';

export type GuestHardware = Pick<VmSpec, 'cpuMode' | 'cpuModel' | 'secureBoot' | 'tpm'>;

const MODE_WORDS: Partial<Record<CpuMode, string>> = {
  [CpuMode.CPU_MODE_HOST_PASSTHROUGH]: 'host-passthrough',
  [CpuMode.CPU_MODE_HOST_MODEL]: 'host-model',
  [CpuMode.CPU_MODE_MAX]: 'max',
};

/**
 * Why host `dest` cannot run `vm` ('' = it can): "cannot run the CPU model EPYC-Rome",
 * "has no TPM support (swtpm)"… With `source` (a migration), a host-passthrough VM also needs the
 * same host CPU there. A host whose agent has not reported (info undefined) is refused.
 */
export function guestHardwareIncompatibility(vm: GuestHardware, dest: HostInfo | undefined, source?: HostInfo): string {
  if (!dest) return 'has not reported its hardware yet';
  // An agent that could not read libvirt's CPU list yet reports none: unknown, not "cannot" (its
  // define still refuses a model it lacks, naming it).
  const cpuKnown = dest.cpuModels.length > 0 || dest.cpuModes.length > 0;
  if (cpuKnown && vm.cpuMode === CpuMode.CPU_MODE_NAMED && !dest.cpuModels.includes(vm.cpuModel)) {
    return `cannot run the CPU model ${vm.cpuModel}`;
  }
  const mode = MODE_WORDS[vm.cpuMode];
  if (cpuKnown && mode && !dest.cpuModes.includes(vm.cpuMode)) {
    return `cannot run the CPU mode ${mode}${dest.domainType === 'kvm' ? '' : ' (it needs KVM; the host runs TCG)'}`;
  }
  if (vm.cpuMode === CpuMode.CPU_MODE_HOST_PASSTHROUGH && source && source.cpuModel !== dest.cpuModel) {
    return `has a different CPU (${dest.cpuModel}) than the source (${source.cpuModel}), which a host-passthrough VM needs`;
  }
  if (vm.secureBoot && !dest.secureBoot) return 'has no Secure Boot firmware (OVMF with Microsoft keys)';
  if (vm.tpm && !dest.tpm) return 'has no TPM support (swtpm)';
  return '';
}

/**
 * The migration preflight's CPU check (MigrationPreflight.cpuCheck): can `target` run the VM's
 * guest hardware, given the host it runs on now ('' = yes, else a reason naming the host).
 */
export function migrationHardwareCheck(pool: AgentPool): (vm: Vm, target: HostConnection) => string {
  return (vm, target) => {
    const source = pool.all().find((c) => c.vms.has(vm.spec!.uuid));
    const reason = guestHardwareIncompatibility(vm.spec!, target.info, source?.info);
    return reason && `host ${target.record.name} ${reason}`;
  };
}
