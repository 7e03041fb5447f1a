// NFS backup targets (#24): the vDC-wide registry (config store, one record each), and opening a
// target on the host that uses it (the agent mounts it; its backups are then pool "nfs:<name>").
// Listing mounts each target through an online host for its capacity and the backups it holds.
import { randomUUID } from 'node:crypto';
import type { Backup } from '@quantix/proto/v1/backup.js';
import type { NfsTarget } from '@quantix/proto/v1/nfs-target.js';
import { nfsTargetProblems } from '@quantix/proto/names/nfs-target.js';
import type { AgentClient } from '../agents/agent-client.js';
import type { AgentPool } from '../agents/agent-pool.js';
import type { HostConnection } from '../agents/host-connection.js';
import { NFS_POOL_PREFIX, type NfsTargetDto, type NfsTargetInputDto } from '../dto/backup-targets.js';
import { badRequest, conflict, notFound } from '../errors.js';
import type { ConfigStore } from '../store/config-store.js';
import type { BackupTargetRecord } from '../store/records.js';

export class BackupTargets {
  constructor(
    private readonly db: ConfigStore,
    private readonly pool: AgentPool,
    /** The names of the schedules that back up to `pool` (a target they use cannot go). */
    private readonly usedBy: (pool: string) => string[] = () => [],
  ) {}

  private get records(): BackupTargetRecord[] {
    return this.db.data.backupTargets;
  }

  /** True when `pool` names an NFS target ("nfs:<name>"), known or not. */
  static isNfs(pool: string): boolean {
    return pool.startsWith(NFS_POOL_PREFIX);
  }

  async list(): Promise<NfsTargetDto[]> {
    return Promise.all(this.records.map((r) => this.describe(r)));
  }

  async create(input: NfsTargetInputDto): Promise<NfsTargetDto> {
    const problem = nfsTargetProblems(input)[0];
    if (problem) throw badRequest(`${problem.field}: ${problem.message}`, problem.field);
    if (this.records.some((r) => r.name === input.name)) {
      throw conflict(`an NFS backup target named ${input.name} exists`);
    }
    const r: BackupTargetRecord = {
      id: randomUUID(),
      kind: 'nfs',
      name: input.name,
      server: input.server,
      exportPath: input.exportPath,
      version: input.version,
      options: [...input.options],
      createdAt: new Date().toISOString(),
    };
    this.records.push(r);
    await this.db.write();
    return this.describe(r);
  }

  async delete(id: string): Promise<void> {
    const r = this.records.find((x) => x.id === id);
    if (!r) throw notFound(`NFS backup target ${id}`);
    const schedules = this.usedBy(`${NFS_POOL_PREFIX}${r.name}`);
    if (schedules.length) {
      throw conflict(
        `NFS backup target ${r.name} is the target of schedule ${schedules.join(', ')}: change those first`,
      );
    }
    this.db.data.backupTargets = this.records.filter((x) => x.id !== id);
    await this.db.write();
  }

  /** The pools names of every target ("nfs:<name>"). */
  pools(): string[] {
    return this.records.map((r) => `${NFS_POOL_PREFIX}${r.name}`);
  }

  /**
   * Opens the target `pool` names on `agent` before a backup call that names it (the agent mounts
   * it; a failure says why); a plain pool: nothing to do. `field` names the input at fault.
   */
  async prepare(agent: AgentClient, pool: string, field = 'pool'): Promise<void> {
    if (!BackupTargets.isNfs(pool)) return;
    await agent.openNfsTarget(this.target(pool, field));
  }

  /** A VM's backups on every NFS target, through its host's agent (an unreachable target is skipped). */
  async vmBackups(agent: AgentClient, vmUuid: string): Promise<Backup[]> {
    const out: Backup[] = [];
    for (const pool of this.pools()) {
      try {
        await this.prepare(agent, pool);
        out.push(...(await agent.listBackups(pool, vmUuid)).backups);
      } catch {
        // The target's own listing (list()) says why it cannot be reached.
      }
    }
    return out;
  }

  private target(pool: string, field: string): NfsTarget {
    const name = pool.slice(NFS_POOL_PREFIX.length);
    const r = this.records.find((x) => x.name === name);
    if (!r) throw badRequest(`${field}: there is no NFS backup target ${name}`, field);
    return { name: r.name, server: r.server, exportPath: r.exportPath, version: r.version, options: r.options };
  }

  /** Mounts the target through an online host for its figures and contents. */
  private async describe(r: BackupTargetRecord): Promise<NfsTargetDto> {
    const pool = `${NFS_POOL_PREFIX}${r.name}`;
    const base = {
      id: r.id,
      name: r.name,
      pool,
      server: r.server,
      exportPath: r.exportPath,
      version: r.version as NfsTargetDto['version'],
      options: r.options,
      createdAt: r.createdAt,
      hostName: '',
      capacityBytes: 0,
      availableBytes: 0,
      vms: [],
    };
    const c = this.onlineHost();
    if (!c) return { ...base, state: 'no-host', error: 'no host is online to mount it' };
    const agent = c.requireOnline();
    try {
      const status = await agent.openNfsTarget(this.target(pool, 'pool'));
      const { backups } = await agent.listBackups(pool, '');
      return {
        ...base,
        state: 'ok',
        error: '',
        hostName: c.record.name,
        capacityBytes: status.capacityBytes,
        availableBytes: status.availableBytes,
        vms: byVm(backups),
      };
    } catch (err) {
      return { ...base, state: 'error', error: (err as Error).message, hostName: c.record.name };
    }
  }

  private onlineHost(): HostConnection | undefined {
    return this.pool.all().find((c) => c.online);
  }
}

function byVm(backups: readonly Backup[]): NfsTargetDto['vms'] {
  const vms = new Map<string, NfsTargetDto['vms'][number]>();
  for (const b of [...backups].sort((x, y) => x.createdAt.localeCompare(y.createdAt))) {
    const v = vms.get(b.vmUuid) ?? {
      vmUuid: b.vmUuid,
      vmName: b.vmName,
      points: 0,
      storedBytes: 0,
      latestAt: b.createdAt,
    };
    v.points++;
    v.storedBytes += b.storedBytes;
    v.vmName = b.vmName;
    v.latestAt = b.createdAt;
    vms.set(b.vmUuid, v);
  }
  return [...vms.values()];
}
