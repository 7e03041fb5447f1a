// Writes a qcow2 (v3, 64 KiB clusters) front to back in one pass: the clusters to store are known
// before the first byte (from NBD block status), so all metadata — header, refcounts, L1, L2 —
// is laid out first and the data clusters follow in order. The file's bytes are hashed as they
// are written (chunk-sums' 4 MiB chunks), so a backup never re-reads what it wrote.
// Format: https://qemu-project.gitlab.io/qemu/interop/qcow2.html
import type { FileHandle } from 'node:fs/promises';
import { CHUNK_BYTES, type ChunkHasher } from './chunk-sums.js';

export const CLUSTER_BITS = 16;
export const CLUSTER_BYTES = 1 << CLUSTER_BITS;
const L2_ENTRIES = CLUSTER_BYTES / 8;
/** 16-bit refcounts: one refcount block covers this many clusters. */
const REFS_PER_BLOCK = CLUSTER_BYTES / 2;
const HEADER_BYTES = 104;
const EXT_BACKING_FORMAT = 0xe2792aca;
const COPIED = 1n << 63n;

/**
 * `count` consecutive guest clusters (CLUSTER_BYTES units) from cluster `guest` on: what a backup
 * stores is a list of these, ascending and disjoint, so that its size follows the number of runs
 * and not of clusters (a fully allocated 1 TiB disk is 16M clusters, one or a few runs).
 */
export interface ClusterRun {
  guest: number;
  count: number;
}

export interface Qcow2Plan {
  /** Everything before the first data cluster. */
  metadata: Buffer;
  /** Byte offset of the first data cluster (= metadata.length). */
  dataOffset: number;
  /** Data clusters stored, after the metadata. */
  dataClusters: number;
  /** Total file size once every data cluster is written. */
  fileBytes: number;
}

const ceilDiv = (a: number, b: number) => Math.ceil(a / b);

/**
 * The metadata of a qcow2 of `size` virtual bytes storing the guest clusters of `runs` (ascending,
 * disjoint) as data clusters in that order, backed by `backing` (a qcow2, path relative to the
 * file) when given. Unlisted clusters read from the backing file (or as zeros).
 */
