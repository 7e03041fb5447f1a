// Volumes: files directly in a pool's directory, named by validated names (no path can leave
// the pool; symlinks and non-regular files are refused). Create, list, resize (grow only),
// delete and clone with qemu-img; new files are written under a hidden temp name and linked
// into place only when complete, so a failure never leaves a half-written volume. A format read
// from the content is a guest's to choose (it can write a qcow2 header into its raw disk): before
// a volume is used as qcow2 its backing chain must stay in its pool, and qemu-img on existing
// volumes runs sandboxed with only the pool (read-only) and the one file it writes visible.
// What the agent wrote a volume as is recorded (volume-formats.ts) and wins over its content.
import { randomBytes } from 'node:crypto';
import { link, lstat, readdir, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VolumeFormat, type Volume } from '@quantix/proto/v1/storage.js';
import { volumeFormatNames } from '../enum-names.js';
import { AgentError, ErrorCode, failedPrecondition, invalidArgument, notFound } from '../errors.js';
import { run } from '../exec/run.js';
import type { Virsh } from '../libvirt/virsh.js';
import { inspectBackingChain } from '../ova/disk-inspect.js';
import { FLUSHED_OUTPUT, sandboxedQemuImg, type SandboxMounts } from '../ova/qemu-sandbox.js';
import { syncDir } from './durable-file.js';
import { validateName } from '../validate/name.js';
import { listDiskUses, type DiskUse } from './disk-usage.js';
import { spaceFigures } from './filesystem.js';
import type { PoolManager } from './pool-manager.js';
import type { PoolRecord } from './storage-kind.js';
import { holdsOn } from './volume-holds.js';
import { probeFile, type HeaderProbe } from './volume-probe.js';
import {
  checkRecordedBacking,
  forgetVolumeFormat,
  recordedVolumeFormat,
  recordVolumeFormat,
  type RecordedFormat,
  type VolumeFormatRecord,
} from './volume-formats.js';

const SECTOR = 512;
const NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,62}$/;
const QEMU_IMG_TIMEOUT = 6 * 60 * 60_000;

export interface CreateVolumeOptions {
  pool: string;
  name: string;
  format: VolumeFormat;
  capacityBytes: number;
}

export interface CloneVolumeOptions {
  pool: string;
  name: string;
  targetName: string;
  targetPool: string;
  linked: boolean;
}

function formatOf(probe: HeaderProbe): VolumeFormat {
  return volumeFormatNames.value(probe.format) ?? VolumeFormat.VOLUME_FORMAT_UNSPECIFIED;
}

/** How a volume of (trusted) format `format` is recorded. */
function recordedFormatOf(format: VolumeFormat): RecordedFormat {
  return volumeFormatNames.name(format) ?? 'raw';
}

/** qemu-img's name of a format we write. ISO content is raw to qemu. */
function qemuFormat(format: VolumeFormat): 'qcow2' | 'raw' {
  return format === VolumeFormat.VOLUME_FORMAT_QCOW2 ? 'qcow2' : 'raw';
}

/** A hidden sibling name for a file being written; libvirt and listings skip dot files. */
export function tempPathFor(pool: PoolRecord, name: string, purpose: string): string {
  return join(pool.path, `.qx-${purpose}-${name}-${randomBytes(4).toString('hex')}`);
}

/** Puts a finished temp file in place without ever replacing an existing volume. */
async function publishFile(pool: PoolRecord, tmp: string, name: string): Promise<void> {
  try {
    await link(tmp, join(pool.path, name));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw volumeExists(pool, name);
    throw err;
  }
  await unlink(tmp);
  // The new name survives a power cut (the data was flushed by whoever wrote it).
  await syncDir(pool.path);
}

/**
 * Publishes a finished temp file as volume `name` and records what the agent wrote it as; if
 * the record cannot be written, the volume is removed again (no unrecorded volume of ours).
 */
export async function publishVolume(
  pool: PoolRecord,
  tmp: string,
  name: string,
  record: VolumeFormatRecord,
): Promise<void> {
  await publishFile(pool, tmp, name);
  try {
    await recordVolumeFormat(pool.path, name, record);
  } catch (err) {
    await removeQuietly(join(pool.path, name));
    throw err;
  }
}

