// Checks before a VM moves (to another host, or to another pool on its host): the destination
// host, pool, room, networks, CD-ROM images and CPU model, and the VM's own state. One set of
// rules for POST …/migrate, GET …/migrate/targets and evacuation; nothing here moves anything.
import type { Vm } from '@quantix/proto/v1/vm.js';
import { NicKind } from '@quantix/proto/v1/vm.js';
import { PoolState, type Volume } from '@quantix/proto/v1/storage.js';
import type { AgentPool } from '../agents/agent-pool.js';
import type { HostConnection } from '../agents/host-connection.js';
import { badRequest, conflict, HttpError } from '../errors.js';
import type { ClusterService } from './cluster-service.js';
import { freeMemory } from './inventory-service.js';
import { vmState } from './proto-enums.js';

export type MigrationMode = 'live' | 'cold';

/** What the operator asked for (POST /vms/:id/migrate). */
export interface MigrationRequest {
  hostId: string;
  /** A pool name on the destination host; default: placement's choice there. */
  poolId?: string;
  mode?: MigrationMode;
}

/** One disk of the VM as it is now, with the sizes the copy needs. */
export interface SourceDisk {
  pool: string;
  volume: string;
  /** Index in VmSpec.disks. */
  index: number;
  capacityBytes: number;
  allocationBytes: number;
  format: Volume['format'];
  /** Linked clones: the volume this one is backed by. */
  backingVolume: string;
}

/** A move that passed every check: what the movers (live, cold, storage) work from. */
export interface MigrationPlan {
  uuid: string;
  name: string;
  vm: Vm;
  source: HostConnection;
  target: HostConnection;
  /** The destination pool (a name on the target host). */
  pool: string;
  /** live = running (or paused) VM, cold = shut off. */
  mode: MigrationMode;
  /** Same host, another pool. */
  storageMove: boolean;
  disks: SourceDisk[];
  /** Bytes the destination pool must have free (the disks' allocations not already in it). */
  neededBytes: number;
}

export interface TargetPool {
  poolId: string;
  name: string;
  freeBytes: number;
  ok: boolean;
  reason?: string;
}

/** GET /vms/:id/migrate/targets: placement's preview for one host. */
export interface MigrationTarget {
  hostId: string;
  hostName: string;
  ok: boolean;
  reasons: string[];
  pools: TargetPool[];
  recommended: boolean;
}

/** Why a host cannot run the VM's CPU model ('' = it can); GUEST-HW's cpu-compat answers it. */
export type CpuCheck = (vm: Vm, target: HostConnection) => string;

const GiB = 2 ** 30;

/** "1.5 GiB" / "300 MiB": figures in refusals. */
export function formatBytes(n: number): string {
  if (n >= GiB) return `${(n / GiB).toFixed(1)} GiB`;
  return `${Math.ceil(n / 2 ** 20)} MiB`;
}

/**
 * VMs being moved, each with what moves it: a second move, and lifecycle operations through the
 * vDC, are refused while one runs (migration-service and the movers take and release them).
 */
export class MoveLocks {
  private readonly held = new Map<string, string>();

  /** 409 "VM is being migrated" when another move holds it. */
  acquire(uuid: string, what: string): void {
    if (this.held.has(uuid)) throw conflict(`VM is being migrated (${this.held.get(uuid)})`);
    this.held.set(uuid, what);
  }

  release(uuid: string): void {
    this.held.delete(uuid);
  }

  /** What moves the VM, or undefined. */
  holder(uuid: string): string | undefined {
    return this.held.get(uuid);
  }
}

export class MigrationPreflight {
  /** Set by compose.ts from GUEST-HW's cpu-compat once it exists. */
  cpuCheck: CpuCheck = () => '';

  constructor(
    private readonly pool: AgentPool,
    private readonly clusters: ClusterService,
    readonly locks: MoveLocks = new MoveLocks(),
  ) {}

