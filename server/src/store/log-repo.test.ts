// History repositories on real files: a task's latest state wins after a reload and keeps its place
// in creation order; a task running when the server stopped is failed at the next start, and that
// stays so after another restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventHub } from '../services/event-hub.js';
import { TaskService } from '../services/task-service.js';
import { TaskRepo } from './log-repo.js';

const info = (name: string) => ({
  kind: 'vm.start',
  target: { type: 'vm', id: name, name },
  hostId: null,
  user: 'admin',
});

test('task log: latest state per task after a reload; an interrupted task is failed once, for good', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'qxt-srv-tasklog-'));
  t.after(() => rm(dir, { recursive: true, force: true }));

  const repo = await TaskRepo.open(dir);
  const tasks = new TaskService(repo, new EventHub());
  const done = await tasks.runToEnd(info('a'), async () => ({ ok: 1 }));
  const running = await tasks.start(info('b'), () => new Promise<void>(() => undefined)); // never ends
  await tasks.runToEnd(info('c'), async () => undefined);
  await repo.close(); // the server stops while b runs

  const reopened = await TaskRepo.open(dir);
  assert.deepEqual(
    reopened.list().map((x) => [x.target.name, x.status]),
    [
      ['a', 'succeeded'],
      ['b', 'running'],
      ['c', 'succeeded'],
    ],
    'creation order, latest state',
  );
  assert.deepEqual(reopened.byId(done.id)!.result, { ok: 1 });
  await new TaskService(reopened, new EventHub()).failInterrupted();
  await reopened.close();

  const third = await TaskRepo.open(dir);
  t.after(() => third.close());
  const b = third.byId(running.dto.id)!;
  assert.equal(b.status, 'failed');
  assert.equal(b.error, 'the server restarted while this task ran');
});