function volumeExists(pool: PoolRecord, name: string): AgentError {
  return new AgentError(ErrorCode.AlreadyExists, `volume ${pool.name}/${name} already exists`, 'name');
}

async function removeQuietly(path: string): Promise<void> {
  await unlink(path).catch(() => undefined);
}

/** qemu-img on existing volumes: sandboxed, only `mounts` visible (files to write must exist). */
async function runQemuImg(mounts: SandboxMounts, args: string[], watch: CopyWatch = {}): Promise<void> {
  const onOutput = watch.onPercent && percentReader(watch.onPercent);
  await run('bwrap', sandboxedQemuImg(mounts, args), {
    timeoutMs: QEMU_IMG_TIMEOUT,
    maxOutputBytes: 64 * 1024,
    ...(watch.signal ? { signal: watch.signal } : {}),
    ...(onOutput ? { onOutput } : {}),
  });
}

/** A long copy's observers: its percentage (qemu-img -p), an abort and a bandwidth limit. */
export interface CopyWatch {
  signal?: AbortSignal;
  onPercent?: (percent: number) => void;
  /** Bytes per second; 0 or absent = none. */
  rateLimit?: number;
}

/** Reads qemu-img -p's "(12.34/100%)" updates out of its output. */
export function percentReader(onPercent: (percent: number) => void): (chunk: Buffer) => void {
  return (chunk) => {
    const all = [...chunk.toString('latin1').matchAll(/\((\d+(?:\.\d+)?)\/100%\)/g)];
    const last = all.at(-1);
    if (last) onPercent(Number(last[1]));
  };
}

/**
 * Refuses a qcow2 volume whose backing chain (or data file) leads out of its pool, or, when the
 * agent recorded it, whose backing file is not the one the agent gave it.
 */
async function checkBackingChain(pool: PoolRecord, volume: Volume): Promise<void> {
  if (volume.format !== VolumeFormat.VOLUME_FORMAT_QCOW2) return;
  const label = `volume ${pool.name}/${volume.name}`;
  const chain = await inspectBackingChain({ path: volume.path, format: 'qcow2', dir: pool.path, label });
  const record = await recordedVolumeFormat(pool.path, volume.name);
  if (record) checkRecordedBacking(pool.path, record, chain.backingFile, label);
}

export class Volumes {
  constructor(
    private readonly pools: PoolManager,
    private readonly virsh: Virsh,
  ) {}

