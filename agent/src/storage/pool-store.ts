// Pool definitions persisted in the agent's data dir (<dataDir>/storage/pools.json), written
// atomically (temp file, fsync, rename, fsync of the directory) so a crash never leaves a
// half-written file. Loading checks every record's shape: the file may have been edited by hand.
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '@quantix/proto/fs/atomic-file.js';
import type { PoolRecord } from './storage-kind.js';

interface StoreFile {
  version: 1;
  pools: PoolRecord[];
}

/** What is wrong with a stored record's shape, or undefined (pure; the file may be hand-edited). */
function recordProblem(p: unknown): string | undefined {
  if (typeof p !== 'object' || p === null) return 'not an object';
  const r = p as Partial<Record<keyof PoolRecord, unknown>>;
  if (typeof r.name !== 'string' || !r.name) return 'no name';
  if (r.kind !== 'loop' && r.kind !== 'dir') return `${r.name}: unknown kind ${JSON.stringify(r.kind)}`;
  if (typeof r.path !== 'string' || !r.path.startsWith('/')) return `${r.name}: no absolute path`;
  if (r.kind === 'loop' && !(typeof r.backingFile === 'string' && r.backingFile.startsWith('/'))) {
    return `${r.name}: no backing file`;
  }
  if (typeof r.active !== 'boolean') return `${r.name}: no active flag`;
  return undefined;
}

export class PoolStore {
  readonly file: string;

  constructor(dataDir: string) {
    this.file = join(dataDir, 'storage', 'pools.json');
  }

  async load(): Promise<PoolRecord[]> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const parsed = JSON.parse(text) as StoreFile;
    if (parsed.version !== 1 || !Array.isArray(parsed.pools)) {
      throw new Error(`${this.file}: unknown pool store version ${String(parsed.version)}`);
    }
    parsed.pools.forEach((p, i) => {
      const problem = recordProblem(p);
      if (problem) throw new Error(`pool ${i + 1}: ${problem}`);
    });
    return parsed.pools;
  }

  async save(pools: PoolRecord[]): Promise<void> {
    await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
    const body: StoreFile = { version: 1, pools };
    await writeFileAtomic(this.file, `${JSON.stringify(body, null, 2)}\n`);
  }
}
