// The agent's own copy of a frozen qcow2 (qcow2-map.ts, qcow2-copy.ts), without a VM: qcow2 files
// made by qemu-img and written by qemu-io (data, zeroed and discarded clusters, a partial last
// cluster, several L2 tables, 2 MiB clusters, enough data for several workers) must copy to a
// qcow2 that qemu-img check accepts, that reads as the source does (qemu-img compare), that stores
// no zero or unallocated cluster, and whose sums are the file's. What cannot be mapped is named
// (then qemu-img copies it), a damaged table is refused, and a cancel stops the workers. The map
// is runs of clusters contiguous in both the disk and the file, as qemu-img map reports them: a
// large fully allocated disk is a few runs, not a list of its clusters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, open, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../exec/run.js';
import { chunkSums, CHUNK_HASH } from './chunk-sums.js';
import { copyQcow2 } from './qcow2-copy.js';
import { copyClusters } from './backup-pull.js';
import { mappedReader, readQcow2Map, type Qcow2Map } from './qcow2-map.js';
import { CLUSTER_BYTES, planQcow2 } from './qcow2-writer.js';

const MIB = 2 ** 20;

const qemuIo = (file: string, ...cmds: string[]) =>
  run('qemu-io', ['-f', 'qcow2', ...cmds.flatMap((c) => ['-c', c]), file]);

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'qx-qcow2-copy-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function mapOf(file: string): Promise<Qcow2Map> {
  const r = await readQcow2Map(file);
  if (!('map' in r)) throw new Error(`${file} unsupported: ${r.unsupported}`);
  return r.map;
}

/** The clusters a map stores. */
const storedClusters = (map: Qcow2Map) => map.runs.reduce((n, r) => n + r.count, 0);

type ByteRun = [guest: number, bytes: number, host: number];

/** The byte ranges of a map's runs, the last cut at the disk's end. */
const byteRuns = (map: Qcow2Map): ByteRun[] =>
  map.runs.map((r) => [
    r.guest * CLUSTER_BYTES,
    Math.min(r.count * CLUSTER_BYTES, map.virtualSize - r.guest * CLUSTER_BYTES),
    r.host,
  ]);

/** The same from qemu-img map: its data ranges, those contiguous in both the disk and the file joined. */
async function qemuByteRuns(file: string): Promise<ByteRun[]> {
  const entries = JSON.parse((await run('qemu-img', ['map', '--output=json', '-f', 'qcow2', file])).stdout) as {
    start: number;
    length: number;
    data: boolean;
    offset: number;
  }[];
  const runs: ByteRun[] = [];
  for (const { start, length, data, offset } of entries) {
    if (!data) continue;
    const last = runs.at(-1);
    if (last && last[0] + last[1] === start && last[2] + last[1] === offset) last[1] += length;
    else runs.push([start, length, offset]);
  }
  return runs;
}

/** Reads the L1 table of a qcow2 file, lets `edit` change it in place, and writes it back. */
async function rewriteL1(file: string, edit: (l1: Buffer, fileSize: number) => void): Promise<void> {
  const fh = await open(file, 'r+');
  try {
    const header = Buffer.alloc(48);
    await fh.read(header, 0, 48, 0);
    const l1 = Buffer.alloc(header.readUInt32BE(36) * 8);
    const l1At = Number(header.readBigUInt64BE(40));
    await fh.read(l1, 0, l1.length, l1At);
    edit(l1, (await fh.stat()).size);
    await fh.write(l1, 0, l1.length, l1At);
  } finally {
    await fh.close();
  }
}

/** Copies `src`, checks the copy against it, and returns the map and the copy's size. */
async function copyAndCheck(dir: string, src: string): Promise<{ map: Qcow2Map; bytes: number }> {
  const map = await mapOf(src);
  assert.deepEqual(byteRuns(map), await qemuByteRuns(src), 'the map is what QEMU reads as data, where it reads it');
  const out = join(dir, 'copy.qcow2');
  await rm(out, { force: true });
  await writeFile(out, '', { flag: 'wx' });
  const fractions: number[] = [];
  const copied = await copyQcow2(src, map, out, new AbortController().signal, (f) => fractions.push(f));
  await run('qemu-img', ['check', '-f', 'qcow2', out]);
  await run('qemu-img', ['compare', '-f', 'qcow2', '-F', 'qcow2', src, out]);
  const info = JSON.parse((await run('qemu-img', ['info', '--output=json', out])).stdout) as { 'virtual-size': number };
  assert.equal(info['virtual-size'], map.virtualSize);
  const onDisk = await chunkSums(out, CHUNK_HASH);
  assert.deepEqual(copied.sums, onDisk.sums, 'the sums are those of the written file');
  assert.equal(copied.bytes, onDisk.bytes);
  assert.equal(fractions.at(-1), 1);
  // Streamed to another host the same disk makes the same file (mappedReader into copyClusters).
  const streamed = join(dir, 'streamed.qcow2');
  await rm(streamed, { force: true });
  const fh = await open(src, 'r');
  try {
    const read = mappedReader(fh, map);
    const sent = await copyClusters({
      size: map.virtualSize,
      runs: map.runs,
      read,
      file: streamed,
      signal: new AbortController().signal,
      onProgress: () => undefined,
    });
    assert.deepEqual(sent.sums, copied.sums, 'the streamed copy is byte for byte the local one');
  } finally {
    await fh.close();
  }
  return { map, bytes: copied.bytes };
}

