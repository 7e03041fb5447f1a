// Where each 64 KiB guest cluster of a qcow2 file lies in that file, read from its header, L1 and
// L2 tables, so that a backup can copy the data itself (qcow2-copy.ts) instead of through
// qemu-img and a second pass for its checksums. Only the plain case is mapped: no backing file,
// no compressed clusters, no encryption, external data file or extended L2 entries, clusters of
// 64 KiB or more; anything else is reported unsupported and copied by qemu-img as before. A VM's
// disk may have started as an uploaded image: every offset is checked against the file's size,
// and the work and the map are bounded by it, whatever the tables say.
// Format: https://qemu-project.gitlab.io/qemu/interop/qcow2.html
import { open, type FileHandle } from 'node:fs/promises';
import { CLUSTER_BITS, CLUSTER_BYTES, type ClusterRun } from './qcow2-writer.js';

const MAGIC = 0x514649fb;
/** Bits 9–55 of an L1 or L2 entry: the host offset. */
const OFFSET_MASK = 0x00fffffffffffe00n;
const COMPRESSED = 1n << 62n;
const ALL_ZEROES = 1n;
/** Incompatible features tolerated: dirty (refcounts only, lazy_refcounts) and the compression type (compressed clusters are refused anyway). */
const TOLERATED_INCOMPATIBLE = 0b1001n;
/** QEMU's own bound on an L1 table (QCOW_MAX_L1_SIZE, 32 MiB of entries). */
const MAX_L1_ENTRIES = (32 << 20) / 8;
/** 64 TiB: more than any disk the vDC makes; a larger one is left to qemu-img. */
const MAX_VIRTUAL_SIZE = 2 ** 46;
/**
 * Runs beyond which a disk is left to qemu-img: a run is a JS object (74 bytes measured), and a
 * disk whose clusters were allocated in random order has one per cluster (a 1 TiB one 16M, 1.2 GB);
 * this many is 74 MiB, a fully fragmented 64 GiB disk.
 */
export const MAX_MAP_RUNS = 1 << 20;

/** Guest clusters that also lie one after the other in the file, the first at byte `host`. */
export interface MappedRun extends ClusterRun {
  host: number;
}

/** A qcow2's data clusters, in guest order: each run as long as both guest and file continue it. */
export interface Qcow2Map {
  virtualSize: number;
  runs: MappedRun[];
}

export type Qcow2MapResult = { map: Qcow2Map } | { unsupported: string };

