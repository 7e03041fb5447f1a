// Graphical console attacks (issue #21): the websocket that relays a VM's VNC (RFB) must refuse a
// missing, reused or foreign ticket, another Origin, and a viewer (console access is an operator
// privilege, as in vCenter), and close an open session when its user is demoted. A real server,
// agent process and running test VM; each attack first shows the way in works for its rightful owner.
import { describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attack } from '../attack.js';
import type { HostDto } from '../../../server/src/dto/hosts.js';
import type { TaskDto } from '../../../server/src/dto/tasks.js';
import type { ConsoleTicketDto, VmDto } from '../../../server/src/dto/vms.js';
import { startTestServer, type TestServer } from '../../../server/src/test-support/test-server.js';
import { freePort, spawnAgent, type Child } from '../../../server/src/test-support/spawn.js';
import { ConsoleSocket } from '../../../server/src/test-support/console-socket.js';
import {
  createGuestPool,
  eventually,
  removeDomain,
  srvName,
  type GuestPool,
} from '../../../server/src/test-support/guest-pool.js';
import type { ApiClient } from '../../../server/src/test-support/api-client.js';

const RFB_BANNER = 'RFB 003.008\n';

describe('graphics console', () => {
  let s: TestServer;
  let agent: Child;
  let agentDir: string;
  let pool: GuestPool;
  let vmId: string;
  const name = srvName('gfx');

  before(async () => {
    agentDir = await mkdtemp(join(tmpdir(), 'qxt-srv-agent-'));
    const port = await freePort();
    agent = await spawnAgent(agentDir, port);
    pool = await createGuestPool();
    s = await startTestServer({ QX_LOCAL_AGENT_ADDRESS: `127.0.0.1:${port}`, QX_LOCAL_AGENT_DATA_DIR: agentDir });
    const host = await eventually('the local host online', async () =>
      (await s.admin.request<HostDto[]>('GET', '/api/v1/hosts')).json.find((h) => h.local && h.status === 'online'),
    );
    const volume = await pool.addGuestDisk(`${name}.qcow2`);
    const created = await s.admin.request<TaskDto>('POST', '/api/v1/vms', {
      body: {
        name,
        hostId: host.id,
        pool: pool.name,
        memoryMib: 128,
        disks: [{ pool: pool.name, volume }],
        start: true,
      },
    });
    assert.equal(created.status, 202, created.text);
    const task = await eventually('the VM created and started', async () => {
      const r = (await s.admin.request<TaskDto>('GET', `/api/v1/tasks/${created.json.id}`)).json;
      return r.status !== 'running' && r;
    });
    assert.equal(task.status, 'succeeded', task.error ?? '');
    vmId = (task.result as { vmId: string }).vmId;
  });
  after(async () => {
    await s?.stop();
    await removeDomain(name);
    await pool?.remove();
    await agent?.kill('SIGKILL');
    if (agentDir) await rm(agentDir, { recursive: true, force: true });
  });

  const ticket = async (api: ApiClient) => {
    const r = await api.request<ConsoleTicketDto>('POST', `/api/v1/vms/${vmId}/graphics-ticket`);
    assert.equal(r.status, 201, r.text);
    return r.json;
  };
  const open = (api: ApiClient, url: string, origin = s.base) =>
    ConsoleSocket.open(`wss://127.0.0.1:${s.running.port}${url}`, {
      ca: s.services.certificate.current.certPem,
      cookie: api.cookie!,
      origin,
    });

  attack('a graphics ticket is used twice, or not given at all', async () => {
    const vm = (await s.admin.request<VmDto>('GET', `/api/v1/vms/${vmId}`)).json;
    assert.equal(vm.graphics, true, 'a new VM has a graphical console by default');
    assert.equal(vm.videoModel, 'virtio');
    const t = await ticket(s.admin);
    const first = await open(s.admin, t.url);
    await first.waitFor(RFB_BANNER, 60_000);
    first.close();
    await assert.rejects(open(s.admin, t.url), /HTTP 401/, 'a used ticket is refused');
    await assert.rejects(open(s.admin, `/api/v1/vms/${vmId}/graphics`), /HTTP 401/, 'no ticket is refused');
  });

  attack('a graphics socket opened from another Origin', async () => {
    const t = await ticket(s.admin);
    await assert.rejects(open(s.admin, t.url, 'https://evil.example'), /HTTP 403/);
  });

  attack("another user's graphics ticket, or a console ticket, opens the graphical console", async () => {
    const operator = await s.userWithRole('operator');
    const foreign = await ticket(s.admin);
    await assert.rejects(open(operator, foreign.url), /HTTP 401/, "the admin's ticket is not the operator's");
    const serial = await s.admin.request<ConsoleTicketDto>('POST', `/api/v1/vms/${vmId}/console-ticket`);
    assert.equal(serial.status, 201, serial.text);
    const t = new URL(serial.json.url, s.base).searchParams.get('ticket');
    await assert.rejects(open(s.admin, `/api/v1/vms/${vmId}/graphics?ticket=${t}`), /HTTP 401/, 'a serial ticket');
  });

  attack('a viewer opens the graphical console', async () => {
    const viewer = await s.userWithRole('viewer');
    const r = await viewer.request('POST', `/api/v1/vms/${vmId}/graphics-ticket`);
    assert.equal(r.status, 403, r.text);
    const t = await ticket(s.admin);
    await assert.rejects(open(viewer, t.url), /HTTP 403/);
  });

  attack('a demoted operator keeps the graphical console open', async () => {
    const operator = await s.userWithRole('operator');
    const me = (await operator.request<{ user: { id: string } }>('GET', '/api/v1/auth/me')).json;
    const session = await open(operator, (await ticket(operator)).url);
    await session.waitFor(RFB_BANNER, 60_000);
    const demoted = await s.admin.request('PATCH', `/api/v1/users/${me.user.id}`, { body: { role: 'viewer' } });
    assert.equal(demoted.status, 200, demoted.text);
    assert.equal(await session.closed, 1008, 'closed as a policy violation');
  });
});
