// SHA-256 of every 4 MiB chunk of a stored backup file: written into the manifest when the
// backup completes and re-read by verify, which names the disk and offset of a chunk that differs.
// Chunks hash independently, so a large file is split across worker threads (one per core, at
// most MAX_WORKERS): hashing is CPU-bound and was half of a full backup's time on one thread.
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { allOrNone, runWorker } from './workers.js';

export const CHUNK_BYTES = 4 * 1024 * 1024;
const MAX_WORKERS = 4;
/** Below this a worker's start-up (~20 ms) costs more than it saves. */
const PARALLEL_FROM_BYTES = 64 * CHUNK_BYTES;

/** Hashes chunks [first, end) of a file; plain JS, run with `eval` so it needs no loader. */
const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const { openSync, readSync, closeSync } = require('node:fs');
const { createHash } = require('node:crypto');
const { path, first, end, chunk } = workerData;
const fd = openSync(path, 'r');
const buf = Buffer.allocUnsafe(chunk);
const sums = [];
try {
  for (let i = first; i < end; i++) {
    let got = 0;
    while (got < chunk) {
      const n = readSync(fd, buf, got, chunk - got, i * chunk + got);
      if (n === 0) break;
      got += n;
    }
    sums.push(createHash('sha256').update(buf.subarray(0, got)).digest('hex'));
  }
} finally { closeSync(fd); }
parentPort.postMessage({ result: sums });
`;

/** The hex SHA-256 of each CHUNK_BYTES piece of `path` (the last one may be shorter). */
export async function chunkSums(
  path: string,
  signal = new AbortController().signal,
): Promise<{ sums: string[]; bytes: number }> {
  signal.throwIfAborted();
  const fh = await open(path, 'r');
  let bytes: number;
  try {
    bytes = (await fh.stat()).size;
  } finally {
    await fh.close();
  }
  if (bytes === 0) return { sums: [createHash('sha256').digest('hex')], bytes };
  const chunks = Math.ceil(bytes / CHUNK_BYTES);
  const workers = bytes < PARALLEL_FROM_BYTES ? 1 : Math.min(MAX_WORKERS, availableParallelism());
  const per = Math.ceil(chunks / workers);
  const parts: ((signal: AbortSignal) => Promise<string[]>)[] = [];
  for (let first = 0; first < chunks; first += per) {
    const range = { path, first, end: Math.min(chunks, first + per), chunk: CHUNK_BYTES };
    parts.push((signal) => runWorker<string[]>(WORKER_SOURCE, range, signal));
  }
  const sums = (await allOrNone(signal, parts)).flat();
  if (sums.length !== chunks) throw new Error(`${path} changed while its checksums were computed`);
  return { sums, bytes };
}

/** Offsets of the chunks whose sums differ from `expected` (a missing or extra chunk counts too). */
export function differingChunks(expected: readonly string[], actual: readonly string[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < Math.max(expected.length, actual.length); i++) {
    if (expected[i] !== actual[i]) out.push(i * CHUNK_BYTES);
  }
  return out;
}
