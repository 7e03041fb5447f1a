// ResourceController's status: initial → pending → complete | error, the last value kept while
// a reload runs or fails, and render() choosing by status.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResourceController, ResourceStatus } from './resource-controller.js';

const host = () => ({
  addController() {},
  removeController() {},
  requestUpdate() {},
  updateComplete: Promise.resolve(true),
});
const renderers = {
  complete: (v: string[]) => `value ${v.join(',')}`,
  pending: () => 'loading',
  error: (e: unknown) => `error ${(e as Error).message}`,
};

test('status follows the load and render() shows the value, loading or the error', async () => {
  let next: () => Promise<string[]> = async () => ['a'];
  const r = new ResourceController<string[]>(host(), () => next());
  assert.equal(r.status, ResourceStatus.initial);
  assert.equal(r.render(renderers), 'loading');
  const first = r.reload();
  assert.equal(r.status, ResourceStatus.pending);
  await first;
  assert.equal(r.status, ResourceStatus.complete);
  assert.equal(r.render(renderers), 'value a');

  next = async () => Promise.reject(new Error('host offline'));
  await r.reload();
  assert.equal(r.status, ResourceStatus.error);
  assert.equal(r.render(renderers), 'value a', 'the last value stays on screen after a failed reload');

  const fresh = new ResourceController<string[]>(host(), () => next());
  await fresh.reload();
  assert.equal(fresh.render(renderers), 'error host offline', 'without a value the error shows');
});

test('a newer reload supersedes one still in flight', async () => {
  const calls: ((v: string[]) => void)[] = [];
  const r = new ResourceController<string[]>(host(), () => new Promise((resolve) => calls.push(resolve)));
  const older = r.reload();
  const newer = r.reload();
  calls[1]!(['new']);
  calls[0]!(['old']);
  await Promise.all([older, newer]);
  assert.deepEqual(r.value, ['new']);
  assert.equal(r.status, ResourceStatus.complete);
});
