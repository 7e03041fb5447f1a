// Two vDC servers started together on a new etcd cluster, both with the initial admin password:
// both start (the second writer of the vDC identity and of the admin takes the first one's), and
// the vDC has one identity and one admin.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { UserDto } from '../../server/src/dto/auth.js';
import { startControlPlane, type ControlPlane } from './control-plane.js';

describe('control plane on etcd: servers starting together on a new cluster', () => {
  let plane: ControlPlane;
  before(async () => {
    plane = await startControlPlane();
  });
  after(async () => {
    await plane?.close();
  });

  it('starts both, with one admin', async () => {
    const [a, b] = await Promise.all([plane.startServer('a'), plane.startServer('b')]);
    const users = await Promise.all([a, b].map((s) => s.api.request<UserDto[]>('GET', '/api/v1/users')));
    for (const u of users)
      assert.deepEqual(
        u.json.map((x) => x.username),
        ['admin'],
      );
    assert.equal(users[0]!.json[0]!.id, users[1]!.json[0]!.id);
  });
});