/** The map of `path`, or why it cannot be mapped (then qemu-img copies it). */
export async function readQcow2Map(path: string, maxRuns = MAX_MAP_RUNS): Promise<Qcow2MapResult> {
  const fh = await open(path, 'r');
  try {
    const fileSize = (await fh.stat()).size;
    const read = async (offset: number, length: number): Promise<Buffer> => {
      if (offset + length > fileSize) throw new Error(`${path}: metadata at ${offset} lies past the end of the file`);
      const buf = Buffer.allocUnsafe(length);
      const { bytesRead } = await fh.read(buf, 0, length, offset);
      if (bytesRead !== length) throw new Error(`${path}: short read at ${offset}`);
      return buf;
    };
    const h = await read(0, 104);
    if (h.readUInt32BE(0) !== MAGIC) throw new Error(`${path} is not a qcow2 file`);
    const version = h.readUInt32BE(4);
    if (version !== 2 && version !== 3) return { unsupported: `qcow2 version ${version}` };
    if (h.readBigUInt64BE(8) !== 0n) return { unsupported: 'it has a backing file' };
    const clusterBits = h.readUInt32BE(20);
    if (clusterBits < CLUSTER_BITS || clusterBits > 21) return { unsupported: `cluster size 2^${clusterBits}` };
    const virtualSize = Number(h.readBigUInt64BE(24));
    if (virtualSize > MAX_VIRTUAL_SIZE) return { unsupported: `a virtual size of ${virtualSize} bytes` };
    if (h.readUInt32BE(32) !== 0) return { unsupported: 'it is encrypted' };
    const l1Size = h.readUInt32BE(36);
    const l1Offset = Number(h.readBigUInt64BE(40));
    if (version === 3 && (h.readBigUInt64BE(72) & ~TOLERATED_INCOMPATIBLE) !== 0n)
      return { unsupported: `incompatible features 0x${h.readBigUInt64BE(72).toString(16)}` };

    const sourceCluster = 2 ** clusterBits;
    const l2Entries = sourceCluster / 8;
    const needL1 = Math.ceil(virtualSize / (sourceCluster * l2Entries));
    if (!Number.isSafeInteger(virtualSize) || l1Size < needL1 || l1Size > MAX_L1_ENTRIES)
      throw new Error(`${path}: ${l1Size} L1 entries do not fit a disk of ${virtualSize} bytes`);
    // A file crafted to point many entries at the same clusters could make the map (and the work)
    // far larger than the file: QEMU never shares a cluster within one view, so neither may we.
    let budget = Math.ceil(fileSize / sourceCluster);
    const hostOffset = (entry: bigint, what: string): number => {
      if (--budget < 0) throw new Error(`${path} maps more clusters than the file holds`);
      const at = Number(entry & OFFSET_MASK);
      if (at === 0 || at % sourceCluster !== 0 || at >= fileSize)
        throw new Error(`${path}: ${what} at ${at} is not a cluster of the file`);
      return at;
    };

    const l1 = await read(l1Offset, needL1 * 8);
    const runs: MappedRun[] = [];
    const piecesPerCluster = sourceCluster / CLUSTER_BYTES;
    const guestClusters = Math.ceil(virtualSize / CLUSTER_BYTES);
    for (let i = 0; i < needL1; i++) {
      const l1Entry = l1.readBigUInt64BE(i * 8);
      if ((l1Entry & OFFSET_MASK) === 0n) continue;
      const l2 = await read(hostOffset(l1Entry, 'an L2 table'), sourceCluster);
      for (let j = 0; j < l2Entries; j++) {
        const entry = l2.readBigUInt64BE(j * 8);
        if (entry & COMPRESSED) return { unsupported: 'it has compressed clusters' };
        if ((entry & OFFSET_MASK) === 0n || (version === 3 && entry & ALL_ZEROES)) continue;
        const at = hostOffset(entry, 'a data cluster');
        const guest = (i * l2Entries + j) * piecesPerCluster;
        // A source cluster of more than CLUSTER_BYTES is several, up to the end of the disk.
        const count = Math.min(piecesPerCluster, guestClusters - guest);
        if (count <= 0) continue;
        // The map grows by run, not by cluster: a contiguous disk is one run, whatever its size.
        const last = runs.at(-1);
        if (last && last.guest + last.count === guest && last.host + last.count * CLUSTER_BYTES === at)
          last.count += count;
        else if (runs.length === maxRuns) return { unsupported: `it is fragmented into more than ${maxRuns} runs` };
        else runs.push({ guest, host: at, count });
      }
    }
    return { map: { virtualSize, runs } };
  } finally {
    await fh.close();
  }
}

/**
 * Reads guest bytes of a mapped qcow2 for copyClusters (backup-pull.ts): each read covers
 * consecutive mapped clusters, and reads are asked for in guest order (several may be in flight),
 * so a cursor into `map.runs` finds where each read's pieces lie in the file.
 */
export function mappedReader(fh: FileHandle, map: Qcow2Map) {
  const { runs } = map;
  let cursor = 0;
  return async (offset: number, length: number, buf: Buffer): Promise<Buffer> => {
    const first = offset / CLUSTER_BYTES;
    while (cursor < runs.length && runs[cursor]!.guest + runs[cursor]!.count <= first) cursor++;
    // The pieces (one per run the read spans) are found before the first await: the next read
    // may be asked for meanwhile, and takes the cursor from here.
    const pieces: { into: number; host: number; bytes: number }[] = [];
    for (let into = 0, c = first; into < length;) {
      const run = runs[cursor];
      if (!run || run.guest > c) throw new Error(`guest bytes ${offset}+${length} are not a run of mapped clusters`);
      const bytes = Math.min((run.guest + run.count - c) * CLUSTER_BYTES, length - into);
      pieces.push({ into, host: run.host + (c - run.guest) * CLUSTER_BYTES, bytes });
      into += bytes;
      c += bytes / CLUSTER_BYTES;
      if (c === run.guest + run.count) cursor++;
    }
    for (const { into, host, bytes } of pieces) {
      let got = 0;
      while (got < bytes) {
        const { bytesRead } = await fh.read(buf, into + got, bytes - got, host + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      // A cluster the file ends in the middle of reads as zeros past the end, as QEMU reads it.
      buf.fill(0, into + got, into + bytes);
    }
    return buf.subarray(0, length);
  };
}
