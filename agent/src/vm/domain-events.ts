// VM state changes as they happen: lines from `virsh event` (event-process.ts) become vm_state
// WatchEvents on the agent's WatchBus. The child runs only while somebody watches (reference
// counted per bus), so a domain defined or destroyed with plain virsh shows up too.
import { VmState } from '@quantix/proto/v1/vm.js';
import type { VmStateChanged } from '@quantix/proto/v1/host.js';
import type { WatchBus } from '../context.js';
import { VirshEventProcess } from '../libvirt/event-process.js';
import { noteStateChange } from './vm-read.js';
import type { Virsh } from '../libvirt/virsh.js';

export interface LifecycleEvent {
  name: string;
  /** libvirt's event, e.g. "Started", "Stopped", "Undefined". */
  event: string;
  /** libvirt's detail, e.g. "Booted", "Destroyed", "Removed". */
  detail: string;
}

/** Parses `event 'lifecycle' for domain 'NAME': Started Booted`; undefined for other lines. */
export function parseLifecycleLine(line: string): LifecycleEvent | undefined {
  const m = /event 'lifecycle' for domain '(.*)': (\S+)(?: (\S+))?\s*$/.exec(line);
  return m ? { name: m[1]!, event: m[2]!, detail: m[3] ?? '' } : undefined;
}

const stateOf: Record<string, VmState> = {
  Defined: VmState.VM_STATE_SHUTOFF,
  Undefined: VmState.VM_STATE_SHUTOFF,
  Started: VmState.VM_STATE_RUNNING,
  Suspended: VmState.VM_STATE_PAUSED,
  Resumed: VmState.VM_STATE_RUNNING,
  Stopped: VmState.VM_STATE_SHUTOFF,
  Shutdown: VmState.VM_STATE_SHUTTING_DOWN,
  PMSuspended: VmState.VM_STATE_PMSUSPENDED,
  Crashed: VmState.VM_STATE_CRASHED,
};

/** The state a lifecycle event leaves the VM in (a redefinition of a running VM stays running). */
export function stateAfter(e: LifecycleEvent): VmState {
  if (e.event === 'Shutdown' && e.detail === 'Finished') return VmState.VM_STATE_SHUTTING_DOWN;
  return stateOf[e.event] ?? VmState.VM_STATE_UNSPECIFIED;
}

class DomainEventPublisher {
  private readonly uuids = new Map<string, string>();
  private readonly process: VirshEventProcess;
  users = 0;

  constructor(
    private readonly virsh: Virsh,
    private readonly bus: WatchBus,
  ) {
    this.process = new VirshEventProcess(
      virsh.uri,
      (line) => void this.onLine(line),
      () => void this.refreshUuids(),
    );
    this.process.start();
  }

  private async refreshUuids(): Promise<void> {
    const out = await this.virsh.exec(['list', '--all', '--uuid', '--name']).catch(() => '');
    for (const line of out.split('\n')) {
      const [uuid, ...name] = line.trim().split(' ');
      if (uuid && name.length) this.uuids.set(name.join(' '), uuid);
    }
  }

  private async uuidOf(name: string, removed: boolean): Promise<string> {
    if (!removed) {
      const uuid = (await this.virsh.exec(['domuuid', name]).catch(() => '')).trim();
      if (uuid) this.uuids.set(name, uuid);
    }
    return this.uuids.get(name) ?? '';
  }

  private async onLine(line: string): Promise<void> {
    const e = parseLifecycleLine(line);
    if (!e) return;
    const removed = e.event === 'Undefined';
    const uuid = await this.uuidOf(e.name, removed);
    let state = stateAfter(e);
    if (e.event === 'Defined') {
      const live = (await this.virsh.exec(['domstate', e.name]).catch(() => '')).trim();
      if (live === 'running') state = VmState.VM_STATE_RUNNING;
      else if (live === 'paused') state = VmState.VM_STATE_PAUSED;
    }
    if (removed) this.uuids.delete(e.name);
    const timestampMs = Date.now();
    if (uuid) noteStateChange(uuid, timestampMs);
    const value: VmStateChanged = {
      uuid,
      name: e.name,
      state,
      reason: `${e.event} ${e.detail}`.trim(),
      removed,
      timestampMs,
    };
    this.bus.publish({ event: { $case: 'vmState', value } });
  }

  stop(): Promise<void> {
    return this.process.stop();
  }
}

const publishers = new WeakMap<WatchBus, DomainEventPublisher>();

/**
 * Makes sure VM state events flow onto `bus` while the caller needs them; the returned function
 * releases this use (the virsh child stops with the last one).
 */
export function watchDomainEvents(virsh: Virsh, bus: WatchBus): () => Promise<void> {
  let p = publishers.get(bus);
  if (!p) {
    p = new DomainEventPublisher(virsh, bus);
    publishers.set(bus, p);
  }
  const publisher = p;
  publisher.users += 1;
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    publisher.users -= 1;
    if (publisher.users === 0) {
      publishers.delete(bus);
      await publisher.stop();
    }
  };
}
