// vCPUs and memory of a VM changed without a restart, within the ceilings of its definition
// (VmSpec.max_vcpus / max_memory_mib); a running VM changes live and in its persistent definition,
// a shut-off one in its definition. vCPUs are ACPI CPU hotplug (virsh setvcpus; works under TCG on
// pc and q35); memory is the virtio balloon (virsh setmem): the guest boots with the maximum and
// the balloon holds back the rest, so it needs only the virtio_balloon driver, no NUMA layout and
// no memory onlining in the guest (virtio-mem and DIMMs need both, and virtio-mem needs QEMU
// under KVM with a NUMA node in libvirt 9.0).
import type { Vm } from '@quantix/proto/v1/vm.js';
import { AgentError, ErrorCode, invalidArgument } from '../errors.js';
import { domainDumpXml } from '../libvirt/domain.js';
import { parseDomainXml } from '../libvirt/xml/domain-parse.js';
import { Virsh } from '../libvirt/virsh.js';
import { isLive, persistent, scope, type Target } from './vm-hotplug.js';
import { vmTarget } from './vm-lifecycle.js';
import { noteStateChange, readVm } from './vm-read.js';

const MIN_MEMORY_MIB = 16;

/** What to do about a ceiling: it changes with the rest of the definition, while the VM is shut off. */
const raise = (t: Target, what: string) =>
  isLive(t.state) ? `shut it down and raise its ${what} first` : `raise its ${what} in its settings first`;

/** virsh with a refusal from libvirt/QEMU as FAILED_PRECONDITION naming the VM. */
async function resizeCall(virsh: Virsh, t: Target, args: string[]): Promise<void> {
  await virsh.exec([...args, ...scope(t)], { timeoutMs: 120_000 }).catch((err: unknown) => {
    throw new AgentError(ErrorCode.FailedPrecondition, `VM ${t.name}: ${Virsh.message(err)}`, undefined, {
      cause: err,
    });
  });
}

/**
 * Sets the vCPU count of VM `id`: at most its max_vcpus, a multiple of its cores per socket (one
 * socket is one hotplug step); a running VM only grows (taking a vCPU back needs the guest's
 * cooperation, which QEMU cannot promise).
 */
export async function setVcpus(virsh: Virsh, id: string, vcpus: number): Promise<Vm> {
  const t = await vmTarget(virsh, id);
  const { spec } = await persistent(virsh, t.uuid);
  const max = Math.max(spec.maxVcpus, spec.sockets * spec.cores);
  if (!Number.isInteger(vcpus) || vcpus < spec.cores || vcpus > max || vcpus % spec.cores) {
    throw invalidArgument(
      'vcpus',
      vcpus > max
        ? `VM ${t.name} can have at most ${max} vCPUs (its max_vcpus): ${raise(t, 'max vCPUs')}`
        : `must be a multiple of ${spec.cores} (cores per socket) between ${spec.cores} and ${max}`,
    );
  }
  if (isLive(t.state)) {
    const now = parseDomainXml(await domainDumpXml(virsh, t.uuid)).spec;
    if (vcpus < now.sockets * now.cores) {
      throw invalidArgument(
        'vcpus',
        `running VM ${t.name} has ${now.sockets * now.cores} vCPUs and can only grow: shut it down to remove vCPUs`,
      );
    }
  }
  await resizeCall(virsh, t, ['setvcpus', t.uuid, String(vcpus)]);
  noteStateChange(t.uuid);
  return readVm(virsh, t.uuid);
}

/** Sets the memory of VM `id` through its balloon, at most its max_memory_mib. */
export async function setMemory(virsh: Virsh, id: string, memoryMib: number): Promise<Vm> {
  const t = await vmTarget(virsh, id);
  const { spec } = await persistent(virsh, t.uuid);
  const max = Math.max(spec.maxMemoryMib, spec.memoryMib);
  if (!Number.isInteger(memoryMib) || memoryMib < MIN_MEMORY_MIB || memoryMib > max) {
    throw invalidArgument(
      'memory_mib',
      memoryMib > max
        ? `VM ${t.name} can have at most ${max} MiB (its max_memory_mib): ${raise(t, 'max memory')}`
        : `must be between ${MIN_MEMORY_MIB} and ${max} MiB`,
    );
  }
  await resizeCall(virsh, t, ['setmem', t.uuid, String(memoryMib * 1024)]);
  noteStateChange(t.uuid);
  return readVm(virsh, t.uuid);
}
