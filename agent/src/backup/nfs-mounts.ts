// NFS exports as backup targets on this host (#24): the targets the server opened, each mounted on
// demand at <dataDir>/nfs/<name> (mount -t nfs4, soft with bounded timeouts, nosuid,nodev,noexec),
// leased by each backup operation and unmounted once idle. BackupService reaches a target as the
// pool "nfs:<name>" through poolsWithNfs(): the layout inside is the same as in a pool.
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NfsTarget, NfsTargetStatus } from '@quantix/proto/v1/nfs-target.js';
import { nfsMountOptions, nfsSource, nfsTargetProblems } from '@quantix/proto/names/nfs-target.js';
import { failedPrecondition, invalidArgument } from '../errors.js';
import { ExecError, run } from '../exec/run.js';
import { log } from '../log.js';
import { spaceFigures } from '../storage/filesystem.js';
import { KeyedLock } from '../storage/keyed-lock.js';
import { mountAt } from '../storage/mounts.js';
import type { PoolManager } from '../storage/pool-manager.js';
import type { PoolRecord } from '../storage/storage-kind.js';
import { isNfsOutage, nfsMountFailure, nfsNotWritable, nfsOutage } from './nfs-errors.js';

export const NFS_POOL_PREFIX = 'nfs:';
const MOUNT_TIMEOUT_MS = 60_000;
const UNMOUNT_TIMEOUT_MS = 30_000;
const DEFAULT_IDLE_MS = 60_000;

/** Puts an export at a directory; the real one runs mount.nfs4, tests bind-mount a plain directory. */
export type NfsMounter = (t: NfsTarget, dir: string) => Promise<void>;

/** mount -t nfs4 with the fixed and allowed options; failures become a sentence naming the cause. */
export const mountNfs: NfsMounter = async (t, dir) => {
  try {
    await run('mount', ['-t', 'nfs4', '-o', nfsMountOptions(t), '--', nfsSource(t), dir], {
      timeoutMs: MOUNT_TIMEOUT_MS,
      maxOutputBytes: 64 * 1024,
    });
  } catch (err) {
    if (!(err instanceof ExecError)) throw err;
    throw nfsMountFailure(t, err.stderr, err.timedOut, MOUNT_TIMEOUT_MS);
  }
};

interface Entry {
  target: NfsTarget;
  dir: string;
  mounted: boolean;
  leases: number;
  idle?: NodeJS.Timeout;
}

export interface NfsLease {
  pool: PoolRecord;
  release(): void;
}

const sameTarget = (a: NfsTarget, b: NfsTarget) =>
  a.server === b.server &&
  a.exportPath === b.exportPath &&
  a.version === b.version &&
  a.options.join(',') === b.options.join(',');

export class NfsMounts {
  private readonly entries = new Map<string, Entry>();
  /** Mount and unmount of one target never overlap. */
  private readonly lock = new KeyedLock();

  constructor(
    private readonly root: string,
    private readonly opts: { mounter?: NfsMounter; idleMs?: number } = {},
  ) {}

  /** Remembers `t`, mounts it if needed and checks this host may write into it; its figures. */
  async open(t: NfsTarget): Promise<NfsTargetStatus> {
    const problem = nfsTargetProblems(t)[0];
    if (problem) throw invalidArgument(problem.field, problem.message);
    const known = this.entries.get(t.name);
    if (known && !sameTarget(known.target, t)) {
      if (known.leases > 0)
        throw failedPrecondition(
          `NFS backup target ${t.name} is in use with its old settings; retry when its jobs end`,
        );
      await this.lock.with(t.name, () => this.unmount(known));
      this.entries.delete(t.name);
    }
    const lease = await this.lease(t.name, t);
    try {
      await this.checkWritable(lease.pool.path, t);
      const { capacityBytes, availableBytes } = await spaceFigures(lease.pool.path);
      return { capacityBytes, availableBytes, mountPoint: lease.pool.path };
    } catch (err) {
      throw isNfsOutage(err) ? nfsOutage(t, err) : err;
    } finally {
      lease.release();
    }
  }

  /** Holds the target `nfs:<name>` mounted until release() (then it unmounts after idleMs). */
  async lease(name: string, opening?: NfsTarget): Promise<NfsLease> {
    let e = this.entries.get(name);
    if (!e) {
      if (!opening) {
        throw failedPrecondition(
          `NFS backup target ${name} is not open on this host (the server opens it before each use)`,
        );
      }
      e = { target: opening, dir: join(this.root, name), mounted: false, leases: 0 };
      this.entries.set(name, e);
    }
    const entry = e;
    entry.leases++;
    clearTimeout(entry.idle);
    try {
      await this.lock.with(name, () => this.mount(entry));
    } catch (err) {
      this.release(entry);
      throw err;
    }
    let released = false;
    return {
      pool: this.record(entry),
      release: () => {
        if (!released) this.release(entry);
        released = true;
      },
    };
  }

