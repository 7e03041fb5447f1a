// Pool lifecycle: create, list, start/stop, grow, delete and re-attachment on agent start.
// Owns the pool records (pool-store.ts), serialises changes per pool, rolls every failed step
// back (undo.ts) and publishes each change on the watch bus. Kinds do the kind-specific work.
// Built once per agent (main.ts); every volume change in any pool (ours or a libvirt directory
// pool defined outside the agent) takes its per-pool lock and its transfer accounting here.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PoolKind, PoolState, type Pool } from '@quantix/proto/v1/storage.js';
import type { WatchBus } from '../context.js';
import { poolKindNames } from '../enum-names.js';
import { AgentError, ErrorCode, failedPrecondition, invalidArgument, notFound } from '../errors.js';
import type { Virsh } from '../libvirt/virsh.js';
import { log } from '../log.js';
import { validateName } from '../validate/name.js';
import { listDiskUses, type DiskUse } from './disk-usage.js';
import { spaceFigures } from './filesystem.js';
import { removeInterruptedWork } from './interrupted-work.js';
import { isInside } from './kinds/dir.js';
import { KeyedLock } from './keyed-lock.js';
import { loopDetach, loopList } from './loop-device.js';
import { describeLoopSpace, loopPoolSpace } from './loop-space.js';
import { readMounts, unmount } from './mounts.js';
import {
  libvirtPoolDefine,
  libvirtPoolInfo,
  libvirtPoolNames,
  libvirtPoolRefresh,
  libvirtPoolStart,
  libvirtPoolState,
  libvirtPoolStop,
  libvirtPoolTarget,
  libvirtPoolUndefine,
  type LibvirtPoolState,
} from './libvirt-pool.js';
import { PoolStore } from './pool-store.js';
import { storageKind } from './registry.js';
import type { KindEnv, PoolPlan, PoolRecord, StepHook, StorageKind } from './storage-kind.js';
import { Undo } from './undo.js';

const MIB = 1024 * 1024;
const CREATE_KEY = '\0create';
/** libvirt pool types whose target is a plain directory of volume files. */
const DIRECTORY_POOL_TYPES = new Set(['dir', 'fs', 'netfs']);

export interface PoolManagerOptions {
  dataDir: string;
  virsh: Virsh;
  bus?: WatchBus;
  /** Test-only fault injection: called after every step of create/start/grow. */
  step?: StepHook;
}

export interface CreatePoolOptions {
  name: string;
  kind: PoolKind;
  sizeBytes: number;
  filesystem: string;
  path: string;
}

/** How long a listing waits for the pools a start is bringing up before it names them starting. */
const LIST_WAIT_MS = 10_000;
/**
 * How long a listing waits for libvirt's word on a pool before it uses libvirt's last answer: a
 * libvirtd busy starting VMs after a boot held `virsh pool-info` past the server's 30 s deadline.
 */
const LIBVIRT_STATE_WAIT_MS = 8_000;

export class PoolManager {
  private records: PoolRecord[] = [];
  private readonly failures = new Map<string, string>();
  /** Per pool: what is running into or out of it (upload, import, clone, download). */
  private readonly transfers = new Map<string, Map<number, string>>();
  private transferIds = 0;
  private readonly lock = new KeyedLock();
  private readonly store: PoolStore;
  private readonly env: KindEnv;
  /** Settles once the stored pools were loaded and brought up; every call but a listing waits for it. */
  readonly ready: Promise<void>;
  /** Settles once the stored pools were loaded (or failed to load, as `ready` does). */
  private readonly loaded: Promise<void>;
  /** Pools the start has not brought up yet: listed as starting, not waited for. */
  private readonly starting = new Set<string>();
  /** libvirt's last answer on each pool's state (the fallback when it is slow to answer). */
  private readonly libvirtStates = new Map<string, LibvirtPoolState>();

  constructor(private readonly opts: PoolManagerOptions) {
    this.store = new PoolStore(opts.dataDir);
    this.env = { dataDir: opts.dataDir, step: opts.step ?? (() => undefined) };
    this.loaded = this.load();
    this.ready = this.loaded.then(() => this.restore());
    // Only an unreadable store rejects: every call then fails with that reason, the agent stays up.
    this.ready.catch((err: unknown) => log.error('storage unavailable', { reason: errorText(err) }));
  }

