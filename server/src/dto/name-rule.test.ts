// The name rule reaches the API: a name the agent would refuse is a 400 naming the field before
// any work starts (no task, no disk created and undone), with the agent's own sentence.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../test-support/test-server.js';
import type { ErrorDto } from './common.js';

test('a VM name the agent would refuse is a 400 on name from the API', async (t) => {
  const s = await startTestServer();
  t.after(() => s.stop());
  const cases = [
    { name: '123', says: /only digits would be read by virsh as a domain ID/ },
    { name: '4b2c8a0e-1f3d-4c5b-9a7e-0d1c2b3a4f5e', says: /shaped like a UUID/ },
    { name: 'a..b', says: /not a valid name/ },
  ];
  for (const { name, says } of cases) {
    const r = await s.admin.request<ErrorDto>('POST', '/api/v1/vms', {
      body: { name, pool: 'default', memoryMib: 64 },
    });
    assert.equal(r.status, 400, `${name}: ${r.text}`);
    assert.equal(r.json.error.field, 'name');
    assert.match(r.json.error.message, says);
  }
  const tasks = await s.admin.request<unknown[]>('GET', '/api/v1/tasks');
  assert.deepEqual(tasks.json, [], 'no task was started');
});