  /**
   * Every check of the contract for moving VM `id` as asked; throws 400 (a bad request field) or
   * 409 naming what is missing, else returns the plan the movers follow.
   */
  async check(id: string, req: MigrationRequest): Promise<MigrationPlan> {
    const { source, vm } = this.locate(id);
    const spec = vm.spec!;
    const target = this.pool.find(req.hostId);
    if (!target) throw badRequest(`hostId: there is no host ${req.hostId}`, 'hostId');
    const mode = this.mode(vm, req.mode);
    const vmProblems = this.vmProblems(vm);
    if (vmProblems.length) throw conflict(`cannot move VM ${spec.name}: ${vmProblems.join('; ')}`);
    const storageMove = target === source;
    const agent = source.requireOnline();
    const disks = await this.sourceDisks(vm, agent);
    const hostProblems = storageMove
      ? []
      : [...coldProblems(mode, disks), ...(await this.hostProblems(vm, mode, target))];
    if (hostProblems.length) {
      throw conflict(`cannot move VM ${spec.name} to host ${target.record.name}: ${hostProblems.join('; ')}`);
    }
    const pools = this.pools(vm, disks, target, storageMove);
    let pool: TargetPool | undefined;
    if (req.poolId !== undefined) {
      pool = pools.find((p) => p.poolId === req.poolId);
      if (!pool) throw conflict(`cannot move VM ${spec.name}: host ${target.record.name} has no pool "${req.poolId}"`);
      if (!pool.ok)
        throw conflict(
          `cannot move VM ${spec.name} to pool "${pool.name}" on host ${target.record.name}: ${pool.reason}`,
        );
    } else {
      pool = recommendedPool(pools, disks);
      if (!pool) {
        const why = pools.map((p) => `${p.name}: ${p.reason}`).join('; ') || 'it has no pools';
        throw conflict(
          storageMove
            ? `cannot move VM ${spec.name}'s disks: no other pool on host ${target.record.name} can take them (${why})`
            : `cannot move VM ${spec.name} to host ${target.record.name}: no pool there can take its disks (${why})`,
        );
      }
    }
    return {
      uuid: spec.uuid,
      name: spec.name,
      vm,
      source,
      target,
      pool: pool.name,
      mode,
      storageMove,
      disks,
      neededBytes: neededBytes(disks, pool.name, storageMove),
    };
  }

  /** For each host of the vDC: can the VM go there, into which pools, and which is recommended. */
  async targets(id: string): Promise<MigrationTarget[]> {
    const { source, vm } = this.locate(id);
    const vmProblems = this.vmProblems(vm);
    const disks = source.online ? await this.sourceDisks(vm, source.client) : undefined;
    const running = isRunning(vm);
    const out = await Promise.all(
      this.pool.all().map(async (c): Promise<MigrationTarget> => {
        const storageMove = c === source;
        const reasons = [...vmProblems];
        if (!disks) reasons.push(`its host ${source.record.name} is offline`);
        const mode = running ? 'live' : 'cold';
        if (!storageMove) reasons.push(...coldProblems(mode, disks ?? []), ...(await this.hostProblems(vm, mode, c)));
        const pools = disks ? this.pools(vm, disks, c, storageMove) : [];
        if (disks && !pools.some((p) => p.ok)) {
          reasons.push(storageMove ? 'no other pool here can take its disks' : 'no pool here can take its disks');
        }
        return {
          hostId: c.record.id,
          hostName: c.record.name,
          ok: reasons.length === 0,
          reasons,
          pools,
          recommended: false,
        };
      }),
    );
    // Placement's rule: the eligible host (not its own) with the most free memory.
    const best = out
      .filter((t) => t.ok && t.hostId !== source.record.id)
      .sort((a, b) => freeMemory(this.pool.get(b.hostId)) - freeMemory(this.pool.get(a.hostId)))[0];
    if (best) best.recommended = true;
    return out;
  }

  /** The host connection and VM for a uuid or name (404 when unknown). */
  locate(id: string): { source: HostConnection; vm: Vm } {
    const source = this.pool.hostOfVm(id);
    const vm = source.vms.get(id) ?? [...source.vms.values()].find((v) => v.spec?.name === id);
    if (!vm?.spec) throw new HttpError(404, `VM ${id} not found`);
    return { source, vm };
  }

  /** live for a running or paused VM, cold for a shut-off one; a mismatch is a 409 naming the state. */
  private mode(vm: Vm, asked: MigrationMode | undefined): MigrationMode {
    const state = vmState.str(vm.state);
    const natural: MigrationMode | undefined = isRunning(vm) ? 'live' : state === 'shutoff' ? 'cold' : undefined;
    if (!natural) throw conflict(`cannot move VM ${vm.spec!.name}: it is ${state}; shut it off or start it first`);
    if (asked && asked !== natural) {
      throw conflict(
        asked === 'live'
          ? `cannot live-migrate VM ${vm.spec!.name}: it is ${state}; a stopped VM moves cold`
          : `cannot cold-migrate VM ${vm.spec!.name}: it is ${state}; shut it down first or migrate it live`,
      );
    }
    return natural;
  }

  /** Reasons that hold wherever the VM would go. */
  private vmProblems(vm: Vm): string[] {
    const out: string[] = [];
    const holder = this.locks.holder(vm.spec!.uuid);
    if (holder) out.push(`VM is being migrated (${holder})`);
    const state = vmState.str(vm.state);
    if (!isRunning(vm) && state !== 'shutoff') out.push(`it is ${state}`);
    if (vm.snapshotCount > 0) {
      out.push(`it has ${vm.snapshotCount} snapshot(s), which a copy of its disks would lose: delete them first`);
    }
    return out;
  }