test('a qcow2 with data, zeroed, discarded and unallocated clusters copies to the same disk', async () => {
  await withDir(async (dir) => {
    const src = join(dir, 'src.qcow2');
    // 1.5 GiB + 3 sectors: three L2 tables, the last cluster partial.
    const size = 1536 * MIB + 3 * 512;
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', src, String(size)]);
    await qemuIo(
      src,
      'write -P 0x11 0 3M',
      'write -P 0x22 1M 64k',
      'write -z 2M 128k',
      'write -P 0x33 600M 5M',
      'discard 601M 1M',
      'write -P 0x44 1100M 100k',
      // The partial last cluster, through its very last byte.
      `write -P 0x55 ${size - 512} 512`,
    );
    const { map, bytes } = await copyAndCheck(dir, src);
    // 3M less the 128k zeroed, 4M of the 5M, 100k rounded up to two clusters, the last cluster.
    const expected = (3 * MIB - 128 * 1024 + 4 * MIB) / CLUSTER_BYTES + 2 + 1;
    assert.equal(storedClusters(map), expected, 'only data clusters are stored');
    assert.ok(bytes < 16 * MIB, `the copy stores ${bytes} bytes`);

    // Preallocated metadata: a zeroed cluster keeps its place in the file (offset and zero flag),
    // where the old bytes still lie; it reads as zeros and is not stored.
    const pre = join(dir, 'pre.qcow2');
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', 'preallocation=metadata', pre, '4M']);
    await qemuIo(pre, 'write -P 0x11 0 1M', 'write -z 512k 128k');
    const preallocated = await copyAndCheck(dir, pre);
    assert.equal(storedClusters(preallocated.map), (4 * MIB) / CLUSTER_BYTES - 2);

    // Clusters written out of order: guest clusters 0 and 1 lie apart in the file (a streamed read
    // spans two runs), 10 and 12 side by side (the copy reads them at once).
    const shuffled = join(dir, 'shuffled.qcow2');
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', shuffled, '4M']);
    await qemuIo(
      shuffled,
      'write -P 0x61 64k 64k',
      'write -P 0x62 0 64k',
      'write -P 0x63 640k 64k',
      'write -P 0x64 768k 64k',
    );
    const { map: out } = await copyAndCheck(dir, shuffled);
    assert.deepEqual(
      out.runs.map((r) => [r.guest, r.count]),
      [
        [0, 1],
        [1, 1],
        [10, 1],
        [12, 1],
      ],
    );
    // More runs than the map may hold (a fragmented disk): left to qemu-img, the map not built.
    assert.deepEqual(await readQcow2Map(shuffled, 3), { unsupported: 'it is fragmented into more than 3 runs' });
  });
});

test('a disk with enough data for several workers and one with 2 MiB clusters copy alike', async () => {
  await withDir(async (dir) => {
    // Random bytes (not a pattern): a chunk placed at the wrong offset cannot compare equal.
    const random = join(dir, 'random.raw');
    await run('dd', ['if=/dev/urandom', `of=${random}`, 'bs=1M', 'count=300', 'status=none']);
    const big = join(dir, 'big.qcow2');
    await run('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', random, big]);
    await run('qemu-img', ['resize', '-q', '-f', 'qcow2', big, String(2048 * MIB)]);
    await qemuIo(big, 'write -P 0x66 1900M 1M');
    const { map } = await copyAndCheck(dir, big);
    assert.ok(storedClusters(map) > 64 * 64, 'more than 64 chunks of data: the copy ran in parallel');

    const wide = join(dir, 'wide.qcow2');
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', 'cluster_size=2M', wide, String(64 * MIB + 4096)]);
    await qemuIo(wide, 'write -P 0x77 1M 1M', 'write -P 0x78 40M 3M', `write -P 0x79 ${64 * MIB} 4096`);
    await copyAndCheck(dir, wide);
  });
});

