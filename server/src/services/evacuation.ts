// Maintenance evacuates: entering maintenance moves each running VM away live and each stopped
// one cold (or leaves it, as the operator chose), one at a time, each to the host placement
// recommends, as one parent task ("host.evacuate") whose result lists what moved, what was left
// and every VM that could not move with its reason. The host is "in" maintenance once empty.
// The operator's choice and the move in flight are kept in the host's record: a server restarted
// mid-evacuation first follows that move to its end, then resumes the evacuation.
import { randomUUID } from 'node:crypto';
import type { Vm } from '@quantix/proto/v1/vm.js';
import type { TaskDto } from '../dto/tasks.js';
import type { HostConnection } from '../agents/host-connection.js';
import type { AgentPool } from '../agents/agent-pool.js';
import type { HostRepo } from '../store/host-repo.js';
import type { EvacuationRecord } from '../store/records.js';
import { log } from '../log.js';
import type { EventHub } from './event-hub.js';
import type { MigrationPreflight } from './migration-preflight.js';
import type { TaskContext, TaskService } from './task-service.js';
import { vmState } from './proto-enums.js';

export type StoppedVms = EvacuationRecord['stoppedVms'];
export type MaintenanceState = 'off' | 'entering' | 'in';

/** Starts one VM's move as a task (MigrationService.migrate); a live one under `migrationId`. */
export type StartMove = (
  vmId: string,
  req: { hostId: string },
  user: string,
  opts: { migrationId?: string },
) => Promise<TaskDto>;

export interface EvacuationResult {
  moved: { vmId: string; name: string; hostId: string; taskId: string }[];
  left: { vmId: string; name: string }[];
  unmovable: { vmId: string; name: string; reason: string }[];
}

const isOn = (vm: Vm) => ['running', 'paused'].includes(vmState.str(vm.state));

export class Evacuation {
  /** Set while the server stops (or stops leading): running evacuations then keep their record as is. */
  private closed = false;
  /** The hosts (set by resumeAll): the destination of a move that a restart interrupted. */
  private pool: AgentPool | undefined;

  constructor(
    private readonly preflight: MigrationPreflight,
    private readonly tasks: TaskService,
    private readonly events: EventHub,
    private readonly startMove: StartMove,
    /** The host's DTO changed (its maintenance state): inventory.hostChanged. */
    private readonly changed: (c: HostConnection) => void,
    private readonly hosts: HostRepo,
  ) {}

  /** 'entering' while VMs that must leave are still on the host, 'in' once it is empty of them. */
  state(c: HostConnection): MaintenanceState {
    if (!c.record.maintenance) return 'off';
    const e = c.record.evacuation;
    if (e?.running) return 'entering';
    const staying = [...c.vms.values()].filter((vm) => isOn(vm) || e?.stoppedVms === 'move');
    return staying.length ? 'entering' : 'in';
  }

  /** The last evacuation task of the host, if any. */
  taskOf(c: HostConnection): string | null {
    return c.record.evacuation?.taskId || null;
  }

  /** Starts the evacuation of host `c` (already marked in maintenance) as a task. */
  async start(c: HostConnection, stoppedVms: StoppedVms, user: string): Promise<TaskDto> {
    const current = c.record.evacuation;
    const task = current?.running ? this.taskIfAny(current.taskId) : undefined;
    if (task?.status === 'running') return task;
    return this.launch(c, { stoppedVms, user, taskId: '', running: true });
  }

  /**
   * After a (re)start: every host whose evacuation was running when the server stopped resumes it
   * once its inventory is read, with the operator's choice as recorded.
   */
  resumeAll(pool: AgentPool): void {
    this.closed = false;
    this.pool = pool;
    for (const c of pool.all()) {
      const e = c.record.evacuation;
      if (!c.record.maintenance || !e?.running) continue;
      void this.resume(c, e).catch((err: unknown) =>
        log.warn('evacuation not resumed', { host: c.record.name, error: String(err) }),
      );
    }
  }

  /** The server stops (or stops leading): evacuations in flight stay recorded as running. */
  close(): void {
    this.closed = true;
  }

  /** Leaving maintenance: a running evacuation stops launching moves (and cancels the current one). */
  stop(c: HostConnection, user: string): void {
    const e = c.record.evacuation;
    if (!e?.running) return;
    try {
      this.tasks.cancel(e.taskId, user);
    } catch {
      // Its task is over (or was a task of a server that stopped): the record ends here.
      void this.save(c, { ...e, running: false, moving: undefined });
    }
  }

