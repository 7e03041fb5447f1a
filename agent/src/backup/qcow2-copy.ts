// Copies a mapped qcow2 (qcow2-map.ts) into a new qcow2 laid out by planQcow2, in one pass and
// in parallel: once planned, the output's 4 MiB chunks are independent, so each worker thread
// builds its range of them (metadata, then data clusters read from the source with one pread per
// host-contiguous run), hashes each for the manifest and writes it in place. A full backup so reads
// its data once and never re-reads what it wrote, and the hashing (chunk-sums.ts) is spread over
// the cores; qemu-img then a checksum pass read the data twice (#24's throughput). The output is
// flushed behind the copy (flushBehind), not all at the end.
import { open } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { flushBehind } from '../storage/flush-behind.js';
import { CHUNK_BYTES, CHUNK_HASH, HASHER_SOURCE, hashWorkerData } from './chunk-sums.js';
import type { MappedRun, Qcow2Map } from './qcow2-map.js';
import { CLUSTER_BYTES, planQcow2 } from './qcow2-writer.js';
import { runWorker, TaskGroup } from './workers.js';

const MAX_WORKERS = 4;
/** Below this one worker does it all: a worker's start-up (~20 ms) costs more than it saves. */
const PARALLEL_FROM_CHUNKS = 64;
/** Chunks between two progress messages of a worker. */
const PROGRESS_EVERY = 16;

/**
 * Builds, hashes and writes output chunks [first, end). `meta` is the plan's metadata from byte
 * `first * chunk` on; `spans` are where the range's data clusters are in the source, in order
 * (sourceSpans); the data cluster `tailIndex` holds only `tailBytes` of the disk (the rest is
 * zeros). Plain JS, run with `eval` so it needs no loader.
 */
const WORKER_SOURCE = `
const { workerData: w, parentPort } = require('node:worker_threads');
const { openSync, readSync, writeSync, closeSync } = require('node:fs');
${HASHER_SOURCE}
(async () => {
  const hash = await makeHasher(w);
  const src = openSync(w.src, 'r');
  const dst = openSync(w.dst, 'r+');
  const buf = Buffer.allocUnsafe(w.chunk);
  const meta = Buffer.from(w.meta.buffer, w.meta.byteOffset, w.meta.byteLength);
  const sums = [];
  const readFully = (into, at, length, position) => {
    let got = 0;
    while (got < length) {
      const n = readSync(src, into, at + got, length - got, position + got);
      if (n === 0) break;
      got += n;
    }
    into.fill(0, at + got, at + length);
  };
  // The span the next data cluster is in, and how many of its clusters are already read.
  let span = 0;
  let used = 0;
  try {
    for (let i = w.first; i < w.end; i++) {
      const start = i * w.chunk;
      const length = Math.min(w.chunk, w.fileBytes - start);
      let at = 0;
      if (start < w.dataOffset) {
        at = Math.min(length, w.dataOffset - start);
        meta.copy(buf, 0, start - w.first * w.chunk, start - w.first * w.chunk + at);
      }
      while (at < length) {
        const k = (start + at - w.dataOffset) / w.cluster;
        const { host, count } = w.spans[span];
        const run = Math.min(count - used, (length - at) / w.cluster);
        readFully(buf, at, run * w.cluster, host + used * w.cluster);
        if (k <= w.tailIndex && w.tailIndex < k + run) {
          buf.fill(0, at + (w.tailIndex - k) * w.cluster + w.tailBytes, at + (w.tailIndex - k + 1) * w.cluster);
        }
        used += run;
        if (used === count) {
          span++;
          used = 0;
        }
        at += run * w.cluster;
      }
      sums.push(hash(buf.subarray(0, length)));
      for (let put = 0; put < length; ) put += writeSync(dst, buf, put, length - put, start + put);
      if ((i - w.first + 1) % ${PROGRESS_EVERY} === 0) parentPort.postMessage({ done: ${PROGRESS_EVERY} });
    }
  } finally {
    closeSync(src);
    closeSync(dst);
  }
  parentPort.postMessage({ result: sums });
})();
`;

