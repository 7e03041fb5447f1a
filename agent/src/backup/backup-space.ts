// Room on the backup target: a full copy needs about the disks' allocation (checked before
// anything is written), and a target that fills up mid-way is reported as full, not as a
// qemu-img or libvirt exit status (the caller removes the half-written temp dir).
import { stat } from 'node:fs/promises';
import { AgentError, ErrorCode } from '../errors.js';
import { spaceFigures } from '../storage/filesystem.js';
import type { PoolRecord } from '../storage/storage-kind.js';

const MIB = 2 ** 20;
/** qcow2 metadata and the manifest on top of the data. */
const OVERHEAD_BYTES = 4 * MIB;

const mib = (bytes: number) => `${Math.ceil(bytes / MIB)} MiB`;

/** Bytes the source files hold on disk (what a full copy writes, give or take zero clusters). */
export async function allocatedBytes(files: readonly string[]): Promise<number> {
  let total = 0;
  for (const f of files) total += (await stat(f)).blocks * 512;
  return total;
}

/** Refuses a backup that cannot fit in the pool's free space. */
export async function requireRoom(pool: PoolRecord, vmName: string, neededBytes: number): Promise<void> {
  const { availableBytes } = await spaceFigures(pool.path);
  if (neededBytes + OVERHEAD_BYTES > availableBytes) {
    throw new AgentError(
      ErrorCode.ResourceExhausted,
      `backup target pool ${pool.name} is full: a full backup of VM ${vmName} needs about ${mib(neededBytes + OVERHEAD_BYTES)}, ${mib(availableBytes)} free; free space in the pool (delete old backups) or back up to another pool`,
    );
  }
}

/** True when an error says the disk is full (ENOSPC from us, qemu-img or QEMU's job). */
export function isNoSpace(err: unknown): boolean {
  const text = err instanceof Error ? `${(err as { code?: string }).code ?? ''} ${err.message}` : String(err);
  return /ENOSPC|No space left on device/i.test(text);
}

export function targetFilledUp(pool: PoolRecord, vmName: string, cause: unknown): AgentError {
  return new AgentError(
    ErrorCode.ResourceExhausted,
    `backup target pool ${pool.name} filled up while backing up VM ${vmName}; nothing of this backup was kept; free space in the pool (delete old backups) or back up to another pool`,
    undefined,
    { cause },
  );
}
