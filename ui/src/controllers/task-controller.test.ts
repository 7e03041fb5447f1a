// TaskController follows a task by id until it finishes: progress while it runs, the finished
// task (its result) on success, the task's error on failure, and it stops when its element leaves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TaskDto } from '@dto/tasks.js';
import { trackTask } from './task-tracker.js';
import { TaskController } from './task-controller.js';

const host = () => ({
  addController() {},
  removeController() {},
  requestUpdate() {},
  updateComplete: Promise.resolve(true),
});
const task = (id: string, over: Partial<TaskDto> = {}): TaskDto => ({
  id,
  kind: 'vm.create',
  target: { type: 'vm', id: '', name: 'web01' },
  hostId: null,
  status: 'running',
  progress: null,
  phase: '',
  log: [],
  error: null,
  result: null,
  user: 'admin',
  createdAt: '2026-01-01T00:00:00Z',
  finishedAt: null,
  ...over,
});

test('progress while the task runs, then the finished task with its result', async () => {
  const c = new TaskController(host());
  const followed = c.follow(task('t1'));
  trackTask(task('t1', { phase: 'cloning disks', progress: 42.4 }));
  assert.equal(c.progressText, 'cloning disks: 42%');
  trackTask(task('t1', { status: 'succeeded', progress: 100, result: { vmId: 'vm-1' } }));
  const done = await followed;
  assert.deepEqual(done.result, { vmId: 'vm-1' });
  assert.equal(c.progressText, '', 'no progress once it finished');
});

test("a failed task rejects with the task's error; leaving the page stops following", async () => {
  const c = new TaskController(host());
  const failed = c.follow(task('t2'));
  trackTask(task('t2', { status: 'failed', error: 'pool default is full' }));
  await assert.rejects(failed, /pool default is full/);
  const left = c.follow(task('t3'));
  c.hostDisconnected();
  await assert.rejects(left, { name: 'AbortError' });
});
