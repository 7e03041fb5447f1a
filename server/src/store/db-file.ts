// The configuration file on disk (lowdb adapter): every write goes to a temp file, is fsynced and
// renamed over the old one, then the directory is fsynced; a copy of the last good version is
// kept beside it (<file>.last-good). A file found empty, torn or unparseable at start is moved
// aside (<file>.corrupt-<time>) and the last good copy is used, with the problem kept in `problem`.
import { readFile, rename, stat } from 'node:fs/promises';
import type { Adapter } from 'lowdb';
import { writeFileAtomic } from '@quantix/proto/fs/atomic-file.js';
import { log } from '../log.js';

export class DbFile<T> implements Adapter<T> {
  /** What was wrong with the file at start, for the admin; undefined when it was fine. */
  problem: string | undefined;
  /** The last write (or last good copy) started; the next one waits for it. */
  private running: Promise<unknown> = Promise.resolve();
  private queued: Promise<void> | undefined;

  constructor(readonly path: string) {}

  get lastGoodPath(): string {
    return `${this.path}.last-good`;
  }

  async read(): Promise<T | null> {
    const text = await readIfExists(this.path);
    if (text !== undefined) {
      const parsed = parseObject<T>(text);
      if (typeof parsed !== 'string') return parsed;
      const aside = `${this.path}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      await rename(this.path, aside);
      return this.recover(`${this.path} ${parsed}; moved aside to ${aside}`);
    }
    // Never written yet (a fresh data dir), unless a good copy says otherwise.
    if ((await readIfExists(this.lastGoodPath)) === undefined) return null;
    return this.recover(`${this.path} is missing`);
  }

  /**
   * Persists `data`: resolves once the file and its last good copy hold it. Writes run one at a
   * time; callers arriving while one waits to start share it (it holds their change too).
   */
  write(data: T): Promise<void> {
    if (!this.queued) {
      const next = this.running.then(async () => {
        this.queued = undefined;
        const text = JSON.stringify(data);
        await writeFileAtomic(this.path, text);
        await writeFileAtomic(this.lastGoodPath, text);
      });
      this.queued = next;
      this.running = next.catch(() => undefined);
    }
    return this.queued;
  }

  /** Records `data` (just read and migrated) as the last good copy, after any write under way. */
  keepAsLastGood(data: T): Promise<void> {
    const kept = this.running.then(() => writeFileAtomic(this.lastGoodPath, JSON.stringify(data)));
    this.running = kept.catch(() => undefined);
    return kept;
  }

  private async recover(what: string): Promise<T | null> {
    const good = await readIfExists(this.lastGoodPath);
    const parsed = good === undefined ? `is missing` : parseObject<T>(good);
    const when = typeof parsed === 'string' ? '' : (await stat(this.lastGoodPath)).mtime.toISOString();
    this.problem =
      typeof parsed === 'string'
        ? `${what}; the last good copy ${this.lastGoodPath} ${parsed}: started with an empty configuration`
        : `${what}; started from the last good copy ${this.lastGoodPath} (written ${when})`;
    log.error('the configuration file was unusable', { problem: this.problem });
    return typeof parsed === 'string' ? null : parsed;
  }
}

/** The parsed object, or why the text is not one (a sentence fragment). */
function parseObject<T>(text: string): T | string {
  if (!text.trim()) return `is empty (${Buffer.byteLength(text)} bytes)`;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    return `is not valid JSON (${Buffer.byteLength(text)} bytes, torn or corrupted: ${(err as Error).message})`;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'does not hold a JSON object';
  return v as T;
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
