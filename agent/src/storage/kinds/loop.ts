// Loop pools: a sparse backing file under <dataDir>/pools (its size counted against what other
// loop pools there promised, loop-space.ts), attached with losetup, formatted ext4 (or xfs) and
// mounted under <dataDir>/mnt/<pool>. Activation is idempotent (an attached
// device is reused, a mounted filesystem is left alone); growth is online, never shrinks (not
// even to undo a failed growth) and can be repeated at the same size.
import { constants, existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { chmod, mkdir, open, rmdir, stat, truncate, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { AgentError, ErrorCode, failedPrecondition, invalidArgument } from '../../errors.js';
import { ExecError, run } from '../../exec/run.js';
import { log } from '../../log.js';
import { FILESYSTEMS, MIN_FILESYSTEM_BYTES, growFilesystem, makeFilesystem } from '../filesystem.js';
import type { PoolFilesystem } from '../filesystem.js';
import { loopAttach, loopDetach, loopFind, loopRefreshCapacity } from '../loop-device.js';
import { describeLoopSpace, loopPoolSpace } from '../loop-space.js';
import { mountAt, mountFilesystem, readMounts, unmount } from '../mounts.js';
import type { PoolRecord, StorageKind } from '../storage-kind.js';

const MIB = 1024 * 1024;

function backingFileOf(record: PoolRecord): string {
  if (!record.backingFile) throw new Error(`pool ${record.name}: loop pool without a backing file`);
  return record.backingFile;
}

/**
 * QEMU runs as its own user and must reach the volumes: the directories above a mount point
 * (the agent's data dir and its mnt/) get search permission only (o+x, no listing).
 */
async function makeTraversable(mountPoint: string): Promise<void> {
  for (const dir of [dirname(dirname(mountPoint)), dirname(mountPoint)]) {
    const mode = (await stat(dir)).mode & 0o7777;
    if ((mode & 0o011) !== 0o011) await chmod(dir, mode | 0o011);
  }
}

/** resize2fs online needs CAP_SYS_RESOURCE, which containers often drop. */
function lacksResizeCapability(err: unknown): boolean {
  return err instanceof ExecError && /Permission denied to resize filesystem/.test(err.stderr);
}

/**
 * After umount a filesystem can stay busy for a moment (a VM's mount namespace being torn
 * down): wait until the device opens exclusively, which fails while anything still holds it.
 */
async function waitUntilReleased(device: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await (await open(device, constants.O_RDONLY | constants.O_EXCL)).close();
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EBUSY' || Date.now() > deadline) {
        throw failedPrecondition(`${device} is still in use after unmounting: ${(err as Error).message}`);
      }
      await sleep(250);
    }
  }
}

/** Loop devices of the pool, the mounted one first. */
async function devicesOf(record: PoolRecord): Promise<string[]> {
  const file = backingFileOf(record);
  if (!existsSync(file)) return [];
  const devices = await loopFind(file);
  const mounted = new Set((await readMounts()).map((m) => m.source));
  return devices.sort((a, b) => Number(mounted.has(b)) - Number(mounted.has(a)));
}

