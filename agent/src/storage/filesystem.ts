// Pool filesystems: mkfs (ext4 or xfs), online growth, and real capacity figures from statfs.
import { statfs } from 'node:fs/promises';
import { run } from '../exec/run.js';

export const FILESYSTEMS = ['ext4', 'xfs'] as const;
export type PoolFilesystem = (typeof FILESYSTEMS)[number];

/** Smallest backing file each mkfs accepts (xfsprogs 6 refuses below 300 MB). */
export const MIN_FILESYSTEM_BYTES: Record<PoolFilesystem, number> = { ext4: 16 * 1024 * 1024, xfs: 300_000_000 };

/** Formats `target` (a file or a block device). ext4 reserves no root blocks: pools hold images. */
export async function makeFilesystem(target: string, fs: PoolFilesystem): Promise<void> {
  if (fs === 'ext4') await run('mkfs.ext4', ['-q', '-F', '-m', '0', '--', target], { timeoutMs: 300_000 });
  else await run('mkfs.xfs', ['-q', '-f', '--', target], { timeoutMs: 300_000 });
}

/** Grows a mounted filesystem to the size of its (already grown) device. */
export async function growFilesystem(device: string, mountPoint: string, fs: PoolFilesystem): Promise<void> {
  if (fs === 'ext4') await run('resize2fs', [device], { timeoutMs: 300_000 });
  else await run('xfs_growfs', [mountPoint], { timeoutMs: 300_000 });
}

export interface SpaceFigures {
  capacityBytes: number;
  allocationBytes: number;
  availableBytes: number;
}

/** Capacity, used and available bytes of the filesystem holding `path`. */
export async function spaceFigures(path: string): Promise<SpaceFigures> {
  const s = await statfs(path);
  return {
    capacityBytes: s.blocks * s.bsize,
    allocationBytes: (s.blocks - s.bfree) * s.bsize,
    availableBytes: s.bavail * s.bsize,
  };
}
