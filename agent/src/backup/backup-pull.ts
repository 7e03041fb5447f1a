// Copies one disk of a pull-mode backup export into the backup's qcow2 in a single pass: block
// status first (what is allocated for a full backup, what is dirty since the checkpoint for an
// incremental), then the qcow2's metadata, then the clusters read over NBD with several requests
// in flight and written in order, each 4 MiB of the file hashed on the way for the manifest.
import { chown, mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { qemuOwner } from '../migration/migration-paths.js';
import { NbdClient, STATE_DIRTY, STATE_ZERO, type Extent } from './nbd-client.js';
import { chunkHasher, CHUNK_HASH } from './chunk-sums.js';
import { CLUSTER_BYTES, fileSink, HashingWriter, planQcow2, type ByteSink, type ClusterRun } from './qcow2-writer.js';

/** Where pull backups' NBD sockets live: one private directory per backup, owned by QEMU's user. */
export const BACKUP_SOCKET_ROOT = '/run/quantix/backup';
/** Guest clusters per NBD read (4 MiB). */
const RUN_CLUSTERS = 64;
/** NBD reads in flight per disk. */
const IN_FLIGHT = 8;

export async function makeBackupSocketDir(id: string): Promise<string> {
  const dir = join(BACKUP_SOCKET_ROOT, id);
  await mkdir(BACKUP_SOCKET_ROOT, { recursive: true, mode: 0o755 });
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { mode: 0o700 });
  const { uid, gid } = await qemuOwner();
  await chown(dir, uid, gid);
  return dir;
}

export interface PulledDisk {
  capacityBytes: number;
  storedBytes: number;
  /** The CHUNK_HASH checksum of each chunk of the file written. */
  sums: string[];
}

export interface PullOptions {
  socket: string;
  exportName: string;
  /** The exported dirty bitmap: only its dirty clusters are copied (an incremental). */
  bitmap?: string;
  /** The qcow2 file to create (must not exist), or where its bytes go (another host's agent). */
  file: string | DiskOut;
  /** Backing file of an incremental, relative to `file`. */
  backing?: string;
  signal: AbortSignal;
  /** Called with this disk's fraction done, 0..1. */
  onProgress: (fraction: number) => void;
}

/** A qcow2 written elsewhere than a local file: its bytes in order, then made durable. */
export interface DiskOut {
  /** Names it in errors. */
  label: string;
  sink: ByteSink;
  /** After the last byte: durable (fsync) and closed. */
  finish(): Promise<void>;
  /** Releases it (after finish, or on failure). */
  close(): Promise<void>;
}

/** A new local file as a DiskOut. */
async function openFileOut(file: string): Promise<DiskOut> {
  const fh = await open(file, 'wx', 0o644);
  return { label: file, sink: fileSink(fh), finish: () => fh.sync(), close: () => fh.close() };
}

/** The guest clusters the extents `keep` selects cover, as runs (ascending, disjoint, merged when adjacent). */
export function runsOf(extents: readonly Extent[], keep: (flags: number) => boolean): ClusterRun[] {
  const runs: ClusterRun[] = [];
  for (const e of extents) {
    if (!keep(e.flags) || e.length <= 0) continue;
    const first = Math.floor(e.offset / CLUSTER_BYTES);
    const end = Math.floor((e.offset + e.length - 1) / CLUSTER_BYTES) + 1;
    // Extents come in order; two that are not cluster-aligned may share a cluster.
    const last = runs.at(-1);
    if (last && first <= last.guest + last.count) last.count = Math.max(last.count, end - last.guest);
    else runs.push({ guest: first, count: end - first });
  }
  return runs;
}

/** The reads that copy `runs`: [first cluster, count], consecutive clusters, at most RUN_CLUSTERS each. */
function* readsOf(runs: readonly ClusterRun[]): Generator<[number, number]> {
  let first = 0;
  let count = 0;
  for (const r of runs) {
    for (let c = r.guest; c < r.guest + r.count;) {
      // A read goes on across runs that meet (a mapped disk's runs break where its file does).
      if (count > 0 && (first + count !== c || count === RUN_CLUSTERS)) {
        yield [first, count];
        count = 0;
      }
      if (count === 0) first = c;
      const n = Math.min(RUN_CLUSTERS - count, r.guest + r.count - c);
      count += n;
      c += n;
    }
  }
  if (count > 0) yield [first, count];
}