export const loopKind: StorageKind = {
  kind: 'loop',
  canGrow: true,
  hasBackingFile: true,

  async plan(input, env) {
    const fs = (input.filesystem || 'ext4') as PoolFilesystem;
    if (!FILESYSTEMS.includes(fs)) throw invalidArgument('filesystem', `"${input.filesystem}" is not one of ext4, xfs`);
    if (input.path) throw invalidArgument('path', 'loop pools live under the agent data dir; leave path empty');
    if (!Number.isSafeInteger(input.sizeBytes) || input.sizeBytes <= 0) {
      throw invalidArgument('size_bytes', 'must be a positive number of bytes');
    }
    const sizeBytes = Math.ceil(input.sizeBytes / MIB) * MIB;
    if (sizeBytes < MIN_FILESYSTEM_BYTES[fs]) {
      throw invalidArgument('size_bytes', `${fs} needs at least ${MIN_FILESYSTEM_BYTES[fs]} bytes`);
    }
    const poolsDir = join(env.dataDir, 'pools');
    await mkdir(poolsDir, { recursive: true, mode: 0o700 });
    // Sparse accounting rather than allocating up front (fallocate): creation stays instant, the
    // pool stays thin (fstrim in it gives blocks back), and pools made before are counted too.
    const space = await loopPoolSpace(poolsDir);
    if (sizeBytes > space.availableBytes) {
      throw new AgentError(
        ErrorCode.ResourceExhausted,
        `size_bytes: pool ${input.name} needs ${sizeBytes} bytes, more than available: ${describeLoopSpace(space, poolsDir)}`,
        'size_bytes',
      );
    }
    const backingFile = join(poolsDir, `${input.name}.img`);
    if (existsSync(backingFile)) {
      throw new AgentError(
        ErrorCode.AlreadyExists,
        `pool ${input.name}: backing file ${backingFile} already exists (left by a deleted pool?)`,
        'name',
      );
    }
    const path = join(env.dataDir, 'mnt', input.name);
    return { record: { name: input.name, kind: 'loop', path, backingFile, filesystem: fs, active: true }, sizeBytes };
  },

  async provision({ record, sizeBytes }, undo, env) {
    const file = backingFileOf(record);
    const fh = await open(file, 'wx', 0o600);
    undo.push(`remove ${file}`, () => unlink(file));
    try {
      await fh.truncate(sizeBytes);
    } finally {
      await fh.close();
    }
    await env.step('backing-file');
    await makeFilesystem(file, record.filesystem ?? 'ext4');
    await env.step('formatted');
  },

  async activate(record, undo, env) {
    const file = backingFileOf(record);
    if (!existsSync(file)) throw failedPrecondition(`pool ${record.name}: backing file ${file} is missing`);
    const [existing, ...extra] = await devicesOf(record);
    let device = existing;
    if (!device) {
      device = await loopAttach(file);
      const attached = device;
      undo.push(`detach ${attached}`, () => loopDetach(attached));
    }
    await env.step('attached');
    const mountedSources = new Set((await readMounts()).map((m) => m.source));
    for (const dup of extra) if (!mountedSources.has(dup)) await loopDetach(dup);

    if (!existsSync(record.path)) {
      await mkdir(record.path, { recursive: true, mode: 0o711 });
      undo.push(`remove ${record.path}`, () => rmdir(record.path));
    }
    await makeTraversable(record.path);
    const current = await mountAt(record.path);
    if (current && current.source !== device) {
      throw failedPrecondition(`pool ${record.name}: mount point ${record.path} is in use by ${current.source}`);
    }
    if (!current) {
      await mountFilesystem(device, record.path, record.filesystem ?? 'ext4');
      undo.push(`unmount ${record.path}`, () => unmount(record.path));
    }
    await env.step('mounted');
  },

  async deactivate(record) {
    if (await mountAt(record.path)) await unmount(record.path);
    for (const device of await devicesOf(record)) await loopDetach(device);
  },

  async isUp(record) {
    const m = await mountAt(record.path);
    return m !== undefined && (await devicesOf(record)).includes(m.source);
  },

  async device(record) {
    return (await devicesOf(record))[0];
  },

  async size(record) {
    return (await stat(backingFileOf(record))).size;
  },

  async grow(record, sizeBytes, env) {
    const file = backingFileOf(record);
    const fs = record.filesystem ?? 'ext4';
    const device = (await devicesOf(record))[0];
    if (!device || !(await this.isUp(record)))
      throw failedPrecondition(`pool ${record.name} is not started; start it first`);
    await truncate(file, sizeBytes);
    try {
      await loopRefreshCapacity(device);
      await env.step('device-grown');
      try {
        await growFilesystem(device, record.path, fs);
      } catch (err) {
        if (fs !== 'ext4' || !lacksResizeCapability(err)) throw err;
        // Without CAP_SYS_RESOURCE ext4 can only grow unmounted, which is only done while no
        // running VM uses the pool (QEMU's own mount namespace would keep the filesystem busy).
        if (!env.offlineAllowed) {
          throw failedPrecondition(
            `pool ${record.name}: growing ext4 while mounted needs CAP_SYS_RESOURCE, which the agent lacks; stop the VMs using the pool and retry`,
          );
        }
        log.warn('online ext4 resize not permitted; growing unmounted', { pool: record.name });
        await unmount(record.path);
        try {
          await waitUntilReleased(device);
          await run('e2fsck', ['-f', '-p', device], { timeoutMs: 600_000 }).catch((e: unknown) => {
            if (!(e instanceof ExecError && e.exitCode === 1)) throw e; // 1: errors corrected
          });
          await run('resize2fs', [device], { timeoutMs: 600_000 });
        } finally {
          await mountFilesystem(device, record.path, fs);
        }
      }
    } catch (err) {
      // resize2fs and xfs_growfs can fail after growing part of the way: shrinking the file back
      // could cut the filesystem off. The file keeps its new size; growing again finishes.
      const why = err instanceof Error ? err.message : String(err);
      log.warn('pool growth failed; the backing file keeps its new size', {
        pool: record.name,
        sizeBytes,
        reason: why,
      });
      throw new AgentError(
        err instanceof AgentError ? err.code : ErrorCode.Internal,
        `${why} (pool ${record.name}: the backing file ${file} stays at ${sizeBytes} bytes; grow the pool to ${sizeBytes} bytes again to finish)`,
        undefined,
        { cause: err },
      );
    }
  },

  async destroy(record, deleteBackingFile) {
    await this.deactivate(record);
    await rmdir(record.path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    if (deleteBackingFile) {
      await unlink(backingFileOf(record)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    }
  },
};
