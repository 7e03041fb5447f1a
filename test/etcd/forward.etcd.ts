// Any server of an etcd control plane serves the whole API: through the server that does not lead
// (no agent connection of its own) the host and its VMs are listed, a guest disk is uploaded, a VM
// is created, started, stopped and its console opened — forwarded to the leader. kill -9 of the
// leader → the other leads and the console reopens through it and through a newly started server.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, statSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, spawnAgent, type Child } from '../../server/src/test-support/spawn.js';
import { eventually, GUEST_QCOW2, removeDomain, srvName, virsh } from '../../server/src/test-support/guest-pool.js';
import { ConsoleSocket } from '../../server/src/test-support/console-socket.js';
import type { HostDto } from '../../server/src/dto/hosts.js';
import type { VmDto } from '../../server/src/dto/vms.js';
import type { TaskDto } from '../../server/src/dto/tasks.js';
import type { AuditEntryDto } from '../../server/src/dto/system.js';
import { startControlPlane, type ControlPlane, type ServerInstance } from './control-plane.js';

describe('control plane on etcd: every server serves hosts, VMs and consoles', () => {
  let plane: ControlPlane;
  let agent: Child;
  let agentDir: string;
  let poolDir: string;
  const poolName = srvName('fpool');
  let a: ServerInstance;
  let b: ServerInstance;
  let env: Record<string, string>;
  const name = srvName('fwd');
  let vmId = '';

  before(async () => {
    agentDir = await mkdtemp(join(tmpdir(), 'qxt-etcd-agent-'));
    const agentPort = await freePort();
    agent = await spawnAgent(agentDir, agentPort);
    poolDir = await mkdtemp(join(tmpdir(), `${poolName}-`));
    await chmod(poolDir, 0o755);
    plane = await startControlPlane();
    env = { QX_LOCAL_AGENT_ADDRESS: `127.0.0.1:${agentPort}`, QX_LOCAL_AGENT_DATA_DIR: agentDir };
    a = await plane.startServer('a', env);
    await eventually('server a leading', async () => (await a.health())?.leader, 30_000);
    b = await plane.startServer('b', env);
  });
  after(async () => {
    await plane?.close();
    await removeDomain(name);
    await virsh(['pool-destroy', poolName]).catch(() => undefined);
    await virsh(['pool-undefine', poolName]).catch(() => undefined);
    await rm(poolDir, { recursive: true, force: true });
    await agent?.kill();
    await rm(agentDir, { recursive: true, force: true });
  });

  const onlineHost = (s: ServerInstance) => async () => {
    const r = await s.api.request<HostDto[]>('GET', '/api/v1/hosts');
    return r.status === 200 && r.json.find((h) => h.local && h.status === 'online');
  };
  const finished = async (s: ServerInstance, id: string, timeoutMs = 180_000) => {
    const task = await eventually(
      `task ${id} to finish`,
      async () => {
        const r = await s.api.request<TaskDto>('GET', `/api/v1/tasks/${id}`);
        return r.status === 200 && r.json.status !== 'running' && r.json;
      },
      timeoutMs,
    );
    assert.equal(task.status, 'succeeded', task.error ?? '');
    return task;
  };
  const vmState = async (s: ServerInstance) => (await s.api.request<VmDto>('GET', `/api/v1/vms/${vmId}`)).json.state;
  /** Opens the VM's console through `s` and has the guest echo a line typed into it. */
  const consoleEcho = async (s: ServerInstance, line: string) => {
    const ticket = await s.api.request<{ url: string }>('POST', `/api/v1/vms/${vmId}/console-ticket`);
    assert.equal(ticket.status, 201, ticket.text);
    const ws = await ConsoleSocket.open(`${s.api.base.replace(/^https/, 'wss')}${ticket.json.url}`, {
      ca: s.api.caPem,
      cookie: s.api.cookie!,
      origin: s.api.base,
    });
    try {
      // The guest echoes every line once booted: typed until seen.
      await eventually(
        `"${line}" echoed through ${s.name}`,
        async () => {
          ws.send(`${line}\r`);
          await ws.waitFor(`qx-echo: ${line}`, 5_000).catch(() => undefined);
          return ws.output.includes(`qx-echo: ${line}`);
        },
        180_000,
      );
    } finally {
      ws.close();
    }
  };

  it('lists the host, uploads, creates, starts and stops a VM and opens its console through the non-leader', async () => {
    assert.equal((await b.health())?.leader, false);
    const host = await eventually('the local agent online, listed by b', onlineHost(b), 60_000);
    const made = await b.api.request<TaskDto>('POST', `/api/v1/hosts/${host.id}/pools`, {
      body: { name: poolName, kind: 'dir', path: poolDir },
    });
    assert.equal(made.status, 202, made.text);
    await finished(b, made.json.id);
    const { reply: upload } = await b.api.upload(
      `/api/v1/hosts/${host.id}/pools/${poolName}/uploads`,
      { name: `${name}.qcow2`, format: 'qcow2', sizeBytes: statSync(GUEST_QCOW2).size },
      createReadStream(GUEST_QCOW2),
    );
    assert.equal(upload.status, 200, upload.text);
    const created = await b.api.request<TaskDto>('POST', '/api/v1/vms', {
      body: {
        name,
        hostId: host.id,
        pool: poolName,
        memoryMib: 128,
        disks: [{ pool: poolName, volume: `${name}.qcow2` }],
        start: true,
      },
    });
    assert.equal(created.status, 202, created.text);
    vmId = ((await finished(b, created.json.id)).result as { vmId: string }).vmId;
    const listed = await b.api.request<VmDto[]>('GET', '/api/v1/vms');
    assert.equal(listed.json.find((v) => v.id === vmId)?.state, 'running');
    await consoleEcho(b, 'hello through b');

    const off = await b.api.request<TaskDto>('POST', `/api/v1/vms/${vmId}/force-off`);
    assert.equal(off.status, 202, off.text);
    await finished(b, off.json.id);
    assert.equal(await vmState(b), 'shutoff');
    const on = await b.api.request<TaskDto>('POST', `/api/v1/vms/${vmId}/start`);
    assert.equal(on.status, 202, on.text);
    await finished(b, on.json.id);
    assert.equal(await vmState(b), 'running');
    await consoleEcho(b, 'booted again');
    // The tasks and the audit log are the leader's, whichever server is asked.
    const tasks = await b.api.request<TaskDto[]>('GET', '/api/v1/tasks');
    assert.ok(tasks.json.some((t) => t.id === created.json.id));
    const audit = await b.api.request<AuditEntryDto[]>('GET', '/api/v1/audit?limit=50');
    assert.ok(audit.json.some((e) => e.action === 'startVm' && e.target === vmId && e.status === 202));
    assert.deepEqual(audit.json, (await a.api.request<AuditEntryDto[]>('GET', '/api/v1/audit?limit=50')).json);
  });

  it('after kill -9 of the leader, reopens the console through the new leader and through another server', async () => {
    await a.child.kill('SIGKILL');
    await eventually('server b leading', async () => (await b.health())?.leader, 30_000);
    await eventually('the local agent online on b', onlineHost(b), 60_000);
    await eventually(
      'the VM, running on through the failover, listed by b',
      async () => (await vmState(b)) === 'running',
      60_000,
    );
    await consoleEcho(b, 'after failover on b');
    const c = await plane.startServer('c', env);
    assert.equal((await c.health())?.leader, false);
    await consoleEcho(c, 'after failover on c');
    const off = await c.api.request<TaskDto>('POST', `/api/v1/vms/${vmId}/force-off`);
    await finished(c, off.json.id);
    const del = await c.api.request<TaskDto>('DELETE', `/api/v1/vms/${vmId}?deleteDisks=true`);
    await finished(c, del.json.id);
    assert.equal((await b.api.request('GET', `/api/v1/vms/${vmId}`)).status, 404);
  });
});