  private async load(): Promise<void> {
    try {
      this.records = await this.store.load();
    } catch (err) {
      throw failedPrecondition(
        `the pool definitions ${this.store.file} cannot be read (${errorText(err)}); repair or move the file and restart the agent`,
      );
    }
    for (const record of this.records) if (record.active) this.starting.add(record.name);
  }

  /** Brings up every pool that should be active; each failure stays its pool's. */
  private async restore(): Promise<void> {
    try {
      await this.bringUpStored();
    } finally {
      this.starting.clear();
    }
  }

  private async bringUpStored(): Promise<void> {
    await this.releaseOrphans().catch((err: unknown) =>
      log.error('could not look for unfinished pools', { reason: errorText(err) }),
    );
    for (const record of this.records) {
      if (!record.active) continue;
      try {
        await Undo.run((undo) => this.bringUp(record, undo));
        log.info('pool up', { pool: record.name, path: record.path });
        const swept = await removeInterruptedWork(record.path).catch((err: unknown) => {
          log.error('could not remove leftovers of interrupted work', { pool: record.name, reason: errorText(err) });
          return [];
        });
        if (swept.length) log.warn('removed leftovers of interrupted work', { pool: record.name, entries: swept });
      } catch (err) {
        const reason = errorText(err);
        this.failures.set(record.name, reason);
        log.error('pool failed to come up', { pool: record.name, reason });
        // A libvirt pool left running from before would expose the bare mount point directory.
        try {
          if ((await libvirtPoolState(this.opts.virsh, record.name)) === 'active')
            await libvirtPoolStop(this.opts.virsh, record.name);
        } catch (stopErr) {
          log.error('could not stop the libvirt pool of a failed pool', {
            pool: record.name,
            reason: errorText(stopErr),
          });
        }
      }
      this.starting.delete(record.name);
    }
    for (const record of this.records) {
      await this.publish(record.name).catch((err: unknown) =>
        log.error('pool state unavailable', { pool: record.name, reason: errorText(err) }),
      );
    }
  }

  /**
   * A create interrupted by a crash (the record is saved last) can leave its loop device
   * attached and mounted: those are released, each on its own. Backing files are never removed here.
   */
  private async releaseOrphans(): Promise<void> {
    const poolsDir = join(this.opts.dataDir, 'pools') + '/';
    const known = new Set(this.records.map((r) => r.backingFile));
    const mounts = await readMounts();
    for (const device of await loopList()) {
      const file = device.backFile.replace(/ \(deleted\)$/, '');
      if (!file.startsWith(poolsDir) || known.has(file)) continue;
      try {
        for (const m of mounts.filter((m) => m.source === device.name)) await unmount(m.mountPoint);
        await loopDetach(device.name);
        log.warn('released the loop device of an unfinished pool', { device: device.name, backingFile: file });
      } catch (err) {
        log.error('could not release the loop device of an unfinished pool', {
          device: device.name,
          backingFile: file,
          reason: errorText(err),
        });
      }
    }
  }

  /** Checks a create as `create` would, making nothing (CreatePool's validate_only). */
  async checkCreate(opts: CreatePoolOptions): Promise<void> {
    await this.ready;
    const name = validateName('name', opts.name);
    await this.lock.with(CREATE_KEY, () => this.lock.with(name, () => this.planCreate(opts)));
  }

  /** Validates a create and plans it; called under the create and name locks. */
  private async planCreate(opts: CreatePoolOptions): Promise<{ kind: StorageKind; plan: PoolPlan }> {
    const name = validateName('name', opts.name);
    const kindName = poolKindNames.name(opts.kind);
    if (!kindName) throw invalidArgument('kind', 'must be POOL_KIND_LOOP or POOL_KIND_DIR');
    const kind = storageKind(kindName);
    if (this.find(name)) throw new AgentError(ErrorCode.AlreadyExists, `pool ${name} already exists`, 'name');
    if ((await libvirtPoolNames(this.opts.virsh)).includes(name)) {
      throw new AgentError(ErrorCode.AlreadyExists, `a libvirt pool named ${name} already exists`, 'name');
    }
    const plan = await kind.plan(
      { name, sizeBytes: opts.sizeBytes, filesystem: opts.filesystem, path: opts.path },
      this.env,
    );
    await this.checkPathFree(plan.record.path);
    return { kind, plan };
  }

