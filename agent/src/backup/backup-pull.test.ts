// The pull path without a VM: qemu-nbd serves a qcow2 (with a persistent dirty bitmap) on a Unix
// socket as QEMU's backup export would; a full pull then an incremental one (backed by the full)
// must give qcow2 files that qemu-img check accepts, that read back as the disk did at each point
// (qemu-img compare), that store only what they should, and whose manifest sums are the file's.
// Block status becomes runs of clusters: a fully allocated disk is one run, whatever its size.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../exec/run.js';
import { pullDisk, runsOf } from './backup-pull.js';
import { chunkSums, CHUNK_HASH } from './chunk-sums.js';
import { STATE_HOLE, STATE_ZERO } from './nbd-client.js';
import { CLUSTER_BYTES } from './qcow2-writer.js';

const MIB = 2 ** 20;
/** Not a multiple of the cluster size: the last cluster is partial. */
const SIZE = 9 * MIB + 3 * 512;

const qemuIo = (file: string, ...cmds: string[]) =>
  run('qemu-io', ['-f', 'qcow2', ...cmds.flatMap((c) => ['-c', c]), file]);

/** Serves `file` read-only on `socket` until the returned stop() (qemu-nbd forks once listening). */
async function serve(file: string, socket: string, bitmap?: string): Promise<() => Promise<void>> {
  const pidFile = `${socket}.pid`;
  const withBitmap = bitmap ? ['-B', bitmap] : [];
  await run('qemu-nbd', [
    '--fork',
    '--persistent',
    '--pid-file',
    pidFile,
    '-r',
    '-f',
    'qcow2',
    '-k',
    socket,
    ...withBitmap,
    file,
  ]);
  const pid = Number((await readFile(pidFile, 'utf8')).trim());
  return async () => {
    process.kill(pid, 'SIGTERM');
    // qemu-nbd removes its pid file on exit: the image is free again.
    for (let i = 0; i < 200 && (await stat(pidFile).catch(() => undefined)); i++)
      await new Promise((r) => setTimeout(r, 25));
  };
}

test('block status extents become runs of whole clusters, joined where they meet', () => {
  const C = CLUSTER_BYTES;
  const data = (flags: number) => (flags & STATE_ZERO) === 0;
  // 1 TiB of data, in the 2 GiB extents block status answers with: one run, not 16M clusters.
  const tib = Array.from({ length: 512 }, (_, i) => ({ offset: i * 2 ** 31, length: 2 ** 31, flags: 0 }));
  assert.deepEqual(runsOf(tib, data), [{ guest: 0, count: 2 ** 40 / C }]);
  assert.deepEqual(
    runsOf(
      [
        // Two unaligned extents sharing cluster 0, then cluster 1.
        { offset: 0, length: 1000, flags: 0 },
        { offset: 1000, length: C, flags: 0 },
        // Zeros to cluster 4: skipped; then data not reading as zeros, whatever else its flags say.
        { offset: C + 1000, length: 3 * C - 1000, flags: STATE_ZERO | STATE_HOLE },
        { offset: 4 * C, length: C, flags: STATE_HOLE },
        { offset: 5 * C, length: 512, flags: 0 },
        { offset: 5 * C + 512, length: 10 * C, flags: STATE_ZERO },
        // The partial last cluster.
        { offset: 15 * C + 512, length: 512, flags: 0 },
      ],
      data,
    ),
    [
      { guest: 0, count: 2 },
      { guest: 4, count: 2 },
      { guest: 15, count: 1 },
    ],
  );
});

test('full then incremental pull into self-written qcow2 files: valid, equal to the disk at each point, only changes stored', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'qxt-pull-'));
  const stops: (() => Promise<void>)[] = [];
  t.after(async () => {
    for (const stop of stops) await stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });
  const disk = join(dir, 'disk.qcow2');
  const socket = join(dir, 'nbd.sock');
  const signal = new AbortController().signal;
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', disk, String(SIZE)]);
  // Data at the start, a run across an L2-independent stretch, the partial last cluster; zeros written too.
  await qemuIo(
    disk,
    'write -P 0xaa 0 64k',
    'write -P 0x55 1M 300k',
    'write -z 4M 128k',
    `write -P 0x11 ${SIZE - 512} 512`,
  );
  await run('qemu-img', ['bitmap', '--add', disk, 'b0']);
  const point0 = join(dir, 'point0.qcow2');
  await copyFile(disk, point0);

  let stop = await serve(disk, socket);
  stops.push(stop);
  const full = join(dir, 'full.qcow2');
  const fractions: number[] = [];
  const f = await pullDisk({ socket, exportName: '', file: full, signal, onProgress: (x) => fractions.push(x) });
  await stop();
  assert.equal(f.capacityBytes, SIZE);
  assert.equal(fractions.at(-1), 1);
  await run('qemu-img', ['check', '-f', 'qcow2', full]);
  await run('qemu-img', ['compare', '-f', 'qcow2', '-F', 'qcow2', full, point0]);
  // 1 + 5 (300 KiB from 1 MiB) + 1 data clusters; the zeroed range is not stored.
  const fullInfo = JSON.parse((await run('qemu-img', ['map', '--output=json', full])).stdout) as {
    data: boolean;
    length: number;
  }[];
  assert.equal(
    fullInfo.filter((e) => e.data).reduce((s, e) => s + e.length, 0),
    6 * CLUSTER_BYTES + (SIZE % CLUSTER_BYTES),
  );
  assert.deepEqual(f.sums, (await chunkSums(full, CHUNK_HASH)).sums, 'the sums are those of the file as written');
  assert.equal(f.storedBytes, (await stat(full)).size);

  // Changes after the bitmap was added: one 4 KiB write, and the partial last cluster again.
  await qemuIo(disk, 'write -P 0x77 2M 4k', `write -P 0x22 ${SIZE - 1024} 1024`);
  stop = await serve(disk, socket, 'b0');
  stops.push(stop);
  const incr = join(dir, 'incr.qcow2');
  const i = await pullDisk({
    socket,
    exportName: '',
    bitmap: 'b0',
    file: incr,
    backing: 'full.qcow2',
    signal,
    onProgress: () => undefined,
  });
  await stop();
  await run('qemu-img', ['check', '-f', 'qcow2', incr]);
  const info = JSON.parse((await run('qemu-img', ['info', '--output=json', incr])).stdout) as Record<string, string>;
  assert.equal(info['backing-filename'], 'full.qcow2');
  assert.equal(info['backing-filename-format'], 'qcow2');
  await run('qemu-img', ['compare', '-f', 'qcow2', '-F', 'qcow2', incr, disk]);
  const own = JSON.parse((await run('qemu-img', ['map', '--output=json', incr])).stdout) as {
    depth: number;
    data: boolean;
    length: number;
  }[];
  assert.equal(
    own.filter((e) => e.depth === 0 && e.data).reduce((s, e) => s + e.length, 0),
    CLUSTER_BYTES + (SIZE % CLUSTER_BYTES),
    'the incremental stores the two dirty clusters only',
  );
  assert.deepEqual(i.sums, (await chunkSums(incr, CHUNK_HASH)).sums);
});
