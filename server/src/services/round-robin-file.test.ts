// The round-robin series in its file: averages per slot in every tier, old slots overwritten when
// the ring wraps, only finished and open rows kept in memory and written in place, a reopened file
// continuing its open slot, torn or foreign files refused with the reason; the history files: a
// torn one reset loudly, a removed host's deleted, version-1 and narrower files rewritten.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RoundRobinFile, TIERS, type Tier } from './round-robin-file.js';
import { HOST_FIELDS, MetricsHistory } from './metrics-history.js';

const T0 = Date.UTC(2026, 0, 1); // a multiple of every step

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'qxt-rrd-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A version-1 file (base64 of one buffer: header big-endian, per tier slots, counts, values). */
function v1File(fields: number, points: { at: number; values: number[] }[]): string {
  const bytes = Buffer.alloc(16 + TIERS.reduce((n, t) => n + t.rows * (8 + 4 * fields), 0));
  bytes.writeUInt32BE(0x51585252, 0);
  bytes.writeUInt32BE(1, 4);
  bytes.writeUInt32BE(fields, 8);
  bytes.writeUInt32BE(TIERS.length, 12);
  let off = 16;
  for (const t of TIERS) {
    for (const p of points) {
      const slot = Math.floor(p.at / 1000 / t.stepSeconds);
      const row = slot % t.rows;
      bytes.writeUInt32LE(slot, off + row * 4);
      bytes.writeUInt32LE(1, off + t.rows * 4 + row * 4);
      p.values.forEach((v, f) => bytes.writeFloatLE(v, off + t.rows * 8 + (row * fields + f) * 4));
    }
    off += t.rows * (8 + 4 * fields);
  }
  return bytes.toString('base64');
}

test('samples are averaged into the slot of each tier, before and after a flush', async (t) => {
  const file = join(await tempDir(t), 's.rrd');
  const s = await RoundRobinFile.open(file, 2, TIERS, T0);
  // Twelve 5 s samples fill one minute: 12 points at 5 s, one averaged point at 1 min and 30 min.
  for (let i = 0; i < 12; i++) s.add(T0 + i * 5000, [i, 100]);
  const now = T0 + 59_000;
  for (const phase of ['in memory', 'written']) {
    const fine = await s.points(0, now);
    assert.equal(fine.length, 12, phase);
    assert.deepEqual(fine[3], { at: T0 + 15_000, values: [3, 100] }, phase);
    assert.deepEqual(await s.points(1, now), [{ at: T0, values: [5.5, 100] }], phase);
    assert.deepEqual(await s.points(2, now), [{ at: T0, values: [5.5, 100] }], phase);
    await s.flush();
  }
  // Two samples in one 5 s slot are averaged too.
  s.add(T0 + 60_000, [1, 0]);
  s.add(T0 + 62_000, [3, 0]);
  assert.deepEqual((await s.points(0, T0 + 64_000)).at(-1), { at: T0 + 60_000, values: [2, 0] });
  // Reopened, the file has every point, and the open minute goes on averaging where it was.
  await s.flush();
  const back = await RoundRobinFile.open(file, 2, TIERS, T0 + 64_000);
  assert.deepEqual(await back.points(0, T0 + 64_000), await s.points(0, T0 + 64_000));
  back.add(T0 + 65_000, [8, 0]);
  assert.deepEqual((await back.points(1, T0 + 65_000)).at(-1), { at: T0 + 60_000, values: [4, 0] });
});

test('the ring wraps: a window holds only its last rows, older slots are overwritten', async (t) => {
  const tiers: Tier[] = [{ stepSeconds: 5, rows: 4 }];
  const s = await RoundRobinFile.open(join(await tempDir(t), 's.rrd'), 1, tiers, T0);
  for (let i = 0; i < 10; i++) {
    s.add(T0 + i * 5000, [i]);
    if (i % 3 === 0) await s.flush();
  }
  const values = async (now: number) => (await s.points(0, now)).map((p) => p.values[0]);
  assert.deepEqual(await values(T0 + 9 * 5000), [6, 7, 8, 9]);
  // Later, the old rows are outside the window even though nothing overwrote them yet.
  assert.deepEqual(await values(T0 + 11 * 5000), [8, 9]);
  // A reused row starts afresh rather than averaging with the sample a lap earlier.
  s.add(T0 + 12 * 5000, [100]);
  await s.flush();
  assert.deepEqual((await s.points(0, T0 + 12 * 5000)).at(-1)?.values, [100]);
});

test('a series costs its open rows in memory; a flush writes only new rows into a fixed-size file', async (t) => {
  const file = join(await tempDir(t), 's.rrd');
  const s = await RoundRobinFile.open(file, 3, TIERS, T0);
  for (let i = 0; i < 50; i++) s.add(T0 + i * 5000, [i, i * 2, 0.5]);
  await s.flush();
  const size = (await stat(file)).size;
  assert.equal(size, RoundRobinFile.byteLength(3, TIERS), 'the file has its full size from the start');
  assert.ok((await stat(file)).blocks * 512 < size / 4, 'empty rows take no disk space');
  // A row written later lands in place: the file keeps its size and its earlier points.
  s.add(T0 + 50 * 5000, [50, 100, 0.5]);
  await s.flush();
  assert.equal((await stat(file)).size, size);
  const back = await RoundRobinFile.open(file, 3, TIERS, T0 + 50 * 5000);
  assert.deepEqual(
    (await back.points(0, T0 + 50 * 5000)).map((p) => p.values[0]),
    Array.from({ length: 51 }, (_, i) => i),
  );
  // Torn, foreign or wrong-shaped files are refused with the reason.
  const bytes = await readFile(file);
  await writeFile(file, bytes.subarray(0, bytes.length / 2));
  await assert.rejects(RoundRobinFile.open(file, 3), /size \d+ bytes, expected/);
  await writeFile(file, bytes);
  await assert.rejects(RoundRobinFile.open(file, 2), /shape 3 fields, expected 2/);
  bytes.write('JUNK', 0);
  await writeFile(file, bytes);
  await assert.rejects(RoundRobinFile.open(file, 3), /not a series file/);
});