/** Where a worker's data clusters lie in the source, in the order they are written. */
type Span = Pick<MappedRun, 'host' | 'count'>;

/**
 * Where output data clusters [k0, k1) are in the source, for the worker writing them: the map's
 * runs cut to that range, those that follow each other in the file joined (one read even where
 * the guest skips clusters).
 */
function sourceSpans(runs: readonly MappedRun[], k0: number, k1: number): Span[] {
  const spans: Span[] = [];
  let k = 0;
  for (const r of runs) {
    const lo = Math.max(k, k0);
    const hi = Math.min(k + r.count, k1);
    if (lo < hi) {
      const host = r.host + (lo - k) * CLUSTER_BYTES;
      const last = spans.at(-1);
      if (last && last.host + last.count * CLUSTER_BYTES === host) last.count += hi - lo;
      else spans.push({ host, count: hi - lo });
    }
    k += r.count;
    if (k >= k1) break;
  }
  return spans;
}

export interface CopiedQcow2 {
  /** The CHUNK_HASH checksum of each CHUNK_BYTES chunk of the written file. */
  sums: string[];
  bytes: number;
}

/**
 * Writes `out` (an existing empty file) as a qcow2 holding the data clusters of `src` as `map`
 * places them, durable once this resolves. Progress as the fraction of chunks written.
 */
export async function copyQcow2(
  src: string,
  map: Qcow2Map,
  out: string,
  signal: AbortSignal,
  onProgress: (fraction: number) => void,
): Promise<CopiedQcow2> {
  signal.throwIfAborted();
  const plan = planQcow2(map.virtualSize, map.runs);
  const chunks = Math.ceil(plan.fileBytes / CHUNK_BYTES);
  // The last data cluster is the disk's last if that one is stored: it may hold less than a cluster.
  const lastRun = map.runs.at(-1);
  const tailBytes = lastRun ? map.virtualSize - (lastRun.guest + lastRun.count - 1) * CLUSTER_BYTES : CLUSTER_BYTES;
  const workers = chunks < PARALLEL_FROM_CHUNKS ? 1 : Math.min(MAX_WORKERS, availableParallelism());
  const per = Math.ceil(chunks / workers);
  let done = 0;
  const fh = await open(out, 'r+');
  try {
    // Every worker stopped before a failure is reported: the caller then removes the file.
    const group = new TaskGroup<string[]>(signal);
    const writeback = flushBehind(fh, (err) => group.fail(err));
    for (let first = 0; first < chunks; first += per) {
      const end = Math.min(chunks, first + per);
      // The data clusters this range holds, and the metadata it starts with.
      const k0 = Math.max(0, Math.floor((first * CHUNK_BYTES - plan.dataOffset) / CLUSTER_BYTES));
      const k1 = Math.max(0, Math.ceil((end * CHUNK_BYTES - plan.dataOffset) / CLUSTER_BYTES));
      const meta = plan.metadata.subarray(Math.min(first * CHUNK_BYTES, plan.dataOffset), plan.dataOffset);
      group.add(
        runWorker<string[]>(
          WORKER_SOURCE,
          {
            src,
            dst: out,
            first,
            end,
            chunk: CHUNK_BYTES,
            cluster: CLUSTER_BYTES,
            fileBytes: plan.fileBytes,
            dataOffset: plan.dataOffset,
            meta: new Uint8Array(meta),
            spans: sourceSpans(map.runs, k0, k1),
            tailIndex: tailBytes < CLUSTER_BYTES ? plan.dataClusters - 1 : -1,
            tailBytes,
            ...hashWorkerData(CHUNK_HASH),
          },
          group.signal,
          (n) => {
            onProgress((done += n) / chunks);
            writeback.kick();
          },
        ),
      );
    }
    const sums = await writeback.stopAfter(group.settled());
    const { size } = await fh.stat();
    if (size !== plan.fileBytes) throw new Error(`${out}: wrote ${size} bytes, planned ${plan.fileBytes}`);
    await fh.datasync();
    onProgress(1);
    return { sums: sums.flat(), bytes: plan.fileBytes };
  } finally {
    await fh.close();
  }
}
