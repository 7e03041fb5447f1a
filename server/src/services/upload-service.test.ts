// Two-step uploads over a real task log: each opened upload has a task of its own from the start
// (two at once never share one); its URL takes one body, from the user who opened it, exactly
// as long as declared; an upload whose body never starts fails its task.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { EventHub } from './event-hub.js';
import { TaskService } from './task-service.js';
import { UploadService } from './upload-service.js';
import { TaskRepo } from '../store/log-repo.js';
import { HttpError } from '../errors.js';

const task = (name: string) => ({
  kind: 'volume.upload',
  target: { type: 'volume', id: `p/${name}`, name },
  hostId: null,
  user: 'op',
});

/** The body's bytes, as the agent would consume them. */
async function count(body: Readable): Promise<number> {
  let n = 0;
  for await (const c of body) n += (c as Buffer).length;
  return n;
}

const status = (code: number) => (err: unknown) => err instanceof HttpError && err.status === code;

test('uploads: a task each from the start, one body per URL, by its owner, of the declared size; a body that never comes fails the task', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'qxt-srv-uploads-'));
  const repo = await TaskRepo.open(dir);
  t.after(async () => {
    await repo.close();
    await rm(dir, { recursive: true, force: true });
  });
  const tasks = new TaskService(repo, new EventHub());
  const uploads = new UploadService(tasks, 300);

  const a = await uploads.open(task('a'), 'u1', 5, async (body) => ({ bytes: await count(body) }));
  const b = await uploads.open(task('b'), 'u1', 3, async (body) => ({ bytes: await count(body) }));
  assert.notEqual(a.task.id, b.task.id, 'two uploads at once have a task each');
  assert.notEqual(a.uploadUrl, b.uploadUrl);
  assert.equal(tasks.get(a.task.id).phase, 'waiting for the upload');
  const id = (u: { uploadUrl: string }) => u.uploadUrl.replace('/api/v1/uploads/', '');

  await assert.rejects(uploads.receive(id(a), 'u2', 5, Readable.from([Buffer.alloc(5)])), status(404), 'another user');
  await assert.rejects(uploads.receive(id(a), 'u1', 6, Readable.from([Buffer.alloc(6)])), status(400), 'another size');
  const [doneB, doneA] = await Promise.all([
    uploads.receive(id(b), 'u1', 3, Readable.from([Buffer.alloc(3)])),
    uploads.receive(id(a), 'u1', 5, Readable.from([Buffer.alloc(5)])),
  ]);
  assert.deepEqual([doneA.id, doneA.status, doneA.result], [a.task.id, 'succeeded', { bytes: 5 }]);
  assert.deepEqual([doneB.id, doneB.status, doneB.result], [b.task.id, 'succeeded', { bytes: 3 }]);
  await assert.rejects(uploads.receive(id(a), 'u1', 5, Readable.from([Buffer.alloc(5)])), status(404), 'used once');

  const never = await uploads.open(task('never'), 'u1', 5, async () => assert.fail('no body arrived'));
  const failed = await new Promise<{ status: string; error: string | null }>((resolve) => {
    const poll = setInterval(() => {
      const r = tasks.get(never.task.id);
      if (r.status !== 'running') {
        clearInterval(poll);
        resolve(r);
      }
    }, 20);
  });
  assert.equal(failed.status, 'failed');
  assert.match(failed.error ?? '', /the upload did not start within 0.3 s of being opened/);
  await assert.rejects(uploads.receive(id(never), 'u1', 5, Readable.from([Buffer.alloc(5)])), status(404), 'expired');
});
