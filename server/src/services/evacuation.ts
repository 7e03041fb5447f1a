// Maintenance evacuates: entering maintenance moves each running VM away live and each stopped
// one cold (or leaves it, as the operator chose), one at a time, each to the host placement
// recommends, as one parent task ("host.evacuate") whose result lists what moved, what was left
// and every VM that could not move with its reason. The host is "in" maintenance once empty.
import type { Vm } from '@quantix/proto/v1/vm.js';
import type { TaskDto } from '../dto/tasks.js';
import type { HostConnection } from '../agents/host-connection.js';
import type { EventHub } from './event-hub.js';
import type { MigrationPreflight } from './migration-preflight.js';
import type { TaskContext, TaskService } from './task-service.js';
import { vmState } from './proto-enums.js';

export type StoppedVms = 'move' | 'leave';
export type MaintenanceState = 'off' | 'entering' | 'in';

/** Starts one VM's move as a task (MigrationService.migrate). */
export type StartMove = (vmId: string, req: { hostId: string }, user: string) => Promise<TaskDto>;

export interface EvacuationResult {
  moved: { vmId: string; name: string; hostId: string; taskId: string }[];
  left: { vmId: string; name: string }[];
  unmovable: { vmId: string; name: string; reason: string }[];
}

const isOn = (vm: Vm) => ['running', 'paused'].includes(vmState.str(vm.state));

export class Evacuation {
  /** Per host: how stopped VMs are treated and the running evacuation task. */
  private readonly byHost = new Map<string, { stoppedVms: StoppedVms; taskId: string; running: boolean }>();

  constructor(
    private readonly preflight: MigrationPreflight,
    private readonly tasks: TaskService,
    private readonly events: EventHub,
    private readonly startMove: StartMove,
    /** The host's DTO changed (its maintenance state): inventory.hostChanged. */
    private readonly changed: (c: HostConnection) => void,
  ) {}

  /** 'entering' while VMs that must leave are still on the host, 'in' once it is empty of them. */
  state(c: HostConnection): MaintenanceState {
    if (!c.record.maintenance) return 'off';
    const e = this.byHost.get(c.record.id);
    if (e?.running) return 'entering';
    const staying = [...c.vms.values()].filter((vm) => isOn(vm) || e?.stoppedVms === 'move');
    return staying.length ? 'entering' : 'in';
  }

  /** The last evacuation task of the host, if any. */
  taskOf(hostId: string): string | null {
    return this.byHost.get(hostId)?.taskId ?? null;
  }

  /** Starts the evacuation of host `c` (already marked in maintenance) as a task. */
  async start(c: HostConnection, stoppedVms: StoppedVms, user: string): Promise<TaskDto> {
    const current = this.byHost.get(c.record.id);
    if (current?.running) return this.tasks.get(current.taskId);
    const entry = { stoppedVms, taskId: '', running: true };
    this.byHost.set(c.record.id, entry);
    const { dto } = await this.tasks.start(
      {
        kind: 'host.evacuate',
        target: { type: 'host', id: c.record.id, name: c.record.name },
        hostId: c.record.id,
        user,
        cancellable: true,
      },
      async (t) => {
        try {
          return await this.run(c, stoppedVms, user, t);
        } finally {
          entry.running = false;
          this.changed(c);
        }
      },
    );
    entry.taskId = dto.id;
    this.changed(c);
    return dto;
  }

  /** Leaving maintenance: a running evacuation stops launching moves (and cancels the current one). */
  stop(c: HostConnection, user: string): void {
    const e = this.byHost.get(c.record.id);
    if (!e?.running) return;
    try {
      this.tasks.cancel(e.taskId, user);
    } catch {
      // Already over.
    }
  }

  private async run(
    c: HostConnection,
    stoppedVms: StoppedVms,
    user: string,
    t: TaskContext,
  ): Promise<EvacuationResult> {
    const result: EvacuationResult = { moved: [], left: [], unmovable: [] };
    const vms = [...c.vms.values()].filter((vm) => vm.spec);
    t.log(
      `evacuating ${c.record.name}: ${vms.length} VM(s); stopped VMs are ${stoppedVms === 'move' ? 'moved' : 'left'}`,
    );
    for (const [i, vm] of vms.entries()) {
      const { uuid, name } = vm.spec!;
      t.progress((i / Math.max(1, vms.length)) * 100, `moving ${name}`);
      if (t.signal.aborted) {
        result.unmovable.push({ vmId: uuid, name, reason: 'the evacuation was cancelled' });
        continue;
      }
      if (!isOn(vm) && stoppedVms === 'leave') {
        result.left.push({ vmId: uuid, name });
        continue;
      }
      const reason = await this.moveOne(c, uuid, name, user, t, result);
      if (reason) {
        result.unmovable.push({ vmId: uuid, name, reason });
        t.log(`${name} cannot move: ${reason}`);
      }
      t.detail({ moved: result.moved.length, unmovable: result.unmovable.length, left: result.left.length });
    }
    t.progress(100, result.unmovable.length ? 'some VMs could not move' : 'empty');
    return result;
  }

  /** Moves one VM to placement's choice and waits for it; '' when it moved, else why not. */
  private async moveOne(
    c: HostConnection,
    uuid: string,
    name: string,
    user: string,
    t: TaskContext,
    result: EvacuationResult,
  ): Promise<string> {
    let targets;
    try {
      targets = await this.preflight.targets(uuid);
    } catch (err) {
      return (err as Error).message;
    }
    const best = targets.find((x) => x.recommended);
    if (!best) {
      const others = targets.filter((x) => x.hostId !== c.record.id);
      if (!others.length) return 'there is no other host';
      return others.map((x) => `${x.hostName}: ${x.reasons.join('; ')}`).join(' | ');
    }
    let child: TaskDto;
    try {
      child = await this.startMove(uuid, { hostId: best.hostId }, user);
    } catch (err) {
      return (err as Error).message;
    }
    t.log(`${name} → ${best.hostName} (task ${child.id})`);
    const stopChild = () => {
      try {
        this.tasks.cancel(child.id, user);
      } catch {
        // Already over.
      }
    };
    t.signal.addEventListener('abort', stopChild, { once: true });
    try {
      const end = await this.finished(child.id);
      if (end.status !== 'succeeded') return end.error ?? `its move ended ${end.status}`;
    } finally {
      t.signal.removeEventListener('abort', stopChild);
    }
    result.moved.push({ vmId: uuid, name, hostId: best.hostId, taskId: child.id });
    return '';
  }

  /** Resolves with task `id` once it is no longer running. */
  private finished(id: string): Promise<TaskDto> {
    return new Promise((resolve) => {
      const check = (name: string, data: unknown) => {
        if (name !== 'task' || (data as TaskDto).id !== id) return;
        if ((data as TaskDto).status === 'running') return;
        this.events.off('event', check);
        resolve(data as TaskDto);
      };
      this.events.on('event', check);
      const now = this.tasks.get(id);
      if (now.status !== 'running') {
        this.events.off('event', check);
        resolve(now);
      }
    });
  }
}
