// Space a new loop pool may take on the filesystem holding the pools directory. Backing files are
// sparse: free space still counts the blocks other loop pools' filesystems have been promised
// but have not written yet, so two pools of 70% each would both fit. Here every loop pool backing
// file on that filesystem (same st_dev: the agent's own in the pools directory, attached or not,
// and any other attached loop device's) has its promise (apparent size - allocated blocks) taken off.
import { lstat, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { spaceFigures } from './filesystem.js';
import { loopList } from './loop-device.js';

/** What one backing file may still claim from the filesystem. */
export interface LoopPromise {
  /** "pool p1" for the agent's own backing files, else "<file> on <device>". */
  owner: string;
  file: string;
  bytes: number;
}

export interface LoopSpace {
  /** Bytes free for the agent (statfs bavail) on the filesystem of the pools directory. */
  freeBytes: number;
  promises: LoopPromise[];
  promisedBytes: number;
  /** What a new pool may take: free minus everything promised (never below 0). */
  availableBytes: number;
}

/** The agent's pool backing files are `<pool>.img` in the pools directory (kinds/loop.ts). */
const POOL_FILE = /^(.+)\.img$/;

/** Free space on the filesystem of `poolsDir` less what loop pool backing files on it promised. */
export async function loopPoolSpace(poolsDir: string): Promise<LoopSpace> {
  const [{ availableBytes: freeBytes }, dir] = await Promise.all([spaceFigures(poolsDir), stat(poolsDir)]);
  const candidates: { owner: string; file: string }[] = [];
  for (const name of await readdir(poolsDir)) {
    const pool = POOL_FILE.exec(name)?.[1];
    if (pool) candidates.push({ owner: `pool ${pool}`, file: join(poolsDir, name) });
  }
  for (const device of await loopList()) {
    if (device.backFile && !device.backFile.endsWith(' (deleted)')) {
      candidates.push({ owner: `${device.backFile} on ${device.name}`, file: device.backFile });
    }
  }
  const seen = new Set<string>();
  const promises: LoopPromise[] = [];
  for (const c of candidates) {
    // lstat: a symlink in the pools directory is nobody's backing file; a vanished file promises nothing.
    const st = await lstat(c.file).catch(() => undefined);
    if (!st?.isFile() || st.dev !== dir.dev) continue;
    const key = `${st.dev}:${st.ino}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const bytes = st.size - st.blocks * 512;
    if (bytes > 0) promises.push({ owner: c.owner, file: c.file, bytes });
  }
  const promisedBytes = promises.reduce((sum, p) => sum + p.bytes, 0);
  return { freeBytes, promises, promisedBytes, availableBytes: Math.max(0, freeBytes - promisedBytes) };
}

/** The figures as one sentence: free, promised to whom, available. */
export function describeLoopSpace(space: LoopSpace, poolsDir: string): string {
  const promised = space.promises.length
    ? `${space.promisedBytes} bytes of it promised to loop pools whose sparse backing files may still grow (${space.promises
        .map((p) => `${p.owner}: ${p.bytes} bytes`)
        .join(', ')})`
    : 'none of it promised to other loop pools';
  return `${space.freeBytes} bytes free on the filesystem of ${poolsDir}, ${promised}, so ${space.availableBytes} bytes available`;
}