  private async resume(c: HostConnection, e: EvacuationRecord): Promise<void> {
    while (!c.inventoryRead || !c.online) {
      if (this.closed) return;
      await new Promise((r) => setTimeout(r, 500).unref());
    }
    // Left maintenance meanwhile, or entered it again (a new evacuation): nothing to resume.
    if (this.closed || !c.record.maintenance || c.record.evacuation?.taskId !== e.taskId) return;
    await this.launch(c, { ...e, taskId: '', running: true }, { moving: e.moving, taskId: e.taskId });
  }

  private async launch(
    c: HostConnection,
    record: EvacuationRecord,
    resumed?: { moving: EvacuationRecord['moving']; taskId: string },
  ): Promise<TaskDto> {
    // In memory at once: the run below reads and extends it.
    c.record.evacuation = record;
    const { dto } = await this.tasks.start(
      {
        kind: 'host.evacuate',
        target: { type: 'host', id: c.record.id, name: c.record.name },
        hostId: c.record.id,
        user: record.user,
        cancellable: true,
      },
      async (t) => {
        try {
          if (resumed) t.log(`resumed after the server restarted (its task then: ${resumed.taskId})`);
          if (resumed?.moving) await this.followInterrupted(c, resumed.moving, t);
          return await this.run(c, record.stoppedVms, record.user, t);
        } finally {
          // A server that stops leaves the record running: the next start resumes it.
          if (!this.closed) await this.save(c, { ...c.record.evacuation!, running: false, moving: undefined });
          this.changed(c);
        }
      },
    );
    // The run may have ended already (nothing to move): only the task id is added.
    await this.save(c, { ...c.record.evacuation!, taskId: dto.id });
    this.changed(c);
    return dto;
  }

  /**
   * The move in flight when the server stopped: a live migration runs on in the source agent
   * without the server; it is followed to its end and the destination told to keep the VM (it
   * arrived) or remove what arrived (it did not), so that exactly one copy runs.
   */
  private async followInterrupted(
    c: HostConnection,
    moving: NonNullable<EvacuationRecord['moving']>,
    t: TaskContext,
  ): Promise<void> {
    const target = this.pool?.find(moving.targetHostId);
    if (moving.migrationId) {
      t.log(`following the migration of ${moving.vmId} that ran when the server stopped`);
      for (;;) {
        const s = await c.client.getOutgoing(moving.migrationId).catch(() => undefined);
        if (s && !s.running) break;
        if (t.signal.aborted || this.closed) return;
        await new Promise((r) => setTimeout(r, 1_000).unref());
      }
      if (target) {
        const end = await target.client.abortIncoming(moving.migrationId).catch((err: unknown) => {
          t.log(`${target.record.name} could not be told to end migration ${moving.migrationId}: ${String(err)}`);
          return undefined;
        });
        if (end) t.log(`the interrupted migration ${end.completed ? 'completed' : 'did not complete: removed'}`);
      }
    }
    await c.refreshVm(moving.vmId);
    await target?.refreshVm(moving.vmId);
  }

  private taskIfAny(id: string): TaskDto | undefined {
    try {
      return this.tasks.get(id);
    } catch {
      return undefined;
    }
  }

  private async save(c: HostConnection, e: EvacuationRecord): Promise<void> {
    c.record.evacuation = e;
    await this.hosts.update(c.record.id, { evacuation: e });
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
      if (this.closed) break;
      // Moved meanwhile (by the move a restart interrupted, or by hand): nothing to do.
      if (!c.vms.has(uuid)) continue;
      if (t.signal.aborted) {
        result.unmovable.push({ vmId: uuid, name, reason: 'the evacuation was cancelled' });
        continue;
      }
      if (!isOn(vm) && stoppedVms === 'leave') {
        result.left.push({ vmId: uuid, name });
        continue;
      }
      const reason = await this.moveOne(c, vm, user, t, result);
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
    vm: Vm,
    user: string,
    t: TaskContext,
    result: EvacuationResult,
  ): Promise<string> {
    const { uuid, name } = vm.spec!;
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
    // A live move runs on in the source agent if this server stops: its id lets a restart follow it.
    const moving = { vmId: uuid, targetHostId: best.hostId, migrationId: isOn(vm) ? randomUUID() : undefined };
    await this.save(c, { ...c.record.evacuation!, moving });
    try {
      child = await this.startMove(uuid, { hostId: best.hostId }, user, { migrationId: moving.migrationId });
    } catch (err) {
      if (!this.closed) await this.save(c, { ...c.record.evacuation!, moving: undefined });
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
      if (!this.closed) await this.save(c, { ...c.record.evacuation!, moving: undefined });
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