export function planQcow2(size: number, runs: readonly ClusterRun[], backing?: string): Qcow2Plan {
  const l1Entries = Math.max(1, ceilDiv(size, CLUSTER_BYTES * L2_ENTRIES));
  const l1Clusters = ceilDiv(l1Entries * 8, CLUSTER_BYTES);
  const tableOf = (cluster: number) => Math.floor(cluster / L2_ENTRIES);
  // The data clusters and the L2 tables they need, counted run by run.
  let dataClusters = 0;
  let l2Tables = 0;
  let lastTable = -1;
  let end = 0;
  for (const r of runs) {
    if (!(r.count > 0 && r.guest >= end && r.guest + r.count <= ceilDiv(size, CLUSTER_BYTES)))
      throw new Error(`cluster run ${r.guest}+${r.count} is not ascending, disjoint and within ${size} bytes`);
    end = r.guest + r.count;
    dataClusters += r.count;
    // A run that starts in the table the one before ended in shares it.
    l2Tables += tableOf(end - 1) - Math.max(tableOf(r.guest), lastTable + 1) + 1;
    lastTable = tableOf(end - 1);
  }
  // Header, refcount table, refcount blocks, L1, L2s, data: refcounts cover themselves, so grow
  // the refcount structures until they cover every cluster.
  let refBlocks = 1;
  let refTableClusters = 1;
  let total: number;
  for (;;) {
    total = 1 + refTableClusters + refBlocks + l1Clusters + l2Tables + dataClusters;
    const needBlocks = ceilDiv(total, REFS_PER_BLOCK);
    const needTable = ceilDiv(needBlocks * 8, CLUSTER_BYTES);
    if (needBlocks <= refBlocks && needTable <= refTableClusters) break;
    refBlocks = Math.max(refBlocks, needBlocks);
    refTableClusters = Math.max(refTableClusters, needTable);
  }
  const refTableAt = 1;
  const refBlocksAt = refTableAt + refTableClusters;
  const l1At = refBlocksAt + refBlocks;
  const l2At = l1At + l1Clusters;
  const dataAt = l2At + l2Tables;
  const meta = Buffer.alloc(dataAt * CLUSTER_BYTES);

  // Header (big-endian), then the backing-format extension, the end marker and the backing name.
  meta.writeUInt32BE(0x514649fb, 0);
  meta.writeUInt32BE(3, 4);
  meta.writeUInt32BE(CLUSTER_BITS, 20);
  meta.writeBigUInt64BE(BigInt(size), 24);
  meta.writeUInt32BE(l1Entries, 36);
  meta.writeBigUInt64BE(BigInt(l1At * CLUSTER_BYTES), 40);
  meta.writeBigUInt64BE(BigInt(refTableAt * CLUSTER_BYTES), 48);
  meta.writeUInt32BE(refTableClusters, 56);
  meta.writeUInt32BE(4, 96); // refcount_order: 16-bit
  meta.writeUInt32BE(HEADER_BYTES, 100);
  let at = HEADER_BYTES;
  if (backing) {
    const format = Buffer.from('qcow2');
    meta.writeUInt32BE(EXT_BACKING_FORMAT, at);
    meta.writeUInt32BE(format.length, at + 4);
    format.copy(meta, at + 8);
    at += 8 + ceilDiv(format.length, 8) * 8;
  }
  at += 8; // end of extensions: type 0, length 0
  if (backing) {
    const name = Buffer.from(backing, 'utf8');
    if (at + name.length > CLUSTER_BYTES) throw new Error(`backing file name too long: ${backing}`);
    meta.writeBigUInt64BE(BigInt(at), 8);
    meta.writeUInt32BE(name.length, 16);
    name.copy(meta, at);
  }

  for (let b = 0; b < refBlocks; b++) {
    meta.writeBigUInt64BE(BigInt((refBlocksAt + b) * CLUSTER_BYTES), refTableAt * CLUSTER_BYTES + b * 8);
  }
  for (let c = 0; c < total; c++) meta.writeUInt16BE(1, refBlocksAt * CLUSTER_BYTES + c * 2);
  // The L2 tables in guest order, each entered in L1 when the runs first reach it; the data
  // clusters in the order of the runs.
  let table = -1;
  let l2 = l2At - 1;
  let data = dataAt;
  for (const r of runs) {
    for (let c = r.guest; c < r.guest + r.count; c++, data++) {
      if (tableOf(c) !== table) {
        table = tableOf(c);
        l2++;
        meta.writeBigUInt64BE(BigInt(l2 * CLUSTER_BYTES) | COPIED, l1At * CLUSTER_BYTES + table * 8);
      }
      meta.writeBigUInt64BE(BigInt(data * CLUSTER_BYTES) | COPIED, l2 * CLUSTER_BYTES + (c % L2_ENTRIES) * 8);
    }
  }
  return { metadata: meta, dataOffset: meta.length, dataClusters, fileBytes: total * CLUSTER_BYTES };
}

/** Where a file's bytes go, in order: a local file (fileSink) or a stream to another host's agent. */
export interface ByteSink {
  append(buf: Buffer): Promise<void>;
}

/** Appends to a file opened for writing, from its start. */
export function fileSink(fh: FileHandle): ByteSink {
  let position = 0;
  return {
    async append(buf) {
      for (let at = 0; at < buf.length;) {
        const { bytesWritten } = await fh.write(buf, at, buf.length - at, position);
        at += bytesWritten;
        position += bytesWritten;
      }
    },
  };
}

/** Appends to a sink in order and keeps the checksum of each CHUNK_BYTES piece of what passed. */
export class HashingWriter {
  readonly sums: string[] = [];
  private inChunk = 0;
  private position = 0;

  /** `hash` (chunk-sums.ts chunkHasher) is this writer's from here on. */
  constructor(
    private readonly sink: ByteSink,
    private readonly hash: ChunkHasher,
  ) {
    hash.init();
  }

  get bytes(): number {
    return this.position;
  }

  async write(buf: Buffer): Promise<void> {
    for (let at = 0; at < buf.length;) {
      const k = Math.min(buf.length - at, CHUNK_BYTES - this.inChunk);
      this.hash.update(buf.subarray(at, at + k));
      this.inChunk += k;
      at += k;
      if (this.inChunk === CHUNK_BYTES) {
        this.sums.push(this.hash.digest());
        this.hash.init();
        this.inChunk = 0;
      }
    }
    await this.sink.append(buf);
    this.position += buf.length;
  }

  /** The sums, the last (shorter) chunk included; an empty file has the sum of no bytes. */
  finish(): string[] {
    if (this.inChunk > 0 || this.sums.length === 0) this.sums.push(this.hash.digest());
    return this.sums;
  }
}
