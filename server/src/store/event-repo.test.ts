// The events log on disk: paging newest first with a filter reaches past the in-memory tail into
// the files, without gaps or repeats, and the same pages come back after a reopen.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventDto } from '../dto/events.js';
import { EventRepo } from './event-repo.js';

const COUNT = 5_000;
const event = (i: number): EventDto => ({
  id: `e${i}`,
  at: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
  severity: i % 3 === 0 ? 'error' : 'info',
  kind: i % 3 === 0 ? 'host.offline' : 'vm.state',
  target: { type: 'host', id: `h${i % 7}`, name: `kvm${i % 7}`, hostId: `h${i % 7}`, hostName: `kvm${i % 7}` },
  message: `event ${i}`,
});

/** Every page of `limit` until one comes back short; the ids in order. */
async function allPages(repo: EventRepo, limit: number, match: (e: EventDto) => boolean): Promise<string[]> {
  const ids: string[] = [];
  for (let before: string | undefined; ;) {
    const page = await repo.page(limit, match, before);
    ids.push(...page.map((e) => e.id));
    if (page.length < limit) return ids;
    before = page.at(-1)!.id;
  }
}

test('qxt-srv event repo: filtered pages reach past the memory tail, in order, after a reopen', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'qxt-srv-events-repo-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  let repo = await EventRepo.open(dir);
  await Promise.all(Array.from({ length: COUNT }, (_, i) => repo.add(event(i))));
  const errors = Array.from({ length: COUNT }, (_, i) => i)
    .filter((i) => i % 3 === 0)
    .reverse()
    .map((i) => `e${i}`);
  const isError = (e: EventDto) => e.severity === 'error';
  assert.deepEqual(await allPages(repo, 250, isError), errors);
  await repo.close();

  repo = await EventRepo.open(dir);
  t.after(() => repo.close());
  assert.deepEqual(await allPages(repo, 400, isError), errors, 'the same after a reopen');
  assert.equal((await allPages(repo, 1000, () => true)).length, COUNT);
  assert.deepEqual(
    (await repo.page(3, () => true)).map((e) => e.id),
    [`e${COUNT - 1}`, `e${COUNT - 2}`, `e${COUNT - 3}`],
  );
});