  /** The record of a leased target, for the backup code (a target nobody holds is refused). */
  leased(pool: string): PoolRecord | undefined {
    if (!pool.startsWith(NFS_POOL_PREFIX)) return undefined;
    const e = this.entries.get(pool.slice(NFS_POOL_PREFIX.length));
    if (!e?.mounted || e.leases === 0) throw failedPrecondition(`NFS backup target ${pool} is not open on this host`);
    return this.record(e);
  }

  /**
   * Runs `fn` with the target named by `pool` mounted (a plain pool: just runs it); a soft
   * mount's I/O error becomes a sentence saying the NFS server stopped answering.
   */
  async during<T>(pool: string, fn: () => Promise<T>): Promise<T> {
    if (!pool.startsWith(NFS_POOL_PREFIX)) return fn();
    const lease = await this.lease(pool.slice(NFS_POOL_PREFIX.length));
    try {
      return await fn();
    } catch (err) {
      throw isNfsOutage(err) ? nfsOutage(this.entries.get(pool.slice(NFS_POOL_PREFIX.length))!.target, err) : err;
    } finally {
      lease.release();
    }
  }

  /** `fn` run by during() with the pool its request names. */
  wrap<R extends { pool: string }, T>(fn: (req: R) => Promise<T>): (req: R) => Promise<T> {
    return (req) => this.during(req.pool, () => fn(req));
  }

  /** Unmounts every target now (agent shutdown, tests). */
  async close(): Promise<void> {
    for (const e of this.entries.values()) {
      clearTimeout(e.idle);
      await this.lock.with(e.target.name, () => this.unmount(e));
    }
  }

  private record(e: Entry): PoolRecord {
    // The backup code only reads name and path; an NFS target is a directory to it.
    return { name: `${NFS_POOL_PREFIX}${e.target.name}`, kind: 'dir', path: e.dir, active: true };
  }

  private release(e: Entry): void {
    e.leases = Math.max(0, e.leases - 1);
    if (e.leases > 0) return;
    clearTimeout(e.idle);
    e.idle = setTimeout(() => {
      if (e.leases === 0)
        void this.lock.with(e.target.name, () => (e.leases === 0 ? this.unmount(e) : Promise.resolve()));
    }, this.opts.idleMs ?? DEFAULT_IDLE_MS);
    e.idle.unref();
  }

  private async mount(e: Entry): Promise<void> {
    if (e.mounted && (await mountAt(e.dir))) return;
    await mkdir(e.dir, { recursive: true, mode: 0o700 });
    // Something left at our mount point (an agent that stopped with it mounted): ours to replace.
    if (await mountAt(e.dir)) await this.forceUnmount(e.dir);
    await (this.opts.mounter ?? mountNfs)(e.target, e.dir);
    e.mounted = true;
    log.info('NFS backup target mounted', { target: e.target.name, source: nfsSource(e.target), dir: e.dir });
  }

  private async unmount(e: Entry): Promise<void> {
    if (!e.mounted) return;
    e.mounted = false;
    if (!(await mountAt(e.dir))) return;
    await this.forceUnmount(e.dir);
    log.info('NFS backup target unmounted (idle)', { target: e.target.name, dir: e.dir });
  }

  /** umount; a dead server makes it hang or fail: then forced, and lazily as the last resort. */
  private async forceUnmount(dir: string): Promise<void> {
    for (const flags of [[], ['-f'], ['-l']]) {
      try {
        await run('umount', [...flags, '--', dir], { timeoutMs: UNMOUNT_TIMEOUT_MS });
        return;
      } catch (err) {
        log.warn('unmounting an NFS backup target failed', { dir, flags: flags.join(' '), err: String(err) });
      }
    }
  }

  private async checkWritable(dir: string, t: NfsTarget): Promise<void> {
    const probe = join(dir, `.qx-write-test-${randomBytes(4).toString('hex')}`);
    try {
      // The probe first: on a read-only export a recursive mkdir says ENOENT, not EROFS.
      await writeFile(probe, 'quantix\n', { flag: 'wx' });
      await mkdir(join(dir, 'backups'), { recursive: true, mode: 0o755 });
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      if (['EACCES', 'EPERM', 'EROFS'].includes(code)) throw nfsNotWritable(t, err);
      throw err;
    } finally {
      await rm(probe, { force: true }).catch(() => undefined);
    }
  }
}

/**
 * The pool manager as the backup code sees it: "nfs:<name>" is a leased NFS target's directory,
 * every other name a pool of this host.
 */
export function poolsWithNfs(pools: PoolManager, mounts: NfsMounts): PoolManager {
  const activeRecord = async (name: string, field?: string) => mounts.leased(name) ?? pools.activeRecord(name, field);
  // Every other member is the manager's own, bound to it (its state stays in one object).
  return new Proxy(pools, {
    get(target, prop) {
      if (prop === 'activeRecord') return activeRecord;
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

const perAgent = new WeakMap<object, NfsMounts>();

/** The one NfsMounts of an agent (BackupService and BackupTargetService share it). */
export function nfsMountsOf(ctx: { config: { dataDir: string } }): NfsMounts {
  let m = perAgent.get(ctx);
  if (!m) perAgent.set(ctx, (m = new NfsMounts(join(ctx.config.dataDir, 'nfs'))));
  return m;
}
