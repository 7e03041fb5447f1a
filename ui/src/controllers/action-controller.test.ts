// The one action wrapper: busy while it runs, the error kept with the field it names, an
// aborted action is no error, and a success clears the last error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../api/client.js';
import { ActionController } from './action-controller.js';

const host = () => ({
  updates: 0,
  addController() {},
  removeController() {},
  requestUpdate() {
    this.updates++;
  },
  updateComplete: Promise.resolve(true),
});

test('an action is busy under its key until it settles, then its error names the field', async () => {
  const h = host();
  const a = new ActionController(h);
  let seen = '';
  const ok = await a.run(async () => {
    seen = a.running;
    assert.ok(a.busy);
    throw new ApiError(400, 'Name: use letters', 'name');
  }, 'create');
  assert.equal(ok, false);
  assert.equal(seen, 'create');
  assert.equal(a.busy, false);
  assert.equal(a.fieldError('name'), 'Name: use letters');
  assert.equal(a.formError(['name']), undefined, 'a field error is not repeated at the top');
  assert.equal(a.formError(), 'Name: use letters');
  assert.equal(a.message, 'Name: use letters');
  assert.ok(h.updates >= 2, 'the host re-renders when the action starts and ends');
});

test('a success clears the last error; an abort is not an error', async () => {
  const a = new ActionController(host());
  a.fail(new Error('before'));
  assert.equal(await a.run(async () => undefined), true);
  assert.equal(a.error, undefined);
  assert.equal(a.message, '');
  assert.equal(await a.run(async () => Promise.reject(new DOMException('aborted', 'AbortError'))), false);
  assert.equal(a.error, undefined);
});