  /** Why VM cannot go to `target` (another host): host state, memory, networks, CD-ROMs, CPU. */
  private async hostProblems(vm: Vm, mode: MigrationMode, target: HostConnection): Promise<string[]> {
    const spec = vm.spec!;
    const name = target.record.name;
    const out: string[] = [];
    if (!target.online) out.push(`host ${name} is offline`);
    if (target.record.maintenance) out.push(`host ${name} is in maintenance`);
    if (!target.online) return out;
    const memory = spec.memoryMib * 2 ** 20;
    if (mode === 'live' && freeMemory(target) < memory) {
      out.push(
        `host ${name} has ${formatBytes(freeMemory(target))} of memory free, the VM needs ${formatBytes(memory)}`,
      );
    }
    const networks = spec.nics.filter((n) => n.kind === NicKind.NIC_KIND_NETWORK && n.source).map((n) => n.source);
    const bridges = spec.nics.filter((n) => n.kind === NicKind.NIC_KIND_BRIDGE && n.source).map((n) => n.source);
    if (networks.length) {
      const cluster = this.clusters.networkCheck(target.record.id, networks);
      if (cluster) out.push(cluster);
      const present = await target.client.listNetworks().then(
        (r) => new Map(r.networks.map((n) => [n.spec!.name, n.active])),
        () => undefined,
      );
      if (!present) out.push(`the networks of host ${name} could not be read`);
      for (const n of new Set(networks)) {
        if (present && !present.has(n)) out.push(`network "${n}" does not exist on host ${name}`);
        else if (present && !present.get(n)) out.push(`network "${n}" is not active on host ${name}`);
      }
    }
    if (bridges.length) {
      const ifaces = await target.client.listHostInterfaces().then(
        (r) => new Set(r.interfaces.filter((i) => i.kind === 'bridge').map((i) => i.name)),
        () => undefined,
      );
      for (const b of new Set(bridges))
        if (ifaces && !ifaces.has(b)) out.push(`bridge "${b}" does not exist on host ${name}`);
    }
    for (const cd of spec.cdroms) {
      if (!cd.pool || !cd.volume) continue;
      const there = await target.client.getVolume(cd.pool, cd.volume).then(
        () => true,
        () => false,
      );
      if (!there) out.push(`CD-ROM image ${cd.pool}/${cd.volume} is not on host ${name}: eject it first`);
    }
    const cpu = this.cpuCheck(vm, target);
    if (cpu) out.push(cpu);
    return out;
  }

  /** The target host's pools, each ok or with the reason it cannot take the disks. */
  private pools(vm: Vm, disks: SourceDisk[], target: HostConnection, storageMove: boolean): TargetPool[] {
    return [...target.pools.values()].map((p): TargetPool => {
      const freeBytes = p.availableBytes;
      const need = neededBytes(disks, p.name, storageMove);
      let reason = '';
      if (p.state !== PoolState.POOL_STATE_ACTIVE) reason = `pool "${p.name}" is not active`;
      else if (storageMove && disks.every((d) => d.pool === p.name))
        reason = `the disks of VM ${vm.spec!.name} are already in pool "${p.name}"`;
      else if (need > freeBytes) {
        reason = `pool "${p.name}" has ${formatBytes(freeBytes)} free, the disks need ${formatBytes(need)}`;
      }
      return { poolId: p.name, name: p.name, freeBytes, ok: !reason, ...(reason ? { reason } : {}) };
    });
  }

  /** The VM's disks with their sizes, read from the source host. */
  private async sourceDisks(vm: Vm, agent: HostConnection['client']): Promise<SourceDisk[]> {
    return Promise.all(
      vm.spec!.disks.map(async (d, index) => {
        const v = await agent.getVolume(d.pool, d.volume);
        return {
          pool: d.pool,
          volume: d.volume,
          index,
          capacityBytes: v.capacityBytes,
          allocationBytes: v.allocationBytes,
          format: v.format,
          backingVolume: v.backingVolume,
        };
      }),
    );
  }
}

/** What a cold migration (volumes copied one by one, the VM defined anew) cannot carry. */
function coldProblems(mode: MigrationMode, disks: SourceDisk[]): string[] {
  if (mode !== 'cold') return [];
  const out = disks
    .filter((d) => d.backingVolume)
    .map(
      (d) =>
        `disk ${d.pool}/${d.volume} is a linked clone of ${d.backingVolume}: a cold migration copies it without its base; make a full clone first`,
    );
  return out;
}

function isRunning(vm: Vm): boolean {
  const s = vmState.str(vm.state);
  return s === 'running' || s === 'paused';
}

/** Bytes a copy into `pool` needs: disks already there (on the same host) stay where they are. */
function neededBytes(disks: SourceDisk[], pool: string, storageMove: boolean): number {
  return disks.filter((d) => !storageMove || d.pool !== pool).reduce((s, d) => s + d.allocationBytes, 0);
}

/** Placement's choice on one host: the pool the disks are in (by name) if it can take them, else the one with most room. */
function recommendedPool(pools: TargetPool[], disks: SourceDisk[]): TargetPool | undefined {
  const ok = pools.filter((p) => p.ok);
  return ok.find((p) => p.name === disks[0]?.pool) ?? ok.sort((a, b) => b.freeBytes - a.freeBytes)[0];
}