  async create(opts: CreatePoolOptions): Promise<Pool> {
    await this.ready;
    const name = validateName('name', opts.name);
    return this.lock.with(CREATE_KEY, () =>
      this.lock.with(name, async () => {
        const { kind, plan } = await this.planCreate(opts);
        await Undo.run(async (undo) => {
          await kind.provision(plan, undo, this.env);
          await this.bringUp(plan.record, undo);
          this.records = [...this.records, plan.record];
          try {
            await this.store.save(this.records);
          } catch (err) {
            this.records = this.records.filter((r) => r !== plan.record);
            throw err;
          }
        });
        log.info('pool created', { pool: name, kind: plan.record.kind, path: plan.record.path });
        return this.publish(name);
      }),
    );
  }

  /**
   * Waits a while for the start to bring the pools up, then answers anyway: on a busy host that can
   * take longer than a caller's deadline (the server's is 30 s), and the pools not up yet are listed
   * as starting.
   */
  async list(): Promise<Pool[]> {
    await this.upOrWaited();
    return Promise.all(this.records.map((r) => this.view(r)));
  }

  async get(name: string): Promise<Pool> {
    await this.upOrWaited();
    return this.view(this.record(name));
  }

  private async upOrWaited(): Promise<void> {
    await this.loaded;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.ready.catch(() => undefined), new Promise((r) => (timer = setTimeout(r, LIST_WAIT_MS)))]);
    clearTimeout(timer);
  }

  async start(name: string): Promise<Pool> {
    await this.ready;
    const record = this.record(name);
    return this.lock.with(record.name, async () => {
      await Undo.run((undo) => this.bringUp(record, undo));
      this.failures.delete(record.name);
      await this.setActive(record, true);
      return this.publish(record.name);
    });
  }

  async stop(name: string): Promise<Pool> {
    await this.ready;
    const record = this.record(name);
    this.refuseTransfers(record, 'stopped');
    return this.lock.with(record.name, async () => {
      this.refuseTransfers(record, 'stopped');
      const running = (await this.usesIn(record)).filter((u) => u.running);
      if (running.length) {
        throw failedPrecondition(`pool ${record.name} is used by running VM(s) ${domains(running)}; stop them first`);
      }
      await Undo.run(async (undo) => {
        if ((await libvirtPoolState(this.opts.virsh, record.name)) === 'active') {
          await libvirtPoolStop(this.opts.virsh, record.name);
          undo.push(`start libvirt pool ${record.name}`, () => libvirtPoolStart(this.opts.virsh, record.name));
        }
        await storageKind(record.kind).deactivate(record);
      });
      this.failures.delete(record.name);
      await this.setActive(record, false);
      return this.publish(record.name);
    });
  }

  async grow(name: string, sizeBytes: number): Promise<Pool> {
    await this.ready;
    const record = this.record(name);
    const kind = storageKind(record.kind);
    if (!kind.canGrow || !kind.grow || !kind.size) {
      throw failedPrecondition(`pool ${record.name} is a ${record.kind} pool; only loop pools can be grown`);
    }
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0) {
      throw invalidArgument('size_bytes', 'must be a positive number of bytes');
    }
    const target = Math.ceil(sizeBytes / MIB) * MIB;
    return this.lock.with(record.name, async () => {
      // The same size again finishes a growth that failed after the backing file grew.
      const current = await kind.size!(record);
      if (target < current) {
        throw invalidArgument(
          'size_bytes',
          `must be at least the current ${current} bytes of pool ${record.name}; pools never shrink`,
        );
      }
      // The growth is a new promise on top of every loop pool's (this one's included).
      const poolsDir = join(this.opts.dataDir, 'pools');
      const space = await loopPoolSpace(poolsDir);
      if (target - current > space.availableBytes) {
        throw new AgentError(
          ErrorCode.ResourceExhausted,
          `size_bytes: growing pool ${record.name} by ${target - current} bytes needs more than available: ${describeLoopSpace(space, poolsDir)}`,
          'size_bytes',
        );
      }
      const offlineAllowed = !(await this.usesIn(record)).some((u) => u.running);
      await kind.grow!(record, target, { ...this.env, offlineAllowed });
      await libvirtPoolRefresh(this.opts.virsh, record.name);
      log.info('pool grown', { pool: record.name, sizeBytes: target });
      return this.publish(record.name);
    });
  }

  async delete(name: string, deleteBackingFile: boolean): Promise<void> {
    await this.ready;
    const record = this.record(name);
    const kind = storageKind(record.kind);
    if (deleteBackingFile && !kind.hasBackingFile) {
      throw invalidArgument(
        'delete_backing_file',
        `pool ${record.name} is a ${record.kind} pool and has no backing file`,
      );
    }
    this.refuseTransfers(record, 'deleted');
    await this.lock.with(record.name, async () => {
      this.refuseTransfers(record, 'deleted');
      const uses = await this.usesIn(record);
      if (uses.length) {
        throw failedPrecondition(
          `pool ${record.name} has volumes used by VM(s) ${domains(uses)}; detach or delete them first`,
        );
      }
      const libvirtState = await libvirtPoolState(this.opts.virsh, record.name);
      await Undo.run(async (undo) => {
        if (libvirtState === 'active') {
          await libvirtPoolStop(this.opts.virsh, record.name);
          undo.push(`start libvirt pool ${record.name}`, () => libvirtPoolStart(this.opts.virsh, record.name));
        }
        await kind.deactivate(record);
      });
      if (libvirtState !== 'missing') await libvirtPoolUndefine(this.opts.virsh, record.name);
      await kind.destroy(record, deleteBackingFile);
      this.records = this.records.filter((r) => r !== record);
      this.failures.delete(record.name);
      this.libvirtStates.delete(record.name);
      await this.store.save(this.records);
      log.info('pool deleted', { pool: record.name, backingFileDeleted: deleteBackingFile });
    });
    this.opts.bus?.publish({ event: { $case: 'pool', value: { pool: emptyPool(record), removed: true } } });
  }

  /** The record of an active pool (mounted, libvirt pool running), for volume operations. */
  async activeRecord(name: string, field = 'pool'): Promise<PoolRecord> {
    await this.ready;
    const record = this.find(validateName(field, name));
    if (!record) throw notFound(`pool ${name}`);
    if (!(await storageKind(record.kind).isUp(record))) {
      throw failedPrecondition(`pool ${record.name} is not started`);
    }
    return record;
  }

  async activeRecords(): Promise<PoolRecord[]> {
    await this.ready;
    const up = await Promise.all(
      this.records.map((r) =>
        storageKind(r.kind)
          .isUp(r)
          .catch(() => false),
      ),
    );
    return this.records.filter((_r, i) => up[i]);
  }

  /**
   * The pool that holds VM disks and volume work: an active pool of ours, or else an active
   * libvirt directory pool defined outside the agent (its directory as libvirt names it), so
   * every volume change goes through this one layer whatever created the pool.
   */
  async volumePool(name: string, field = 'pool'): Promise<PoolRecord> {
    await this.ready;
    validateName(field, name);
    if (this.find(name)) return this.activeRecord(name, field);
    const foreign = await this.libvirtDirectoryPool(name);
    if (!foreign) throw notFound(`pool ${name}`);
    if ((await libvirtPoolState(this.opts.virsh, name)) !== 'active')
      throw failedPrecondition(`pool ${name} is not started`);
    return foreign;
  }

  /** Every active pool whose directory holds volumes: ours and libvirt directory pools defined outside the agent. */
  async volumePools(): Promise<PoolRecord[]> {
    const ours = await this.activeRecords();
    const out = [...ours];
    for (const name of await libvirtPoolNames(this.opts.virsh)) {
      if (this.find(name) || (await libvirtPoolState(this.opts.virsh, name)) !== 'active') continue;
      const foreign = await this.libvirtDirectoryPool(name).catch(() => undefined);
      if (foreign) out.push(foreign);
    }
    return out;
  }

  private async libvirtDirectoryPool(name: string): Promise<PoolRecord | undefined> {
    const info = await libvirtPoolInfo(this.opts.virsh, name).catch(() => undefined);
    if (!info?.target || !info.type || !DIRECTORY_POOL_TYPES.has(info.type)) return undefined;
    return { name, kind: 'dir', path: info.target, active: true };
  }

  /** Runs a volume change under the pool's lock. */
  withPool<T>(pool: PoolRecord, fn: () => Promise<T>): Promise<T> {
    return this.lock.with(pool.name, fn);
  }

  /** Runs `fn` holding the locks of every pool in `names` (taken in name order: no deadlock). */
  withPools<T>(names: Iterable<string>, fn: () => Promise<T>): Promise<T> {
    const sorted = [...new Set(names)].sort();
    const take = (i: number): Promise<T> =>
      i === sorted.length ? fn() : this.lock.with(sorted[i]!, () => take(i + 1));
    return take(0);
  }

  /**
   * Marks work running into or out of a pool (`what`, e.g. "upload of volume p/x"): the pool
   * cannot be stopped or deleted until the returned release is called.
   */
  beginTransfer(pool: PoolRecord, what: string): () => void {
    const id = ++this.transferIds;
    const running = this.transfers.get(pool.name) ?? new Map<number, string>();
    running.set(id, what);
    this.transfers.set(pool.name, running);
    return () => {
      running.delete(id);
      if (!running.size && this.transfers.get(pool.name) === running) this.transfers.delete(pool.name);
    };
  }

  /** After volumes changed: libvirt rescans the directory, watchers get the new figures (of our pools). */
  async volumesChanged(pool: PoolRecord): Promise<void> {
    await libvirtPoolRefresh(this.opts.virsh, pool.name);
    if (this.find(pool.name)) await this.publish(pool.name);
  }

  /** Disks of defined VMs inside `record`'s directory. */
  async usesIn(record: PoolRecord, uses?: DiskUse[]): Promise<DiskUse[]> {
    const all = uses ?? (await listDiskUses(this.opts.virsh));
    return all.filter((u) =>
      u.file ? isInside(u.file, record.path) && u.file !== record.path : u.pool === record.name,
    );
  }

  private find(name: string): PoolRecord | undefined {
    return this.records.find((r) => r.name === name);
  }

  private record(name: string): PoolRecord {
    const record = this.find(validateName('name', name));
    if (!record) throw notFound(`pool ${name}`);
    return record;
  }

  private refuseTransfers(record: PoolRecord, verb: string): void {
    const running = [...(this.transfers.get(record.name)?.values() ?? [])];
    if (running.length) {
      throw failedPrecondition(
        `pool ${record.name} cannot be ${verb} while ${running.join(', ')} ${running.length > 1 ? 'are' : 'is'} running; wait for it to finish`,
      );
    }
  }

  /** A pool path must not be, contain or lie inside another pool's path (ours or libvirt's). */
  private async checkPathFree(path: string): Promise<void> {
    for (const r of this.records) {
      if (isInside(path, r.path) || isInside(r.path, path)) {
        throw failedPrecondition(`path ${path} is already in use by pool ${r.name} (${r.path})`);
      }
    }
    for (const name of await libvirtPoolNames(this.opts.virsh)) {
      const target = await libvirtPoolTarget(this.opts.virsh, name).catch(() => undefined);
      if (target && (isInside(path, target) || isInside(target, path))) {
        throw failedPrecondition(`path ${path} is already in use by libvirt pool ${name} (${target})`);
      }
    }
  }

  /** Storage up, then the libvirt pool defined (on the right path), started and refreshed. */
  private async bringUp(record: PoolRecord, undo: Undo): Promise<void> {
    const virsh = this.opts.virsh;
    await storageKind(record.kind).activate(record, undo, this.env);
    let state = await libvirtPoolState(virsh, record.name);
    if (state === 'missing') {
      await libvirtPoolDefine(virsh, record.name, record.path);
      undo.push(`undefine libvirt pool ${record.name}`, () => libvirtPoolUndefine(virsh, record.name));
      state = 'inactive';
      await this.env.step('libvirt-defined');
    } else {
      const target = await libvirtPoolTarget(virsh, record.name);
      if (target !== record.path) {
        throw failedPrecondition(`libvirt pool ${record.name} points at ${target ?? '?'}, not at ${record.path}`);
      }
    }
    if (state === 'inactive') {
      await libvirtPoolStart(virsh, record.name);
      undo.push(`stop libvirt pool ${record.name}`, () => libvirtPoolStop(virsh, record.name));
      await this.env.step('libvirt-started');
    } else {
      await libvirtPoolRefresh(virsh, record.name);
    }
    this.libvirtStates.set(record.name, 'active');
  }

  /** libvirt's state of the pool, or its last answer when it does not answer within a bound. */
  private async libvirtStateWithin(name: string): Promise<LibvirtPoolState | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const asked = libvirtPoolState(this.opts.virsh, name).then((state) => {
      this.libvirtStates.set(name, state);
      return state;
    });
    const late = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), LIBVIRT_STATE_WAIT_MS)));
    const state = await Promise.race([asked, late]);
    clearTimeout(timer);
    return state ?? this.libvirtStates.get(name);
  }

  private async setActive(record: PoolRecord, active: boolean): Promise<void> {
    if (record.active === active) return;
    record.active = active;
    await this.store.save(this.records);
  }

  private async publish(name: string): Promise<Pool> {
    const record = this.record(name);
    const pool = await this.view(record);
    this.opts.bus?.publish({ event: { $case: 'pool', value: { pool, removed: false } } });
    return pool;
  }

  /** The pool as the API shows it; a pool whose state cannot be read is FAILED with the reason. */
  private async view(record: PoolRecord): Promise<Pool> {
    if (this.starting.has(record.name)) return { ...emptyPool(record), state: PoolState.POOL_STATE_STARTING };
    try {
      return await this.describe(record);
    } catch (err) {
      const pool = emptyPool(record);
      pool.state = PoolState.POOL_STATE_FAILED;
      pool.error = `pool ${record.name}: ${errorText(err)}`;
      return pool;
    }
  }

  private async describe(record: PoolRecord): Promise<Pool> {
    const kind = storageKind(record.kind);
    const [up, libvirtState, device] = await Promise.all([
      kind.isUp(record),
      this.libvirtStateWithin(record.name),
      kind.device(record),
    ]);
    const pool = emptyPool(record);
    pool.loopDevice = device ?? '';
    const failure = this.failures.get(record.name);
    if (failure) {
      pool.state = PoolState.POOL_STATE_FAILED;
      pool.error = failure;
    } else if (up && libvirtState === 'active') {
      pool.state = PoolState.POOL_STATE_ACTIVE;
    } else if (up && record.active && libvirtState === undefined) {
      // Mounted, but libvirt has not answered about it yet in this agent's life.
      pool.state = PoolState.POOL_STATE_STARTING;
    } else if (!record.active) {
      pool.state = PoolState.POOL_STATE_INACTIVE;
    } else {
      pool.state = PoolState.POOL_STATE_FAILED;
      pool.error = up
        ? `libvirt pool ${record.name} is ${libvirtState}`
        : `pool ${record.name} is not mounted at ${record.path}`;
    }
    if (pool.state === PoolState.POOL_STATE_ACTIVE) {
      const figures = await spaceFigures(record.path);
      pool.capacityBytes = figures.capacityBytes;
      pool.allocationBytes = figures.allocationBytes;
      pool.availableBytes = figures.availableBytes;
      const entries = await readdir(record.path, { withFileTypes: true });
      pool.volumeCount = entries.filter((e) => e.isFile() && !e.name.startsWith('.')).length;
    } else if (kind.size) {
      pool.capacityBytes = await kind.size(record).catch(() => 0);
    }
    return pool;
  }
}

function emptyPool(record: PoolRecord): Pool {
  return {
    name: record.name,
    kind: poolKindNames.value(record.kind) ?? PoolKind.POOL_KIND_DIR,
    state: PoolState.POOL_STATE_UNSPECIFIED,
    path: record.path,
    backingFile: record.backingFile ?? '',
    loopDevice: '',
    filesystem: record.filesystem ?? '',
    capacityBytes: 0,
    allocationBytes: 0,
    availableBytes: 0,
    error: '',
    volumeCount: 0,
  };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function domains(uses: DiskUse[]): string {
  return [...new Set(uses.map((u) => u.domain))].join(', ');
}