test('a torn history file is reset with a warning naming it, and replaced at the next flush', async (t) => {
  const dir = await tempDir(t);
  const h = new MetricsHistory(dir, 60_000, () => false);
  await mkdir(join(dir, 'metrics'));
  const file = h.fileOf('host', 'h1');
  await writeFile(file, 'half a file');
  const lines: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  const level = process.env.QX_LOG;
  process.stderr.write = ((chunk: string | Uint8Array) => (lines.push(String(chunk)), true)) as typeof write;
  process.env.QX_LOG = 'info';
  try {
    assert.deepEqual((await h.hostHistory('h1', '1h')).samples, []);
  } finally {
    process.stderr.write = write;
    if (level === undefined) delete process.env.QX_LOG;
    else process.env.QX_LOG = level;
  }
  const warning = lines
    .map((l) => JSON.parse(l) as { level: string; msg: string; file: string })
    .find((l) => l.file === file);
  assert.equal(warning?.level, 'warn');
  assert.match(warning.msg, /metrics history file unreadable/);
  await h.flush();
  const fresh = await RoundRobinFile.open(file, HOST_FIELDS.length);
  assert.equal((await fresh.points(0, Date.now())).length, 0, 'the file is a series again');
});

test("host samples become rates in the history; a removed host's file is deleted", async (t) => {
  const dir = await tempDir(t);
  const h = new MetricsHistory(dir, 60_000, () => false);
  const now = Date.now();
  const m = (at: number, rx: number) => ({
    timestampMs: at,
    cpuPercent: 50,
    memoryTotalBytes: 1000,
    memoryUsedBytes: 400,
    load1: 1,
    netRxBytes: rx,
    netTxBytes: 0,
    diskReadBytes: rx * 2,
    diskWriteBytes: rx * 3,
    diskReadOps: rx / 100,
    diskWriteOps: rx / 50,
  });
  h.addHost('h1', m(now - 10_000, 1000));
  h.addHost('h1', m(now - 5000, 6000));
  const got = await h.hostHistory('h1', '1h');
  assert.equal(got.samples.length, 1, 'the first sample only sets the counters');
  assert.equal(got.samples[0]!.netRxBytesPerSecond, 1000);
  assert.equal(got.samples[0]!.diskReadBytesPerSecond, 2000);
  assert.equal(got.samples[0]!.diskWriteBytesPerSecond, 3000);
  assert.equal(got.samples[0]!.diskReadOpsPerSecond, 10);
  assert.equal(got.samples[0]!.diskWriteOpsPerSecond, 20);
  assert.equal(got.samples[0]!.cpuPercent, 50);
  await h.flush();
  assert.deepEqual(await h.files(), ['host-h1.rrd']);
  await h.hostRemoved('h1');
  assert.deepEqual(await h.files(), []);
  assert.deepEqual((await h.hostHistory('h1', '1h')).samples, []);
});

test('a version-1 host history file from before the disk fields keeps its points, the new fields empty', async (t) => {
  const dir = await tempDir(t);
  // The six host fields of the first release: cpu, memory used/total, load, network in/out.
  const at = Date.now() - 5000;
  await mkdir(join(dir, 'metrics'));
  await writeFile(join(dir, 'metrics', 'host-h1.rrd'), v1File(6, [{ at, values: [40, 300, 1000, 2, 10, 20] }]));
  const h = new MetricsHistory(dir, 60_000, () => false);
  const got = await h.hostHistory('h1', '1h');
  assert.equal(got.samples.length, 1);
  assert.equal(got.samples[0]!.cpuPercent, 40);
  assert.equal(got.samples[0]!.netTxBytesPerSecond, 20);
  assert.equal(got.samples[0]!.diskReadBytesPerSecond, 0);
  assert.equal(got.samples[0]!.diskWriteOpsPerSecond, 0);
  assert.equal(got.samples.length, (await h.hostHistory('h1', '1y')).samples.length);
  // Rewritten in the current layout with the new fields at once.
  const file = join(dir, 'metrics', 'host-h1.rrd');
  assert.equal((await stat(file)).size, RoundRobinFile.byteLength(HOST_FIELDS.length, TIERS));
  const back = await RoundRobinFile.open(file, HOST_FIELDS.length);
  assert.equal((await back.points(0, Date.now()))[0]!.values[0], 40);
});

test('a current-layout file with fewer fields is widened, its points kept', async (t) => {
  const file = join(await tempDir(t), 's.rrd');
  const narrow = await RoundRobinFile.open(file, 2, TIERS, T0);
  narrow.add(T0, [7, 8]);
  await narrow.flush();
  const wide = await RoundRobinFile.open(file, 4, TIERS, T0);
  assert.deepEqual(await wide.points(0, T0), [{ at: T0, values: [7, 8, 0, 0] }]);
});
