// The append-only log on a real file system: records come back in order after a reopen, rotation
// keeps `keep` older files and drops the rest, a line torn by a crash is cut off (the next append
// starts clean), and a garbled line in the middle is skipped, not fatal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppendLog } from './append-log.js';

interface Row {
  id: number;
  text: string;
}

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'qxt-srv-applog-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function all(log: AppendLog<Row>): Promise<number[]> {
  const ids: number[] = [];
  for await (const r of log.records()) ids.push(r.id);
  return ids;
}

test('append log: concurrent appends land in call order and come back after a reopen', async (t) => {
  const dir = await tempDir(t);
  const log = await AppendLog.open<Row>({ dir, name: 'audit', maxBytes: 1 << 20, keep: 1 });
  await Promise.all(Array.from({ length: 500 }, (_, id) => log.append({ id, text: 'x' })));
  await log.close();
  const again = await AppendLog.open<Row>({ dir, name: 'audit', maxBytes: 1 << 20, keep: 1 });
  t.after(() => again.close());
  assert.deepEqual(
    await all(again),
    Array.from({ length: 500 }, (_, i) => i),
  );
  await again.append({ id: 500, text: 'after reopen' });
  assert.equal((await all(again)).at(-1), 500);
});

test('append log: rotation by size keeps the newest files and drops the oldest', async (t) => {
  const dir = await tempDir(t);
  // Each line is ~110 bytes: a file rotates after 10 records.
  const log = await AppendLog.open<Row>({ dir, name: 'tasks', maxBytes: 1_000, keep: 2 });
  t.after(() => log.close());
  for (let id = 0; id < 45; id++) await log.append({ id, text: 'y'.repeat(80) });
  assert.deepEqual((await readdir(dir)).sort(), ['tasks.1.jsonl', 'tasks.2.jsonl', 'tasks.jsonl']);
  const ids = await all(log);
  assert.deepEqual(
    ids,
    Array.from({ length: ids.length }, (_, i) => 45 - ids.length + i),
    'a contiguous run of the newest, in order',
  );
  assert.ok(ids.length >= 20 && ids.length < 35, `two full rotated files and the current one (${ids.length} records)`);
  const newest = (await readFile(join(dir, 'tasks.jsonl'), 'utf8')).trim().split('\n');
  assert.equal((JSON.parse(newest.at(-1)!) as Row).id, 44);
});

test('append log: a torn last line after a crash is cut off on open, not fatal', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'audit.jsonl');
  await writeFile(
    file,
    `${JSON.stringify({ id: 1, text: 'a' })}\n${JSON.stringify({ id: 2, text: 'b' })}\n{"id":3,"te`,
  );
  const log = await AppendLog.open<Row>({ dir, name: 'audit', maxBytes: 1 << 20, keep: 1 });
  t.after(() => log.close());
  assert.deepEqual(await all(log), [1, 2]);
  await log.append({ id: 4, text: 'd' });
  assert.deepEqual(await all(log), [1, 2, 4], 'the next record is a line of its own');
  assert.equal((await readFile(file, 'utf8')).split('\n').length, 4, 'three lines and the final newline');
});

test('append log: a garbled line in the middle is skipped; a file with no newline at all is emptied', async (t) => {
  const dir = await tempDir(t);
  await writeFile(
    join(dir, 'audit.1.jsonl'),
    `${JSON.stringify({ id: 1, text: 'a' })}\n\u0000\u0000garbage\n${JSON.stringify({ id: 2, text: 'b' })}\n`,
  );
  await writeFile(join(dir, 'audit.jsonl'), '{"id":3');
  const log = await AppendLog.open<Row>({ dir, name: 'audit', maxBytes: 1 << 20, keep: 1 });
  t.after(() => log.close());
  assert.deepEqual(await all(log), [1, 2]);
  await log.append({ id: 5, text: 'e' });
  assert.deepEqual(await all(log), [1, 2, 5]);
});

test('append log: records still current are carried into each new file, so rotation never drops them', async (t) => {
  const dir = await tempDir(t);
  const running: Row = { id: -1, text: 'still running' };
  const log = await AppendLog.open<Row>({ dir, name: 'tasks', maxBytes: 500, keep: 1, carry: () => [running] });
  t.after(() => log.close());
  await log.append(running);
  for (let id = 0; id < 40; id++) await log.append({ id, text: 'z'.repeat(80) });
  const ids = await all(log);
  assert.ok(!ids.includes(0), 'the oldest records were dropped with their file');
  assert.ok(ids.includes(-1), `the running record survives the rotations (${ids.join(' ')})`);
  const current = (await readFile(join(dir, 'tasks.jsonl'), 'utf8')).split('\n');
  assert.equal((JSON.parse(current[0]!) as Row).id, -1, 'the newest file starts with it');
});
