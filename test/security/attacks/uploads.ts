// Uploads in two steps (#27): the one-time upload URL an operator opens takes one body, from that
// operator only, with the CSRF header, and only while it waits; a viewer cannot open one; an
// upload whose body never comes fails its task and leaves nothing in the pool. Real server, real
// agent process, a dir pool; REST only.
import { describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { attack } from '../attack.js';
import type { HostDto } from '../../../server/src/dto/hosts.js';
import type { TaskDto } from '../../../server/src/dto/tasks.js';
import type { UploadDto } from '../../../server/src/dto/uploads.js';
import type { ApiClient } from '../../../server/src/test-support/api-client.js';
import { startTestServer, type TestServer } from '../../../server/src/test-support/test-server.js';
import { freePort, spawnAgent, type Child } from '../../../server/src/test-support/spawn.js';
import { eventually, srvName, virsh } from '../../../server/src/test-support/guest-pool.js';

const SIZE = 64 * 1024;

describe('uploads', () => {
  let s: TestServer;
  let owner: ApiClient;
  let other: ApiClient;
  let agent: Child;
  let work = '';
  let hostId = '';
  const pool = srvName('upl');
  let n = 0;

  /** Opens an upload of a new raw volume as `by`. */
  const open = (by: ApiClient) =>
    by.request<UploadDto>('POST', `/api/v1/hosts/${hostId}/pools/${pool}/uploads`, {
      body: { name: `up-${++n}.raw`, format: 'raw', sizeBytes: SIZE },
    });
  const put = (by: ApiClient, url: string, opts: { noCsrf?: boolean } = {}) =>
    by.request<TaskDto>('PUT', url, {
      stream: Readable.from([Buffer.alloc(SIZE, 7)]),
      headers: { 'Content-Length': String(SIZE) },
      ...opts,
    });

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'qxt-srv-upl-'));
    await chmod(work, 0o755);
    await mkdir(join(work, 'pool'), { mode: 0o755 });
    const port = await freePort();
    agent = await spawnAgent(join(work, 'agent'), port);
    s = await startTestServer({
      QX_LOCAL_AGENT_ADDRESS: `127.0.0.1:${port}`,
      QX_LOCAL_AGENT_DATA_DIR: join(work, 'agent'),
      QX_SERVER_IDLE_TIMEOUT: '2',
    });
    owner = await s.userWithRole('operator');
    other = await s.userWithRole('operator');
    const host = await eventually('the local host online', async () =>
      (await s.admin.request<HostDto[]>('GET', '/api/v1/hosts')).json.find((h) => h.local && h.status === 'online'),
    );
    hostId = host.id;
    const created = await s.admin.request<TaskDto>('POST', `/api/v1/hosts/${hostId}/pools`, {
      body: { name: pool, kind: 'dir', path: join(work, 'pool') },
    });
    assert.equal(created.status, 202, created.text);
    await eventually(
      'the pool',
      async () =>
        (await s.admin.request<TaskDto>('GET', `/api/v1/tasks/${created.json.id}`)).json.status === 'succeeded',
    );
  });

  after(async () => {
    await s?.admin.request('DELETE', `/api/v1/hosts/${hostId}/pools/${pool}`).catch(() => undefined);
    await virsh(['pool-destroy', pool]).catch(() => undefined);
    await virsh(['pool-undefine', pool]).catch(() => undefined);
    await s?.stop();
    await agent?.kill('SIGKILL');
    await rm(work, { recursive: true, force: true });
  });

  attack('another operator sends the body to an upload URL someone else opened', async () => {
    const opened = await open(owner);
    assert.equal(opened.status, 202, opened.text);
    const stolen = await put(other, opened.json.uploadUrl);
    assert.equal(stolen.status, 404, stolen.text);
    const own = await put(owner, opened.json.uploadUrl);
    assert.equal(own.status, 200, `the owner's upload still works: ${own.text}`);
    assert.equal(own.json.status, 'succeeded');
  });

  attack('the body is sent with the session cookie but without the CSRF header', async () => {
    const opened = await open(owner);
    const forged = await put(owner, opened.json.uploadUrl, { noCsrf: true });
    assert.equal(forged.status, 403, forged.text);
    assert.equal((await put(owner, opened.json.uploadUrl)).status, 200);
  });

  attack('an upload URL is used twice, and one is guessed', async () => {
    const opened = await open(owner);
    assert.equal((await put(owner, opened.json.uploadUrl)).status, 200);
    assert.equal((await put(owner, opened.json.uploadUrl)).status, 404, 'used once');
    assert.equal((await put(owner, '/api/v1/uploads/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')).status, 404);
  });

  attack('a viewer opens an upload', async () => {
    const viewer = await s.userWithRole('viewer');
    const before = (await s.admin.request<TaskDto[]>('GET', '/api/v1/tasks?limit=1000')).json.length;
    assert.equal((await open(viewer)).status, 403);
    const after = (await s.admin.request<TaskDto[]>('GET', '/api/v1/tasks?limit=1000')).json.length;
    assert.equal(after, before, 'no task was started');
  });

  attack('an upload is opened and its body never sent', async () => {
    const opened = await open(owner);
    const name = `up-${n}.raw`;
    const task = await eventually('the waiting upload to fail', async () => {
      const t = (await owner.request<TaskDto>('GET', `/api/v1/tasks/${opened.json.task.id}`)).json;
      return t.status !== 'running' && t;
    });
    assert.equal(task.status, 'failed');
    assert.match(task.error ?? '', /did not start within 2 s/);
    assert.equal((await put(owner, opened.json.uploadUrl)).status, 404, 'the URL expired with it');
    assert.ok(!(await readdir(join(work, 'pool'))).some((f) => f.includes(name)), 'nothing was written to the pool');
  });
});
