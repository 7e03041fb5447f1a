// Reading VMs: a VmRef to a domain, a domain to the proto Vm (spec, live state, addresses,
// snapshots), and the list of all VMs. Also remembers when the agent saw each state change.
import { VmState, type Vm } from '@quantix/proto/v1/vm.js';
import { invalidArgument } from '../errors.js';
import { isUuid, validateName } from '../validate/name.js';
import {
  DomainState,
  domainAddresses,
  domainDumpXml,
  domainNames,
  domainState,
  type AddressSource,
} from '../libvirt/domain.js';
import { parseDomainXml } from '../libvirt/xml/domain-parse.js';
import type { Virsh } from '../libvirt/virsh.js';

/** Checks a VmRef id (UUID or name) before it reaches virsh. */
export function vmId(id: string | undefined, field = 'vm.id'): string {
  if (!id) throw invalidArgument(field, 'is required');
  return isUuid(id) ? id.toLowerCase() : validateName(field, id);
}

export function vmState(state: DomainState): VmState {
  switch (state) {
    case DomainState.Running:
      return VmState.VM_STATE_RUNNING;
    case DomainState.Blocked:
      return VmState.VM_STATE_BLOCKED;
    case DomainState.Paused:
      return VmState.VM_STATE_PAUSED;
    case DomainState.Shutdown:
      return VmState.VM_STATE_SHUTTING_DOWN;
    case DomainState.Shutoff:
      return VmState.VM_STATE_SHUTOFF;
    case DomainState.Crashed:
      return VmState.VM_STATE_CRASHED;
    case DomainState.PmSuspended:
      return VmState.VM_STATE_PMSUSPENDED;
    default:
      return VmState.VM_STATE_UNSPECIFIED;
  }
}

const stateChanged = new Map<string, number>();
/** Records that VM `uuid` changed state now (operations and libvirt events call this). */
export function noteStateChange(uuid: string, at = Date.now()): void {
  stateChanged.set(uuid, at);
}

async function snapshotCount(virsh: Virsh, uuid: string): Promise<number> {
  try {
    return (await virsh.exec(['snapshot-list', '--name', uuid])).split('\n').filter((l) => l.trim()).length;
  } catch {
    return 0;
  }
}

/** The VM as the API shows it; NOT_FOUND when there is no such domain. */
export async function readVm(virsh: Virsh, id: string): Promise<Vm> {
  const parsed = parseDomainXml(await domainDumpXml(virsh, id));
  const state = await domainState(virsh, parsed.uuid);
  const live = state === DomainState.Running || state === DomainState.Paused || state === DomainState.Blocked;
  const guestAgentRunning = live && parsed.guestAgentConnected;
  const sources: AddressSource[] = guestAgentRunning ? ['agent', 'lease', 'arp'] : ['lease', 'arp'];
  const [ipAddresses, snapshots] = await Promise.all([
    live && parsed.spec.nics.length ? domainAddresses(virsh, parsed.uuid, sources) : Promise.resolve([]),
    snapshotCount(virsh, parsed.uuid),
  ]);
  return {
    spec: parsed.spec,
    state: vmState(state),
    domainType: parsed.domainType,
    ipAddresses,
    graphics: live && parsed.vncSocket !== '',
    macs: parsed.macs,
    stateChangedMs: stateChanged.get(parsed.uuid) ?? 0,
    snapshotCount: snapshots,
    guestAgentRunning,
    diskTargets: parsed.files.filter((f) => f.device === 'disk').map((f) => f.dev),
  };
}

/** Every domain on this host; one that disappears while listing is skipped. */
export async function listVms(virsh: Virsh): Promise<Vm[]> {
  const names = await domainNames(virsh);
  const vms: Vm[] = [];
  for (let i = 0; i < names.length; i += 8) {
    const batch = await Promise.all(names.slice(i, i + 8).map((n) => readVm(virsh, n).catch(() => undefined)));
    for (const vm of batch) if (vm) vms.push(vm);
  }
  return vms.sort((a, b) => a.spec!.name.localeCompare(b.spec!.name));
}