export async function pullDisk(o: PullOptions): Promise<PulledDisk> {
  const context = o.bitmap ? `qemu:dirty-bitmap:${o.bitmap}` : 'base:allocation';
  const nbd = await NbdClient.connect(o.socket, o.exportName, [context]);
  try {
    const size = nbd.size;
    const extents = await nbd.blockStatus(context, 0, size);
    // A full backup skips what reads as zeros; an incremental copies what is dirty.
    const runs = runsOf(extents, o.bitmap ? (f) => (f & STATE_DIRTY) !== 0 : (f) => (f & STATE_ZERO) === 0);
    return await copyClusters({ ...o, size, runs, read: (offset, length, buf) => nbd.read(offset, length, buf) });
  } finally {
    nbd.close();
  }
}

/** What copyClusters copies: the clusters of `runs` of a disk of `size` bytes, read by `read`. */
export interface ClusterCopy extends Pick<PullOptions, 'file' | 'backing' | 'signal' | 'onProgress'> {
  size: number;
  /** The guest clusters to store, ascending and disjoint. */
  runs: readonly ClusterRun[];
  /** The guest bytes [offset, offset + length) into `buf`'s start; resolves to them. */
  read(offset: number, length: number, buf: Buffer): Promise<Buffer>;
}

/**
 * The qcow2 of `runs` (planQcow2), its metadata then their clusters read with several reads in
 * flight and written in order, each 4 MiB of the file hashed on the way.
 */
export async function copyClusters(o: ClusterCopy): Promise<PulledDisk> {
  const { size } = o;
  const plan = planQcow2(size, o.runs, o.backing);
  const dest = typeof o.file === 'string' ? await openFileOut(o.file) : o.file;
  try {
    const out = new HashingWriter(dest.sink, await chunkHasher(CHUNK_HASH));
    await out.write(plan.metadata);
    const reads = readsOf(o.runs);
    // Reused read buffers: one per read in flight and the one being written.
    const free: Buffer[] = Array.from({ length: IN_FLIGHT + 1 }, () =>
      Buffer.allocUnsafe(RUN_CLUSTERS * CLUSTER_BYTES),
    );
    const read = ([first, count]: [number, number]) => {
      const offset = first * CLUSTER_BYTES;
      const buf = free.pop()!;
      const data = o.read(offset, Math.min(count * CLUSTER_BYTES, size - offset), buf);
      // Reads still queued when a cancel stops the loop fail with the connection: not unhandled.
      data.catch(() => undefined);
      return { data, buf };
    };
    const queue: { data: Promise<Buffer>; buf: Buffer }[] = [];
    const readNext = () => {
      const next = reads.next();
      if (!next.done) queue.push(read(next.value));
    };
    let done = 0;
    for (let i = 0; i < IN_FLIGHT; i++) readNext();
    while (queue.length) {
      o.signal.throwIfAborted();
      const head = queue.shift()!;
      const data = await head.data;
      readNext();
      await out.write(data);
      free.push(head.buf);
      // The last cluster of a disk whose size is not a cluster multiple is stored whole.
      const tail = data.length % CLUSTER_BYTES;
      if (tail) await out.write(Buffer.alloc(CLUSTER_BYTES - tail));
      done += Math.ceil(data.length / CLUSTER_BYTES);
      o.onProgress(done / plan.dataClusters);
    }
    await dest.finish();
    if (out.bytes !== plan.fileBytes)
      throw new Error(`${dest.label}: wrote ${out.bytes} bytes, planned ${plan.fileBytes}`);
    return { capacityBytes: size, storedBytes: out.bytes, sums: out.finish() };
  } finally {
    await dest.close();
  }
}
