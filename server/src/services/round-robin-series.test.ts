// The round-robin series: averages per slot in every tier, old slots overwritten when the ring
// wraps, a byte-exact file round trip, and torn or foreign files refused with the reason; the
// history files: a torn one reset loudly, a removed host's deleted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RoundRobinSeries, TIERS, type Tier } from './round-robin-series.js';
import { HOST_FIELDS, MetricsHistory } from './metrics-history.js';

const T0 = Date.UTC(2026, 0, 1); // a multiple of every step

test('samples are averaged into the slot of each tier', () => {
  const s = new RoundRobinSeries(2);
  // Twelve 5 s samples fill one minute: 12 points at 5 s, one averaged point at 1 min and 30 min.
  for (let i = 0; i < 12; i++) s.add(T0 + i * 5000, [i, 100]);
  const now = T0 + 59_000;
  const fine = s.points(0, now);
  assert.equal(fine.length, 12);
  assert.deepEqual(fine[3], { at: T0 + 15_000, values: [3, 100] });
  assert.deepEqual(s.points(1, now), [{ at: T0, values: [5.5, 100] }]);
  assert.deepEqual(s.points(2, now), [{ at: T0, values: [5.5, 100] }]);
  // Two samples in one 5 s slot are averaged too.
  s.add(T0 + 60_000, [1, 0]);
  s.add(T0 + 62_000, [3, 0]);
  assert.deepEqual(s.points(0, T0 + 64_000).at(-1), { at: T0 + 60_000, values: [2, 0] });
});

test('the ring wraps: a window holds only its last rows, older slots are overwritten', () => {
  const tiers: Tier[] = [{ stepSeconds: 5, rows: 4 }];
  const s = new RoundRobinSeries(1, tiers);
  for (let i = 0; i < 10; i++) s.add(T0 + i * 5000, [i]);
  const pts = s.points(0, T0 + 9 * 5000);
  assert.deepEqual(
    pts.map((p) => p.values[0]),
    [6, 7, 8, 9],
  );
  // Later, the old rows are outside the window even though nothing overwrote them yet.
  assert.deepEqual(
    s.points(0, T0 + 11 * 5000).map((p) => p.values[0]),
    [8, 9],
  );
  // A reused row starts afresh rather than averaging with the sample a lap earlier.
  s.add(T0 + 12 * 5000, [100]);
  assert.deepEqual(s.points(0, T0 + 12 * 5000).at(-1)?.values, [100]);
});

test('the file round trip is exact and of fixed size; torn or foreign files are refused', () => {
  const s = new RoundRobinSeries(3);
  for (let i = 0; i < 50; i++) s.add(T0 + i * 5000, [i, i * 2, 0.5]);
  const text = s.serialize();
  assert.equal(text.length, new RoundRobinSeries(3).serialize().length, 'the file size does not grow');
  const back = RoundRobinSeries.parse(text, 3);
  for (let t = 0; t < TIERS.length; t++) assert.deepEqual(back.points(t, T0 + 300_000), s.points(t, T0 + 300_000));
  assert.throws(() => RoundRobinSeries.parse(text.slice(0, text.length / 2), 3), /size \d+ bytes, expected/);
  assert.throws(() => RoundRobinSeries.parse(text, 4), /size|shape/);
  const foreign = Buffer.from(text, 'base64');
  foreign.write('JUNK', 0);
  assert.throws(() => RoundRobinSeries.parse(foreign.toString('base64'), 3), /not a series file/);
});

test('a torn history file is reset with a warning naming it, and replaced at the next flush', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'qxt-rrd-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
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
  assert.equal(
    RoundRobinSeries.parse(await readFile(file, 'utf8'), HOST_FIELDS.length).points(0, Date.now()).length,
    0,
  );
});

test("host samples become rates in the history; a removed host's file is deleted", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'qxt-rrd-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
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

test('a host history file from before the disk fields keeps its points, the new fields empty', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'qxt-rrd-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  // The six host fields of the first release: cpu, memory used/total, load, network in/out.
  const old = new RoundRobinSeries(6);
  const at = Date.now() - 5000;
  old.add(at, [40, 300, 1000, 2, 10, 20]);
  await mkdir(join(dir, 'metrics'));
  await writeFile(join(dir, 'metrics', 'host-h1.rrd'), old.serialize());
  const h = new MetricsHistory(dir, 60_000, () => false);
  const got = await h.hostHistory('h1', '1h');
  assert.equal(got.samples.length, 1);
  assert.equal(got.samples[0]!.cpuPercent, 40);
  assert.equal(got.samples[0]!.netTxBytesPerSecond, 20);
  assert.equal(got.samples[0]!.diskReadBytesPerSecond, 0);
  assert.equal(got.samples[0]!.diskWriteOpsPerSecond, 0);
  // Written back in the new shape at the next flush.
  await h.flush();
  const text = await readFile(join(dir, 'metrics', 'host-h1.rrd'), 'utf8');
  assert.equal(RoundRobinSeries.storedFields(text), 10);
  assert.equal(RoundRobinSeries.parse(text, 10).points(0, Date.now())[0]!.values[0], 40);
});
