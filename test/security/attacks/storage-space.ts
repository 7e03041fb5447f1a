// Overcommitting a host's disk with loop pools (issue #19 "Trust"): backing files are sparse, so
// two loop pools of 70% of the free space each were both created. The second must be refused in
// the request itself (4xx naming size_bytes, with the figures) and leave nothing behind. A real
// server and agent process; the agent's pools directory is a small ext4 of the test's own (a real
// image on a real loop device), so the test neither fills the disk nor depends on its free space.
import { describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attack } from '../attack.js';
import type { HostDto } from '../../../server/src/dto/hosts.js';
import type { PoolDto } from '../../../server/src/dto/storage.js';
import type { TaskDto } from '../../../server/src/dto/tasks.js';
import type { ApiClient } from '../../../server/src/test-support/api-client.js';
import { startTestServer, type TestServer } from '../../../server/src/test-support/test-server.js';
import { freePort, spawnAgent, type Child } from '../../../server/src/test-support/spawn.js';
import { eventually, srvName, virsh } from '../../../server/src/test-support/guest-pool.js';
import { Virsh } from '../../../agent/src/libvirt/virsh.js';
import { spaceFigures } from '../../../agent/src/storage/filesystem.js';
import { loopList } from '../../../agent/src/storage/loop-device.js';
import { readMounts } from '../../../agent/src/storage/mounts.js';
import { releaseStorageUnder } from '../../../agent/src/storage/test-support/cleanup.js';
import {
  mountSmallFilesystem,
  type SmallFilesystem,
} from '../../../agent/src/storage/test-support/small-filesystem.js';

const MIB = 1024 * 1024;

describe('storage space', () => {
  let s: TestServer | undefined;
  let api: ApiClient;
  let agent: Child | undefined;
  let small: SmallFilesystem | undefined;
  let work = '';
  let agentDir = '';
  let poolsDir = '';
  let hostId = '';
  const created: string[] = [];

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'qxt-srv-space-'));
    agentDir = join(work, 'agent');
    poolsDir = join(agentDir, 'pools');
    small = await mountSmallFilesystem(join(work, 'pools-fs.img'), poolsDir, 384 * MIB);
    const port = await freePort();
    agent = await spawnAgent(agentDir, port);
    s = await startTestServer({ QX_LOCAL_AGENT_ADDRESS: `127.0.0.1:${port}`, QX_LOCAL_AGENT_DATA_DIR: agentDir });
    api = s.admin;
    const host = await eventually('the local host online', async () =>
      (await api.request<HostDto[]>('GET', '/api/v1/hosts')).json.find((h) => h.local && h.status === 'online'),
    );
    hostId = host.id;
  });

  after(async () => {
    for (const name of created) {
      await api
        ?.request('DELETE', `/api/v1/hosts/${hostId}/pools/${name}?deleteBackingFile=true`)
        .catch(() => undefined);
    }
    await s?.stop();
    await agent?.kill('SIGKILL');
    if (agentDir) await releaseStorageUnder(agentDir, 'qxt-srv-space-', new Virsh('qemu:///system'));
    await small?.release();
    if (work) await rm(work, { recursive: true, force: true });
  });

  attack(
    'two loop pools of 70% of the free space each: the second is refused with the figures, nothing left behind',
    async () => {
      const size = Math.floor((0.7 * (await spaceFigures(poolsDir)).availableBytes) / MIB) * MIB;
      const poolBody = (name: string) => ({ body: { name, kind: 'loop', sizeBytes: size } });

      const first = srvName('space-a');
      created.push(first);
      const started = await api.request<TaskDto>('POST', `/api/v1/hosts/${hostId}/pools`, poolBody(first));
      assert.equal(started.status, 202, started.text);
      const task = await eventually('the first pool created', async () => {
        const t = (await api.request<TaskDto>('GET', `/api/v1/tasks/${started.json.id}`)).json;
        return t.status !== 'running' && t;
      });
      assert.equal(task.status, 'succeeded', task.error ?? '');
      assert.ok(
        (await spaceFigures(poolsDir)).availableBytes > size,
        'the free space alone would take a second pool of that size',
      );

      const second = srvName('space-b');
      const refused = await api.request<{ error: { message: string; field?: string } }>(
        'POST',
        `/api/v1/hosts/${hostId}/pools`,
        poolBody(second),
      );
      if (refused.status === 202) created.push(second);
      assert.equal(refused.status, 400, refused.text);
      const { message, field } = refused.json.error;
      assert.equal(field, 'size_bytes');
      assert.match(message, new RegExp(`pool ${second} needs ${size} bytes, more than available`));
      assert.match(message, /\d+ bytes free on the filesystem of /);
      assert.match(message, new RegExp(`promised to loop pools .*\\(pool ${first}: \\d+ bytes\\)`));
      assert.match(message, /so \d+ bytes available/);

      assert.ok(!(await readdir(poolsDir)).some((f) => f.includes(second)), 'no backing file');
      assert.deepEqual(
        (await loopList()).filter((d) => d.backFile.includes(second)),
        [],
        'no loop device',
      );
      assert.deepEqual(
        (await readMounts()).filter((m) => m.mountPoint.includes(second)),
        [],
        'no mount',
      );
      assert.equal(existsSync(join(agentDir, 'mnt', second)), false, 'no mount point');
      assert.ok(!(await virsh(['pool-list', '--all', '--name'])).split('\n').includes(second), 'no libvirt pool');
      const pools = (await api.request<PoolDto[]>('GET', `/api/v1/hosts/${hostId}/pools`)).json;
      assert.deepEqual(
        pools.map((p) => p.name),
        [first],
      );
      const tasks = (await api.request<TaskDto[]>('GET', '/api/v1/tasks')).json;
      assert.ok(!tasks.some((t) => t.target.name === second), 'no task was started for it');
    },
  );
});
