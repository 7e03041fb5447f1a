// An append-only log of JSON records, one per line, in <dir>/<name>.jsonl, rotated by size into
// <name>.1.jsonl … <name>.<keep>.jsonl (the oldest dropped). An append costs the same however long
// the history is: appends are written in call order and made durable together (one fdatasync per
// batch). A line torn by a crash is cut off on open; any other unreadable line is skipped on read.
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { log } from '../log.js';

export interface AppendLogOptions {
  dir: string;
  /** File name stem: <name>.jsonl. */
  name: string;
  /** The current file is rotated once it reaches this many bytes. */
  maxBytes: number;
  /** Rotated files kept (at least 1). */
  keep: number;
  /** Records still current (e.g. running tasks), written again at the start of each new file so
   * that rotation never drops their latest state. */
  carry?: () => unknown[];
}

interface Pending {
  line: string;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class AppendLog<T> {
  private pending: Pending[] = [];
  private flushing: Promise<void> | undefined;

  private constructor(
    private readonly opts: AppendLogOptions,
    private handle: FileHandle,
    private size: number,
  ) {}

  /** The file appended to now. */
  get path(): string {
    return this.fileAt(0);
  }

  /** Opens (creating) the current file; cuts a torn last line a crash may have left. */
  static async open<T>(opts: AppendLogOptions): Promise<AppendLog<T>> {
    if (opts.keep < 1) throw new Error(`append log ${opts.name}: keep must be at least 1`);
    await mkdir(opts.dir, { recursive: true, mode: 0o700 });
    const path = join(opts.dir, `${opts.name}.jsonl`);
    const handle = await open(path, 'a+', 0o600);
    try {
      const size = await cutTornLine(handle, path);
      return new AppendLog<T>(opts, handle, size);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** Appends one record; resolves once it is on disk. */
  append(record: T): Promise<void> {
    const line = `${JSON.stringify(record)}\n`;
    return new Promise((resolve, reject) => {
      this.pending.push({ line, resolve, reject });
      this.flushing ??= this.flush();
    });
  }

  /**
   * Every readable record, oldest first: the rotated files, then the current one. Unreadable
   * lines (a torn line after a crash, or an append in progress) are skipped with a warning.
   */
  async *records(): AsyncGenerator<T> {
    for (let i = this.opts.keep; i >= 0; i--) yield* readRecords<T>(this.fileAt(i));
  }

  /** Waits for pending appends and closes the file. */
  async close(): Promise<void> {
    while (this.flushing) await this.flushing;
    await this.handle.close();
  }

  private fileAt(i: number): string {
    return join(this.opts.dir, i === 0 ? `${this.opts.name}.jsonl` : `${this.opts.name}.${i}.jsonl`);
  }

  /** Writes batches until none is pending; clears `flushing` in the same turn it sees none. */
  private async flush(): Promise<void> {
    try {
      await this.flushBatches();
    } finally {
      this.flushing = undefined;
      // An append that arrived between the last batch and here would otherwise wait forever.
      if (this.pending.length) this.flushing = this.flush();
    }
  }

  private async flushBatches(): Promise<void> {
    while (this.pending.length) {
      const batch = this.pending;
      this.pending = [];
      const text = batch.map((p) => p.line).join('');
      try {
        await this.handle.appendFile(text);
        await this.handle.datasync();
        this.size += Buffer.byteLength(text);
        for (const p of batch) p.resolve();
      } catch (err) {
        const e = new Error(`cannot append to ${this.path}: ${(err as Error).message}`, { cause: err });
        for (const p of batch) p.reject(e);
        continue;
      }
      if (this.size >= this.opts.maxBytes) {
        await this.rotate().catch((err: Error) =>
          log.error('append log rotation failed', { file: this.path, error: err.message }),
        );
      }
    }
  }

  /** <name>.jsonl becomes <name>.1.jsonl (older ones move up one, the oldest is dropped). */
  private async rotate(): Promise<void> {
    await this.handle.close();
    await rm(this.fileAt(this.opts.keep), { force: true });
    for (let i = this.opts.keep - 1; i >= 0; i--) {
      await rename(this.fileAt(i), this.fileAt(i + 1)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    }
    this.handle = await open(this.fileAt(0), 'a+', 0o600);
    const carried = (this.opts.carry?.() ?? []).map((r) => `${JSON.stringify(r)}\n`).join('');
    if (carried) await this.handle.appendFile(carried);
    await this.handle.datasync();
    this.size = Buffer.byteLength(carried);
    const dir = await open(this.opts.dir, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}

/** Truncates the file after its last newline (a crash mid-append); returns the size kept. */
async function cutTornLine(handle: FileHandle, path: string): Promise<number> {
  const { size } = await handle.stat();
  if (size === 0) return 0;
  const chunk = Buffer.alloc(64 * 1024);
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - chunk.length);
    const { bytesRead } = await handle.read(chunk, 0, end - start, start);
    const nl = chunk.subarray(0, bytesRead).lastIndexOf(0x0a);
    if (nl >= 0) {
      end = start + nl + 1;
      break;
    }
    end = start;
  }
  if (end === size) return size;
  log.warn('append log: cut a torn last line (the server stopped mid-write)', { file: path, bytes: size - end });
  await handle.truncate(end);
  await handle.datasync();
  return end;
}

async function* readRecords<T>(path: string): AsyncGenerator<T> {
  const stream = createReadStream(path, { encoding: 'utf8' });
  const opened = await new Promise<boolean>((resolve, reject) => {
    stream.once('open', () => resolve(true));
    stream.once('error', (err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? resolve(false) : reject(err)));
  });
  if (!opened) return;
  let skipped = 0;
  try {
    for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) {
      if (!line) continue;
      let record: T;
      try {
        record = JSON.parse(line) as T;
      } catch {
        skipped++;
        continue;
      }
      yield record;
    }
  } finally {
    stream.destroy();
  }
  if (skipped) log.warn('append log: skipped unreadable lines', { file: path, lines: skipped });
}