  /** The path of an existing volume; refuses anything that is not a regular file in the pool. */
  async resolve(pool: PoolRecord, name: string, field = 'name'): Promise<string> {
    validateName(field, name);
    const path = join(pool.path, name);
    let st;
    try {
      st = await lstat(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(`volume ${pool.name}/${name}`);
      throw err;
    }
    if (st.isSymbolicLink())
      throw invalidArgument(field, `${path} is a symbolic link; it could lead out of pool ${pool.name}`);
    if (!st.isFile()) throw invalidArgument(field, `${path} is not a regular file`);
    return path;
  }

  /** Refuses when `name` is taken in `pool`. */
  async assertFree(pool: PoolRecord, name: string, field = 'name'): Promise<string> {
    validateName(field, name);
    const path = join(pool.path, name);
    try {
      await lstat(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return path;
      throw err;
    }
    throw new AgentError(ErrorCode.AlreadyExists, `volume ${pool.name}/${name} already exists`, field);
  }

  async view(pool: PoolRecord, name: string, uses?: DiskUse[]): Promise<Volume> {
    const path = await this.resolve(pool, name);
    const [probe, st, record] = await Promise.all([
      probeFile(path),
      lstat(path),
      recordedVolumeFormat(pool.path, name),
    ]);
    // A recorded raw or ISO volume is that whatever its first bytes say now (a guest wrote them).
    const header = !record || record.format === 'qcow2' ? probe : undefined;
    const allUses = uses ?? (await listDiskUses(this.virsh));
    const usedBy = allUses
      .filter((u) => u.file === path || (u.pool === pool.name && u.volume === name))
      .map((u) => u.domain);
    return {
      pool: pool.name,
      name,
      format: record ? volumeFormatNames.value(record.format)! : formatOf(probe),
      capacityBytes: header?.virtualSize ?? st.size,
      allocationBytes: st.blocks * 512,
      path,
      backingVolume: (record ? record.backing : probe.backingFile) ?? '',
      usedBy: [...new Set(usedBy)],
      fileBytes: st.size,
    };
  }

  async get(poolName: string, name: string): Promise<Volume> {
    const pool = await this.pools.activeRecord(poolName);
    return this.view(pool, name);
  }

  /** Volumes of one pool, or of every active pool when `poolName` is empty; optionally one format. */
  async list(poolName: string, format: VolumeFormat): Promise<Volume[]> {
    const pools = poolName ? [await this.pools.activeRecord(poolName)] : await this.pools.activeRecords();
    const uses = await listDiskUses(this.virsh);
    const out: Volume[] = [];
    for (const pool of pools) {
      const entries = await readdir(pool.path, { withFileTypes: true });
      for (const e of entries) {
        if (!e.isFile() || !NAME.test(e.name)) continue;
        const volume = await this.view(pool, e.name, uses).catch(() => undefined);
        if (volume && (format === VolumeFormat.VOLUME_FORMAT_UNSPECIFIED || volume.format === format)) out.push(volume);
      }
    }
    return out.sort((a, b) => a.pool.localeCompare(b.pool) || a.name.localeCompare(b.name));
  }

  async create(opts: CreateVolumeOptions): Promise<Volume> {
    const pool = await this.pools.activeRecord(opts.pool);
    validateName('name', opts.name);
    if (opts.format !== VolumeFormat.VOLUME_FORMAT_QCOW2 && opts.format !== VolumeFormat.VOLUME_FORMAT_RAW) {
      throw invalidArgument('format', 'must be VOLUME_FORMAT_QCOW2 or VOLUME_FORMAT_RAW (upload ISO images)');
    }
    const capacity = await this.checkCapacity(pool, opts.capacityBytes, 'capacity_bytes');
    return this.pools.withPool(pool, async () => {
      await this.assertFree(pool, opts.name);
      const tmp = tempPathFor(pool, opts.name, 'new');
      try {
        await run('qemu-img', ['create', '-q', '-f', qemuFormat(opts.format), tmp, String(capacity)]);
        await publishVolume(pool, tmp, opts.name, { format: recordedFormatOf(opts.format) });
      } finally {
        await removeQuietly(tmp);
      }
      await this.pools.volumesChanged(pool);
      // Made just now under a free name: which VMs use it is not asked of libvirt (a VM whose disk
      // file went missing at this very path would; listings show that). It saves a dumpxml per VM
      // in the measured time of a live migration, whose destination creates its disks here.
      return this.view(pool, opts.name, []);
    });
  }

  async resize(poolName: string, name: string, capacityBytes: number): Promise<Volume> {
    const pool = await this.pools.activeRecord(poolName);
    return this.pools.withPool(pool, async () => {
      const current = await this.view(pool, name);
      if (
        current.format === VolumeFormat.VOLUME_FORMAT_ISO ||
        current.format === VolumeFormat.VOLUME_FORMAT_UNSPECIFIED
      ) {
        throw failedPrecondition(`volume ${pool.name}/${name} is not a qcow2 or raw disk and cannot be resized`);
      }
      if (!Number.isSafeInteger(capacityBytes) || capacityBytes <= current.capacityBytes) {
        throw invalidArgument(
          'capacity_bytes',
          `must be larger than the current ${current.capacityBytes} bytes; volumes never shrink`,
        );
      }
      const target = Math.ceil(capacityBytes / SECTOR) * SECTOR;
      await this.checkCapacity(pool, target - current.capacityBytes, 'capacity_bytes');
      const running = (await listDiskUses(this.virsh)).filter(
        (u) => u.running && (u.file === current.path || (u.pool === pool.name && u.volume === name)),
      );
      if (running.length) {
        throw failedPrecondition(
          `volume ${pool.name}/${name} is in use by running VM ${running[0]!.domain}; stop it first`,
        );
      }
      await checkBackingChain(pool, current);
      await runQemuImg({ readOnly: [pool.path], writable: [current.path] }, [
        'resize',
        '-q',
        '-f',
        qemuFormat(current.format),
        current.path,
        String(target),
      ]);
      await this.pools.volumesChanged(pool);
      return this.view(pool, name);
    });
  }

  /**
   * Deletes a volume nothing holds: refused while any defined VM uses it or it is the backing
   * file of any volume (in any pool) or VM disk. Checked and deleted under the pool lock.
   */
  async delete(poolName: string, name: string): Promise<void> {
    const pool = await this.pools.volumePool(poolName);
    await this.pools.withPool(pool, async () => {
      const path = await this.resolve(pool, name);
      const reasons = await this.holds(pool, name, path);
      if (reasons.length) {
        throw failedPrecondition(
          `volume ${pool.name}/${name} is ${reasons.join(' and ')}; detach or delete those first`,
        );
      }
      await this.remove(pool, name, path);
    });
  }

  /**
   * For VM delete: deletes volume `name` unless something holds it, and says what did.
   * `kept` is empty when the volume was deleted (or was already gone).
   */
  async deleteUnlessHeld(poolName: string, name: string): Promise<{ path: string; kept: string }> {
    const pool = await this.pools.volumePool(poolName);
    return this.pools.withPool(pool, async () => {
      let path: string;
      try {
        path = await this.resolve(pool, name);
      } catch (err) {
        if (err instanceof AgentError && err.code === ErrorCode.NotFound)
          return { path: join(pool.path, name), kept: '' };
        throw err;
      }
      const reasons = await this.holds(pool, name, path);
      if (reasons.length) return { path, kept: `${reasons.join(' and ')}` };
      await this.remove(pool, name, path);
      return { path, kept: '' };
    });
  }

  /** Runs `fn` holding the locks of the named pools (a VM define or update attaching their volumes). */
  withPools<T>(poolNames: Iterable<string>, fn: () => Promise<T>): Promise<T> {
    return this.pools.withPools(poolNames, fn);
  }

  /** What holds volume `name` of `pool` (see volume-holds.ts); call under the pool lock. */
  private async holds(pool: PoolRecord, name: string, path: string): Promise<string[]> {
    const [uses, pools] = await Promise.all([listDiskUses(this.virsh), this.pools.volumePools()]);
    return holdsOn({ pool, name, path }, pools, uses);
  }

  private async remove(pool: PoolRecord, name: string, path: string): Promise<void> {
    await unlink(path);
    await forgetVolumeFormat(pool.path, name);
    await this.pools.volumesChanged(pool);
  }

  /**
   * Full copy or linked clone (a qcow2 overlay in the same pool). Counted as work running into
   * the target pool (and out of the source pool) so neither can be stopped meanwhile; checked
   * and written holding both pools' locks, so a delete of the source cannot slip in between.
   */
  /** `watch`: progress and abort of a full copy (a storage move). */
  async clone(opts: CloneVolumeOptions, watch: CopyWatch = {}): Promise<Volume> {
    const source = await this.pools.volumePool(opts.pool);
    const target = opts.targetPool ? await this.pools.volumePool(opts.targetPool, 'target_pool') : source;
    validateName('target_name', opts.targetName);
    if (opts.linked && target.name !== source.name)
      throw invalidArgument('target_pool', 'linked clones stay in the pool of their source');
    const what = `${opts.linked ? 'a linked clone' : 'a copy'} of volume ${source.name}/${opts.name} as ${opts.targetName}`;
    const releases = [this.pools.beginTransfer(target, `${what} into it`)];
    if (target.name !== source.name) releases.push(this.pools.beginTransfer(source, `${what} from it`));
    try {
      return await this.pools.withPools([source.name, target.name], () =>
        this.cloneLocked(source, target, opts, watch),
      );
    } finally {
      for (const release of releases) release();
    }
  }

  private async cloneLocked(
    source: PoolRecord,
    target: PoolRecord,
    opts: CloneVolumeOptions,
    watch: CopyWatch,
  ): Promise<Volume> {
    const volume = await this.view(source, opts.name);
    if (volume.format === VolumeFormat.VOLUME_FORMAT_UNSPECIFIED) {
      throw failedPrecondition(`volume ${source.name}/${opts.name} has a format the agent does not clone`);
    }
    if (opts.linked && volume.format === VolumeFormat.VOLUME_FORMAT_ISO) {
      throw invalidArgument('linked', 'ISO images cannot have linked clones');
    }
    if (
      (await listDiskUses(this.virsh)).some(
        (u) => u.running && (u.file === volume.path || (u.pool === source.name && u.volume === volume.name)),
      )
    ) {
      throw failedPrecondition(`volume ${source.name}/${opts.name} is in use by a running VM; stop it before cloning`);
    }
    if (!opts.linked) await this.checkCapacity(target, volume.allocationBytes || 1, 'name');
    await checkBackingChain(source, volume);
    await this.assertFree(target, opts.targetName, 'target_name');
    const tmp = tempPathFor(target, opts.targetName, 'clone');
    const srcFormat = qemuFormat(volume.format);
    try {
      await writeFile(tmp, '', { flag: 'wx' });
      const mounts = { readOnly: [source.path], writable: [tmp] };
      if (opts.linked) {
        // A relative backing name: the overlay keeps working wherever the pool is mounted.
        await runQemuImg(mounts, ['create', '-q', '-f', 'qcow2', '-b', volume.name, '-F', srcFormat, tmp]);
      } else {
        const progress = [
          ...(watch.onPercent ? ['-p'] : []),
          ...(watch.rateLimit ? ['-r', String(watch.rateLimit)] : []),
        ];
        await runQemuImg(
          mounts,
          ['convert', ...progress, ...FLUSHED_OUTPUT, '-f', srcFormat, '-O', srcFormat, volume.path, tmp],
          watch,
        );
      }
      const record: VolumeFormatRecord = opts.linked
        ? { format: 'qcow2', backing: volume.name }
        : { format: recordedFormatOf(volume.format) };
      await publishVolume(target, tmp, opts.targetName, record);
    } finally {
      await removeQuietly(tmp);
    }
    await this.pools.volumesChanged(target);
    return this.view(target, opts.targetName);
  }

  /**
   * A new qcow2 volume `name` in `poolName`, flattened by qemu-img from `source` and its backing
   * chain, all under `sourceDir` (visible read-only to the sandbox): a disk restored from a backup.
   */
  async importFlattened(opts: { pool: string; name: string; source: string; sourceDir: string }): Promise<Volume> {
    const pool = await this.pools.activeRecord(opts.pool, 'target_pool');
    validateName('name', opts.name);
    const release = this.pools.beginTransfer(pool, `a restore of ${opts.name} into it`);
    try {
      return await this.pools.withPool(pool, async () => {
        await this.assertFree(pool, opts.name);
        const tmp = tempPathFor(pool, opts.name, 'restore');
        try {
          await writeFile(tmp, '', { flag: 'wx' });
          const args = ['convert', ...FLUSHED_OUTPUT, '-f', 'qcow2', '-O', 'qcow2', opts.source, tmp];
          await runQemuImg({ readOnly: [opts.sourceDir], writable: [tmp] }, args);
          await publishVolume(pool, tmp, opts.name, { format: 'qcow2' });
        } finally {
          await removeQuietly(tmp);
        }
        await this.pools.volumesChanged(pool);
        return this.view(pool, opts.name);
      });
    } finally {
      release();
    }
  }

  /** Positive, sector-rounded, and no more than the pool has free. */
  async checkCapacity(pool: PoolRecord, bytes: number, field: string): Promise<number> {
    if (!Number.isSafeInteger(bytes) || bytes <= 0) throw invalidArgument(field, 'must be a positive number of bytes');
    const rounded = Math.ceil(bytes / SECTOR) * SECTOR;
    const free = (await spaceFigures(pool.path)).availableBytes;
    if (rounded > free) {
      throw new AgentError(
        ErrorCode.ResourceExhausted,
        `${field}: ${rounded} bytes is more than the ${free} bytes free in pool ${pool.name}`,
        field,
      );
    }
    return rounded;
  }
}
