// The checksum of every 4 MiB chunk of a stored backup file: written into the manifest when the
// backup completes and re-read by verify, which names the disk and offset of a chunk that differs.
// New backups (manifest format 2) use XXH3-128 (hash-wasm): 3.3-4.4 GiB/s on a core here against
// SHA-256's 1.6, and hashing was the largest cost of a full backup after the copy itself (#24).
// Its job is to catch corruption, not tampering: the manifest lies beside the data, unsigned, so a
// collision-resistant hash would guard nothing more. Backups stored before (format 1) keep
// SHA-256 and are verified with it. Chunks hash independently, so a large file is split across
// worker threads (one per core, at most MAX_WORKERS).
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { createXXHash128 } from 'hash-wasm';
import { allOrNone, runWorker } from './workers.js';

export const CHUNK_BYTES = 4 * 1024 * 1024;
/** A manifest's chunk checksum: its disks list them under this name. */
export type ChunkHash = 'sha256' | 'xxh128';
/** What new backups use. */
export const CHUNK_HASH: ChunkHash = 'xxh128';
const MAX_WORKERS = 4;
/** Below this a worker's start-up (~20 ms) costs more than it saves. */
const PARALLEL_FROM_BYTES = 64 * CHUNK_BYTES;

/** Hashes one chunk at a time, reused from chunk to chunk. */
export interface ChunkHasher {
  init(): void;
  update(data: Uint8Array): void;
  /** The hex checksum of what was fed since init(). */
  digest(): string;
}

export async function chunkHasher(hash: ChunkHash): Promise<ChunkHasher> {
  if (hash === 'xxh128') {
    const h = await createXXHash128();
    return { init: () => void h.init(), update: (d) => void h.update(d), digest: () => h.digest('hex') };
  }
  let h = createHash('sha256');
  return { init: () => (h = createHash('sha256')), update: (d) => void h.update(d), digest: () => h.digest('hex') };
}

/**
 * Worker-thread JS (eval'd, so it needs no loader) defining `makeHasher()`, which resolves to a
 * function giving the hex checksum of a buffer; the worker's data holds hashWorkerData(hash).
 */
export const HASHER_SOURCE = `
async function makeHasher({ hash, hashModule }) {
  if (hash === 'sha256') {
    const { createHash } = require('node:crypto');
    return (bytes) => createHash('sha256').update(bytes).digest('hex');
  }
  const h = await require(hashModule).createXXHash128();
  return (bytes) => { h.init(); h.update(bytes); return h.digest('hex'); };
}
`;

/** hash-wasm's XXH3-128 alone, a small CommonJS file a worker can require by path. */
const XXH128_MODULE = createRequire(import.meta.url).resolve('hash-wasm/dist/xxhash128.umd.min.js');

/** What a worker using HASHER_SOURCE needs in its data. */
export function hashWorkerData(hash: ChunkHash): { hash: ChunkHash; hashModule: string } {
  return { hash, hashModule: XXH128_MODULE };
}

/** Hashes chunks [first, end) of a file; plain JS, run with `eval` so it needs no loader. */
const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const { openSync, readSync, closeSync } = require('node:fs');
${HASHER_SOURCE}
(async () => {
  const { path, first, end, chunk } = workerData;
  const hash = await makeHasher(workerData);
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
      sums.push(hash(buf.subarray(0, got)));
    }
  } finally { closeSync(fd); }
  parentPort.postMessage({ result: sums });
})();
`;

/** The checksum of each CHUNK_BYTES piece of `path` (the last one may be shorter). */
export async function chunkSums(
  path: string,
  hash: ChunkHash,
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
  if (bytes === 0) {
    const h = await chunkHasher(hash);
    h.init();
    return { sums: [h.digest()], bytes };
  }
  const chunks = Math.ceil(bytes / CHUNK_BYTES);
  const workers = bytes < PARALLEL_FROM_BYTES ? 1 : Math.min(MAX_WORKERS, availableParallelism());
  const per = Math.ceil(chunks / workers);
  const parts: ((signal: AbortSignal) => Promise<string[]>)[] = [];
  for (let first = 0; first < chunks; first += per) {
    const range = { path, first, end: Math.min(chunks, first + per), chunk: CHUNK_BYTES, ...hashWorkerData(hash) };
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
