// First start with a real agent: the local host without a pool gets the loop pool "local" (a task
// by "system"); a restart after the admin deleted it does not make it again. The sizing rule alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostDto } from '../dto/hosts.js';
import type { PoolDto } from '../dto/storage.js';
import type { TaskDto } from '../dto/tasks.js';
import { freePort, spawnAgent } from '../test-support/spawn.js';
import { startTestServer } from '../test-support/test-server.js';
import { eventually } from '../test-support/guest-pool.js';
import { DEFAULT_POOL_NAME, defaultPoolSize } from './default-pool.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

test('default pool size: 80% of the free space in whole GiB, none below 1 GiB', () => {
  assert.equal(defaultPoolSize(100 * GiB), 80 * GiB);
  assert.equal(defaultPoolSize(10 * GiB + 500 * MiB), 8 * GiB);
  assert.equal(defaultPoolSize(1.3 * GiB), GiB);
  assert.equal(defaultPoolSize(1.2 * GiB), 0);
  assert.equal(defaultPoolSize(0), 0);
});

test('qxt-srv default pool: made once on first start for a local host with no pool', async (t) => {
  const agentDir = await mkdtemp(join(tmpdir(), 'qxt-srv-agent-'));
  const serverDir = await mkdtemp(join(tmpdir(), 'qxt-srv-dp-'));
  const port = await freePort();
  const agent = await spawnAgent(agentDir, port);
  const env = {
    QX_LOCAL_AGENT_ADDRESS: `127.0.0.1:${port}`,
    QX_LOCAL_AGENT_DATA_DIR: agentDir,
    QX_DEFAULT_POOL: String(256 * MiB),
  };
  let s = await startTestServer(env, { dataDir: serverDir });
  let hostId = '';
  t.after(async () => {
    // The agent takes the pool down (libvirt pool, mount, loop device) while it still runs.
    if (hostId) {
      await s.admin
        .request('DELETE', `/api/v1/hosts/${hostId}/pools/${DEFAULT_POOL_NAME}?deleteBackingFile=true`)
        .catch(() => undefined);
    }
    await s.stop();
    await agent.kill('SIGKILL');
    await rm(agentDir, { recursive: true, force: true });
    await rm(serverDir, { recursive: true, force: true });
  });

  const pool = await eventually('the default pool to be active', async () => {
    const pools = (await s.admin.request<PoolDto[]>('GET', '/api/v1/pools')).json;
    return pools.find((p) => p.name === DEFAULT_POOL_NAME && p.state === 'active');
  });
  hostId = pool.hostId;
  const host = (await s.admin.request<HostDto>('GET', `/api/v1/hosts/${hostId}`)).json;
  assert.equal(host.local, true);
  assert.equal(pool.kind, 'loop');
  // ext4 takes its metadata out of the 256 MiB backing file.
  assert.ok(pool.capacityBytes > 200 * MiB && pool.capacityBytes <= 256 * MiB, String(pool.capacityBytes));
  const task = await eventually('the pool.create task to finish', async () => {
    const tasks = (await s.admin.request<TaskDto[]>('GET', '/api/v1/tasks')).json;
    const found = tasks.find((x) => x.kind === 'pool.create' && x.target.name === DEFAULT_POOL_NAME);
    return found?.status !== 'running' && found;
  });
  assert.equal(task.user, 'system');
  assert.equal(task.status, 'succeeded');

  // The admin deletes it; a restart on the same data does not make it again.
  const del = await s.admin.request(
    'DELETE',
    `/api/v1/hosts/${hostId}/pools/${DEFAULT_POOL_NAME}?deleteBackingFile=true`,
  );
  assert.equal(del.status, 204, del.text);
  await s.stop();
  s = await startTestServer(env, { dataDir: serverDir, setup: false });
  await s.admin.login('admin', 'qxt-srv-admin-password');
  await eventually('the local host online again', async () => {
    const hosts = (await s.admin.request<HostDto[]>('GET', '/api/v1/hosts')).json;
    return hosts.some((h) => h.local && h.status === 'online');
  });
  const pools = (await s.admin.request<PoolDto[]>('GET', `/api/v1/hosts/${hostId}/pools`)).json;
  assert.deepEqual(
    pools.map((p) => p.name),
    [],
  );
});
