// Backups (#24): runs backups, restores and verifies as tasks on the agent of the VM's host (the
// target is a pool of that host, or of another host: the target's agent issues a ticket and the
// VM's host streams the backup to it under the vDC's PKI), lists a VM's points across the active
// pools of the online hosts and deletes points. A failed run is a failed task, which the events
// log records (task.failed).
import { randomUUID } from 'node:crypto';
import type { Backup, BackupRemoteTarget } from '@quantix/proto/v1/backup.js';
import { PoolState } from '@quantix/proto/v1/storage.js';
import type { AgentPool } from '../agents/agent-pool.js';
import type { BackupTargets } from './backup-targets.js';
import type { HostConnection } from '../agents/host-connection.js';
import type {
  BackupDto,
  BackupTargetDto,
  BackupVerifyResultDto,
  CreateBackupDto,
  RestoreBackupDto,
  RestoreDiskDto,
  RestoreOverVmDto,
} from '../dto/backups.js';
import type { TaskDto } from '../dto/tasks.js';
import { badRequest, conflict, HttpError, notFound } from '../errors.js';
import type { TaskRecord, VdcRecord } from '../store/records.js';
import { issueAgentCertificate } from './agent-credential.js';
import { backupConsistency, backupKind, vmState } from './proto-enums.js';
import type { TaskContext, TaskService } from './task-service.js';
import type { VmService } from './vm-service.js';

/** Where a stored point is: the path parameters of /api/v1/backups/:hostId/:pool/:vmUuid/:backupId. */
export interface BackupPoint {
  hostId: string;
  pool: string;
  vmUuid: string;
  backupId: string;
}

export class BackupService {
  constructor(
    private readonly pool: AgentPool,
    private readonly vms: VmService,
    private readonly tasks: TaskService,
    private readonly vdc: VdcRecord,
  ) {}

  /** NFS backup targets (pool "nfs:<name>"): opened on the agent before each call naming one (compose.ts sets it). */
  nfsTargets?: BackupTargets;

  /** VM UUID → the id of its running backup task (or STAGED_RESTORE). */
  private readonly running = new Map<string, string>();