test('a large fully allocated disk maps to a run per L2 table, and one planned as one run maps back to it', async () => {
  await withDir(async (dir) => {
    // 64 GiB, every cluster allocated (metadata preallocation): a sparse file, ~10 MiB of tables.
    const size = 64 * 2 ** 30;
    const clusters = size / CLUSTER_BYTES;
    const pre = join(dir, 'pre.qcow2');
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', 'preallocation=metadata', pre, String(size)]);
    const map = await mapOf(pre);
    assert.equal(storedClusters(map), clusters);
    // QEMU places each L2 table just before the 512 MiB of data it maps: 128 runs, not 1M clusters.
    assert.ok(map.runs.length <= size / (512 * MIB), `${map.runs.length} runs`);
    assert.deepEqual(byteRuns(map), await qemuByteRuns(pre));

    // Planned from one run, a qcow2 stores its data after all its tables: it maps to that one run.
    const plan = planQcow2(size, [{ guest: 0, count: clusters }]);
    assert.equal(plan.dataClusters, clusters);
    const planned = join(dir, 'planned.qcow2');
    const fh = await open(planned, 'wx');
    try {
      await fh.write(plan.metadata, 0, plan.metadata.length, 0);
      await fh.truncate(plan.fileBytes);
    } finally {
      await fh.close();
    }
    await run('qemu-img', ['check', '-f', 'qcow2', planned]);
    await run('qemu-img', ['compare', '-f', 'qcow2', '-F', 'qcow2', pre, planned]);
    assert.deepEqual((await mapOf(planned)).runs, [{ guest: 0, host: plan.dataOffset, count: clusters }]);
    assert.deepEqual(byteRuns(await mapOf(planned)), await qemuByteRuns(planned));
  });
});

test('what cannot be mapped is named, and damaged tables are refused', async () => {
  await withDir(async (dir) => {
    const base = join(dir, 'base.qcow2');
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', base, '8M']);
    await qemuIo(base, 'write -P 0x11 0 1M');
    const unsupported = async (file: string) => {
      const r = await readQcow2Map(file);
      return 'unsupported' in r ? r.unsupported : 'mapped';
    };
    const overlay = join(dir, 'overlay.qcow2');
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', base, overlay]);
    assert.equal(await unsupported(overlay), 'it has a backing file');
    const compressed = join(dir, 'compressed.qcow2');
    await run('qemu-img', ['convert', '-c', '-f', 'qcow2', '-O', 'qcow2', base, compressed]);
    assert.equal(await unsupported(compressed), 'it has compressed clusters');
    const small = join(dir, 'small.qcow2');
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', 'cluster_size=4096', small, '8M']);
    assert.equal(await unsupported(small), 'cluster size 2^12');
    const extended = join(dir, 'extended.qcow2');
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', 'extended_l2=on', extended, '8M']);
    assert.match(await unsupported(extended), /incompatible features/);

    // An L1 entry pointing past the end of the file.
    const bad = join(dir, 'bad.qcow2');
    await run('qemu-img', ['convert', '-f', 'qcow2', '-O', 'qcow2', base, bad]);
    await rewriteL1(bad, (l1, fileSize) => l1.writeBigUInt64BE(BigInt(fileSize + 64 * CLUSTER_BYTES)));
    await assert.rejects(readQcow2Map(bad), /is not a cluster of the file/);

    // Every L1 entry pointing at the same L2 table: a map far larger than the file, refused.
    const looped = join(dir, 'looped.qcow2');
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', looped, '1T']);
    await qemuIo(looped, 'write -P 0x22 0 64k');
    await rewriteL1(looped, (l1) => {
      for (let i = 8; i < l1.length; i += 8) l1.copy(l1, i, 0, 8);
    });
    await assert.rejects(readQcow2Map(looped), /maps more clusters than the file holds/);
    await writeFile(join(dir, 'not.qcow2'), Buffer.alloc(4096));
    await assert.rejects(readQcow2Map(join(dir, 'not.qcow2')), /is not a qcow2 file/);
  });
});

test('a cancelled copy stops its workers and rejects', async () => {
  await withDir(async (dir) => {
    const src = join(dir, 'src.qcow2');
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', src, '1G']);
    await qemuIo(src, 'write -P 0x5a 0 512M');
    const map = await mapOf(src);
    const out = join(dir, 'copy.qcow2');
    await writeFile(out, '', { flag: 'wx' });
    const ac = new AbortController();
    const copying = copyQcow2(src, map, out, ac.signal, (f) => {
      if (f > 0.1) ac.abort(new Error('cancelled by the test'));
    });
    await assert.rejects(copying, /cancelled by the test/);
    const size = (await stat(out)).size;
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await stat(out)).size, size, 'nothing writes the file once the copy rejected');
  });
});