  /** Its own host's pools first, then every other online host's (backups sent there). */
  async list(vmId: string): Promise<BackupDto[]> {
    const { c: own, vm } = this.vms.online(vmId);
    const out: BackupDto[] = [];
    for (const c of [own, ...this.pool.all().filter((h) => h !== own && h.online)]) {
      const agent = c.requireOnline();
      for (const p of c.pools.values()) {
        if (p.state !== PoolState.POOL_STATE_ACTIVE) continue;
        const { backups } = await agent.listBackups(p.name, vm.spec!.uuid);
        out.push(...backups.map((b) => toDto(c.record.id, b)));
      }
    }
    const home = this.vms.online(vmId);
    const onNfs = (await this.nfsTargets?.vmBackups(home.agent, vm.spec!.uuid)) ?? [];
    out.push(...onNfs.map((b) => toDto(home.c.record.id, b)));
    return out.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  async create(vmId: string, req: CreateBackupDto, user: string): Promise<TaskDto> {
    const { c, vm } = this.vms.online(vmId);
    this.targetHost(c, req);
    return (await this.start({ uuid: vm.spec!.uuid, name: vm.spec!.name, hostId: c.record.id }, req, user)).dto;
  }

  /** The host holding the target pool (the VM's own unless hostId names another), checked. */
  private targetHost(own: HostConnection, req: CreateBackupDto): HostConnection {
    let c = own;
    if (req.hostId && req.hostId !== own.record.id) {
      const found = this.pool.find(req.hostId);
      if (!found) throw badRequest(`hostId: no host ${req.hostId}`, 'hostId');
      if (!found.online) throw conflict(`host ${found.record.name} is offline: it cannot receive a backup`);
      if (req.pool.startsWith('nfs:'))
        throw badRequest("hostId: an NFS target is written by the VM's own host: leave hostId out", 'hostId');
      if (found.record.address.startsWith('unix:'))
        throw conflict(`host ${found.record.name} has no network address another host's agent can reach`);
      c = found;
    }
    if (!c.pools.has(req.pool) && !this.nfsTargets?.pools().includes(req.pool))
      throw badRequest(`host ${c.record.name} has no pool ${req.pool}`, 'pool');
    return c;
  }

  /**
   * Starts a backup task of a VM: one at a time per VM (409 while one runs). The host and pool
   * are checked again inside the task, so a scheduled run that cannot back a VM up is a failed
   * task (and a backup.failed event) too. `note` is the task's first log line.
   */
  async start(
    vm: { uuid: string; name: string; hostId: string | null },
    req: CreateBackupDto,
    user: string,
    note?: string,
  ): Promise<{ dto: TaskDto; done: Promise<TaskRecord> }> {
    const busy = this.running.get(vm.uuid);
    if (busy) throw conflict(busyMessage(vm.name, busy));
    this.running.set(vm.uuid, 'starting');
    let started: { dto: TaskDto; done: Promise<TaskRecord> };
    // The VM is free again as the work ends, before the task shows as ended (its record is saved
    // after): a caller that saw it end may back the VM up again at once.
    let ended = false;
    const free = () => {
      ended = true;
      this.running.delete(vm.uuid);
    };
    try {
      started = await this.tasks.start(
        {
          kind: 'vm.backup',
          target: { type: 'vm', id: vm.uuid, name: vm.name },
          hostId: vm.hostId,
          user,
          cancellable: true,
        },
        (t) => this.backUp(vm.uuid, req, t, note).finally(free),
      );
    } catch (err) {
      this.running.delete(vm.uuid);
      throw err;
    }
    if (!ended) this.running.set(vm.uuid, started.dto.id);
    return started;
  }

  private async backUp(vmUuid: string, req: CreateBackupDto, t: TaskContext, note?: string): Promise<BackupDto> {
    if (note) t.log(note);
    const { c, agent } = this.vms.online(vmUuid);
    const holder = this.targetHost(c, req);
    let remote: BackupRemoteTarget | undefined;
    if (holder !== c) {
      // The target's ticket for this VM and source host; our agent's vDC certificate to present.
      const [certificate, { ticket }] = await Promise.all([
        issueAgentCertificate(this.vdc, c.record),
        holder.requireOnline().prepareBackupReceive({ pool: req.pool, vmUuid, sourceHostId: c.record.id }),
      ]);
      await agent.setAgentCertificate(certificate);
      remote = { address: holder.record.address, certificatePem: holder.record.certificatePem, ticket };
      t.log(`sending the backup to host ${holder.record.name}`);
    }
    await this.nfsTargets?.prepare(agent, req.pool);
    t.progress(0, 'backing up');
    const { backup: b, prunedIds } = await agent
      .createBackup(
        {
          vm: vmUuid,
          pool: req.pool,
          forceFull: req.full ?? false,
          jobId: `backup-${randomUUID()}`, // names the agent's job for CancelBackup
          keepLast: req.keepLast ?? 0,
          keepDaily: req.keepDaily ?? 0,
          keepWeekly: req.keepWeekly ?? 0,
          keepMonthly: req.keepMonthly ?? 0,
          remote,
        },
        (p) => t.progress(p),
        t.signal,
      )
      .catch((err: unknown) => {
        throw t.signal.aborted ? new HttpError(409, 'cancelled') : err;
      });
    t.log(
      `${backupKind.str(b.kind)} backup ${b.id} into pool ${req.pool} of ${holder.record.name} (${backupConsistency.str(b.consistency)}-consistent)`,
    );
    if (prunedIds.length) t.log(`retention (${retentionText(req)}) deleted ${prunedIds.join(', ')}`);
    return toDto(holder.record.id, b);
  }

  /** Every active pool of the online hosts with the points it holds (all VMs'). */
  async targets(): Promise<BackupTargetDto[]> {
    const out: BackupTargetDto[] = [];
    for (const c of this.pool.all()) {
      if (!c.online) continue;
      const agent = c.requireOnline();
      for (const p of c.pools.values()) {
        if (p.state !== PoolState.POOL_STATE_ACTIVE) continue;
        const { backups } = await agent.listBackups(p.name, '');
        out.push({
          hostId: c.record.id,
          hostName: c.record.name,
          pool: p.name,
          capacityBytes: p.capacityBytes,
          availableBytes: p.availableBytes,
          vmCount: new Set(backups.map((b) => b.vmUuid)).size,
          points: backups.length,
          storedBytes: backups.reduce((n, b) => n + b.storedBytes, 0),
        });
      }
    }
    return out;
  }

  async restore(at: BackupPoint, req: RestoreBackupDto, user: string): Promise<TaskDto> {
    const { c, agent, staged } = this.restoreHost(at, req.hostId, req.targetPool);
    if (staged && !c.pools.has(req.targetPool))
      throw badRequest(`host ${c.record.name} has no pool ${req.targetPool}`, 'targetPool');
    const { dto } = await this.tasks.start(
      { kind: 'backup.restore', target: { type: 'vm', id: at.vmUuid, name: req.name }, hostId: c.record.id, user },
      async (t) => {
        const r = await this.fromPoint(at, staged, t, async (pool) => {
          t.progress(null, 'restoring');
          return agent.restoreBackup({
            pool,
            vmUuid: at.vmUuid,
            id: at.backupId,
            name: req.name,
            targetPool: req.targetPool,
          });
        });
        await c.refreshVm(r.vmUuid);
        return { vmId: r.vmUuid, name: r.vmName, volumes: r.volumes };
      },
    );
    return dto;
  }

  /** Over the VM the point was taken of, after its name was typed; refused while it runs or is backed up. */
  async restoreOver(at: BackupPoint, req: RestoreOverVmDto, user: string): Promise<TaskDto> {
    // On the VM's host: a point held elsewhere is copied into the pool of the VM's first disk.
    const home = this.pool.all().find((h) => h.vms.has(at.vmUuid));
    const vm = home?.vms.get(at.vmUuid)?.spec;
    if (!home || !vm) throw notFound(`VM ${at.vmUuid}`);
    const { c, agent, staged } = this.restoreHost(at, home.record.id, vm.disks[0]?.pool ?? '');
    if (req.confirmName !== vm.name) {
      throw badRequest(`confirmName: type the VM's name, ${vm.name}, to replace its disks`, 'confirmName');
    }
    const state = vmState.str(c.vms.get(at.vmUuid)!.state);
    if (state !== 'shutoff') throw conflict(`VM ${vm.name} is ${state}: shut it off before restoring over it`);
    const busy = this.running.get(at.vmUuid);
    if (busy) throw conflict(busyMessage(vm.name, busy));
    const { dto } = await this.tasks.start(
      { kind: 'backup.restore-over', target: { type: 'vm', id: at.vmUuid, name: vm.name }, hostId: c.record.id, user },
      async (t) => {
        const r = await this.fromPoint(at, staged, t, (pool) => {
          t.progress(null, 'restoring');
          return agent.restoreBackupOverVm({ pool, vmUuid: at.vmUuid, id: at.backupId, disks: req.disks ?? [] });
        });
        t.log(`backup ${at.backupId} restored over ${r.volumes.join(', ')}`);
        // A whole-VM restore also brings back what the VM had at the point besides its disks.
        if (r.restored.length) t.log(`as at the point again: ${r.restored.join(', ')}`);
        await c.refreshVm(at.vmUuid);
        return { volumes: r.volumes, restored: r.restored };
      },
    );
    return dto;
  }

  async restoreDisk(at: BackupPoint, req: RestoreDiskDto, user: string): Promise<TaskDto> {
    const { c, agent, staged } = this.restoreHost(at, req.hostId, req.targetPool);
    if (!c.pools.has(req.targetPool)) {
      throw badRequest(`host ${c.record.name} has no pool ${req.targetPool}`, 'targetPool');
    }
    const { dto } = await this.tasks.start(
      {
        kind: 'backup.restore-disk',
        target: { type: 'vm', id: at.vmUuid, name: `${req.disk} → ${req.name}` },
        hostId: c.record.id,
        user,
      },
      async (t) => {
        const r = await this.fromPoint(at, staged, t, (pool) => {
          t.progress(null, 'restoring');
          return agent.restoreBackupDisk({
            pool,
            vmUuid: at.vmUuid,
            id: at.backupId,
            disk: req.disk,
            targetPool: req.targetPool,
            name: req.name,
          });
        });
        return { pool: r.pool, volume: r.volume };
      },
    );
    return dto;
  }

  /**
   * Where a restore runs: the host holding the point, or host `hostId` (online) with the point to
   * be staged into its pool `stagePool` first (staged set).
   */
  private restoreHost(at: BackupPoint, hostId: string | undefined, stagePool: string) {
    if (!hostId || hostId === at.hostId) return { ...this.onlineHost(at.hostId), staged: undefined };
    const to = this.pool.find(hostId);
    if (!to) throw badRequest(`hostId: no host ${hostId}`, 'hostId');
    if (!to.online) throw conflict(`host ${to.record.name} is offline: nothing can be restored on it`);
    if (stagePool.startsWith('nfs:'))
      throw badRequest('targetPool: a restore on another host goes into a pool of that host', 'targetPool');
    this.onlineHost(at.hostId);
    return { c: to, agent: to.requireOnline(), staged: { to, pool: stagePool } };
  }

  /**
   * Runs `restore` with the pool of the restoring host that holds the point: the holder's own
   * (its NFS target opened), or — restoring on another host — `staged.pool` of that host, into
   * which the point and the points it builds on are copied first and from which the copies are
   * removed again afterwards. The VM is held as during a backup meanwhile: a backup of it must
   * not build on a copy that is about to go.
   */
  private async fromPoint<T>(
    at: BackupPoint,
    staged: { to: HostConnection; pool: string } | undefined,
    t: TaskContext,
    restore: (pool: string) => Promise<T>,
  ): Promise<T> {
    if (!staged) {
      await this.nfsTargets?.prepare(this.onlineHost(at.hostId).agent, at.pool);
      return restore(at.pool);
    }
    const busy = this.running.get(at.vmUuid);
    if (busy) throw conflict(busyMessage(at.vmUuid, busy));
    this.running.set(at.vmUuid, STAGED_RESTORE);
    const copied: string[] = [];
    try {
      await this.stage(at, staged.to, staged.pool, t, copied);
      return await restore(staged.pool);
    } finally {
      for (const id of copied.reverse()) {
        try {
          await staged.to
            .requireOnline()
            .deleteBackup({ pool: staged.pool, vmUuid: at.vmUuid, id, withDependents: false, keepCheckpoints: true });
        } catch (err) {
          t.log(`the copy of backup ${id} stays in pool ${staged.pool}: ${(err as Error).message}`);
        }
      }
      this.running.delete(at.vmUuid);
    }
  }

  /**
   * Copies point `at` and the points it builds on that pool `pool` of host `to` lacks, oldest
   * first, from the host holding them (SendBackup: the receiving agent checks every file against
   * the manifest). Each id copied is pushed to `copied` as soon as it is there.
   */
  private async stage(at: BackupPoint, to: HostConnection, pool: string, t: TaskContext, copied: string[]) {
    const { c: holder, agent } = this.onlineHost(at.hostId);
    await this.nfsTargets?.prepare(agent, at.pool);
    const held = (await agent.listBackups(at.pool, at.vmUuid)).backups;
    const chain: Backup[] = [];
    for (let id = at.backupId; id;) {
      const b = held.find((x) => x.id === id);
      if (!b) throw notFound(`backup ${id} of VM ${at.vmUuid} in pool ${at.pool} of host ${holder.record.name}`);
      chain.unshift(b);
      id = b.parentId;
    }
    const receiver = to.requireOnline();
    const there = new Set((await receiver.listBackups(pool, at.vmUuid)).backups.map((b) => b.id));
    const missing = chain.filter((b) => !there.has(b.id));
    if (!missing.length) return;
    await agent.setAgentCertificate(await issueAgentCertificate(this.vdc, holder.record));
    for (const [i, b] of missing.entries()) {
      t.progress(null, `copying ${i + 1} of ${missing.length}`);
      t.log(
        `copying backup ${b.id} from pool ${at.pool} of ${holder.record.name} to pool ${pool} of ${to.record.name}`,
      );
      const { ticket } = await receiver.prepareBackupReceive({
        pool,
        vmUuid: at.vmUuid,
        sourceHostId: holder.record.id,
      });
      const remote = { address: to.record.address, certificatePem: to.record.certificatePem, ticket };
      const r = await agent.sendBackup({ pool: at.pool, vmUuid: at.vmUuid, id: b.id, remote });
      if (!r.alreadyThere) copied.push(b.id);
    }
  }

  async verify(at: BackupPoint, user: string): Promise<TaskDto> {
    const { c, agent } = this.onlineHost(at.hostId);
    const { dto } = await this.tasks.start(
      { kind: 'backup.verify', target: { type: 'vm', id: at.vmUuid, name: at.backupId }, hostId: c.record.id, user },
      async (t): Promise<BackupVerifyResultDto> => {
        t.progress(null, 'verifying');
        await this.nfsTargets?.prepare(agent, at.pool);
        const r = await agent.verifyBackup({ pool: at.pool, vmUuid: at.vmUuid, id: at.backupId });
        if (!r.ok) {
          const what = r.corruptions.map((x) =>
            x.disk ? `disk ${x.disk} at byte ${x.offset}: ${x.detail}` : x.detail,
          );
          throw new HttpError(409, `backup ${at.backupId} is corrupted: ${what.join('; ')}`);
        }
        return { ok: r.ok, bytesChecked: r.bytesChecked, corruptions: [] };
      },
    );
    return dto;
  }

  async delete(at: BackupPoint, withDependents: boolean): Promise<{ deletedIds: string[] }> {
    const { agent } = this.onlineHost(at.hostId);
    await this.nfsTargets?.prepare(agent, at.pool);
    return agent.deleteBackup({
      pool: at.pool,
      vmUuid: at.vmUuid,
      id: at.backupId,
      withDependents,
      keepCheckpoints: false,
    });
  }

  private onlineHost(hostId: string) {
    const c = this.pool.find(hostId);
    if (!c) throw notFound(`host ${hostId}`);
    return { c, agent: c.requireOnline() };
  }
}

/** What `running` holds for a VM while a point of it is copied to another host and restored there. */
const STAGED_RESTORE = 'staged-restore';

function busyMessage(vm: string, busy: string): string {
  return busy === STAGED_RESTORE
    ? `VM ${vm} is being restored from a backup on another host now`
    : `VM ${vm} is being backed up now (task ${busy})`;
}

function toDto(hostId: string, b: Backup): BackupDto {
  return {
    id: b.id,
    hostId,
    pool: b.pool,
    vmUuid: b.vmUuid,
    vmName: b.vmName,
    createdAt: b.createdAt,
    kind: backupKind.str(b.kind),
    parentId: b.parentId,
    consistency: backupConsistency.str(b.consistency),
    sizeBytes: b.storedBytes,
    disks: b.disks.map((d) => ({ target: d.target, capacityBytes: d.capacityBytes, storedBytes: d.storedBytes })),
  };
}

/** "last 7, daily 14, monthly 6": the rules a create request set. */
function retentionText(req: CreateBackupDto): string {
  const rules: [string, number | undefined][] = [
    ['last', req.keepLast],
    ['daily', req.keepDaily],
    ['weekly', req.keepWeekly],
    ['monthly', req.keepMonthly],
  ];
  return rules.flatMap(([name, n]) => (n ? [`${name} ${n}`] : [])).join(', ');
}
