// A real agent process joined automatically as the local host: a VM started through the vDC;
// SSE reports the task and the VM; the admin's host shell works through the vDC; the agent killed → the host is offline within 10 s and requests to it get 503 naming it;
// the agent restarted → online again by itself, and the VM kept running untouched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostDto } from '../dto/hosts.js';
import type { VmDto } from '../dto/vms.js';
import type { TaskDto } from '../dto/tasks.js';
import { freePort, spawnAgent, type Child } from '../test-support/spawn.js';
import { startTestServer } from '../test-support/test-server.js';
import { SseClient } from '../test-support/sse-client.js';
import { ConsoleSocket } from '../test-support/console-socket.js';
import { createGuestPool, eventually, removeDomain, srvName, virsh } from '../test-support/guest-pool.js';

test('qxt-srv host: offline within 10 s of losing the agent, back by itself, VMs untouched', async (t) => {
  const agentDir = await mkdtemp(join(tmpdir(), 'qxt-srv-agent-'));
  const port = await freePort();
  let agent: Child = await spawnAgent(agentDir, port);
  const pool = await createGuestPool();
  const name = srvName('offline');
  const s = await startTestServer({ QX_LOCAL_AGENT_ADDRESS: `127.0.0.1:${port}`, QX_LOCAL_AGENT_DATA_DIR: agentDir });
  t.after(async () => {
    await s.stop();
    await removeDomain(name);
    await pool.remove();
    await agent.kill('SIGKILL');
    await rm(agentDir, { recursive: true, force: true });
  });
  const api = s.admin;
  const host = await eventually('the local host online', async () => {
    const hosts = (await api.request<HostDto[]>('GET', '/api/v1/hosts')).json;
    return hosts.find((h) => h.local && h.status === 'online');
  });

  const sse = await SseClient.open(s.base, s.services.certificate.current.certPem, api.cookie!);
  t.after(() => sse.close());
  const volume = await pool.addGuestDisk(`${name}.qcow2`);
  const created = await api.request<TaskDto>('POST', '/api/v1/vms', {
    body: { name, hostId: host.id, pool: pool.name, memoryMib: 128, disks: [{ pool: pool.name, volume }], start: true },
  });
  assert.equal(created.status, 202, created.text);
  const task = await eventually('the create task to finish', async () => {
    const r = (await api.request<TaskDto>('GET', `/api/v1/tasks/${created.json.id}`)).json;
    return r.status !== 'running' && r;
  });
  assert.equal(task.status, 'succeeded', task.error ?? '');
  const vmId = (task.result as { vmId: string }).vmId;
  const vm = (await api.request<VmDto>('GET', `/api/v1/vms/${vmId}`)).json;
  assert.equal(vm.state, 'running');
  assert.equal(vm.hostId, host.id);
  await eventually('SSE task and vm events', async () =>
    sse.events.some((e) => e.event === 'task' && (e.data as TaskDto).id === created.json.id && (e.data as TaskDto).status === 'succeeded') &&
    sse.events.some((e) => e.event === 'vm' && (e.data as VmDto).id === vmId && (e.data as VmDto).state === 'running'),
  );
  assert.equal(sse.events[0]?.event, 'hello');

  const shellTicket = await api.request<{ url: string }>('POST', `/api/v1/hosts/${host.id}/shell-ticket`);
  assert.equal(shellTicket.status, 201, shellTicket.text);
  const shell = await ConsoleSocket.open(`wss://127.0.0.1:${s.running.port}${shellTicket.json.url}`, {
    ca: s.services.certificate.current.certPem,
    cookie: api.cookie!,
    origin: s.base,
  });
  shell.send('echo qxt-srv-shell-$((6*7))\r');
  await shell.waitFor('qxt-srv-shell-42', 30_000);
  shell.close();
  const operator = await s.userWithRole('operator');
  assert.equal((await operator.request('POST', `/api/v1/hosts/${host.id}/shell-ticket`)).status, 403, 'the shell is admin-only');

  await agent.kill('SIGKILL');
  const lostAt = Date.now();
  await eventually(
    'the host offline',
    async () => (await api.request<HostDto>('GET', `/api/v1/hosts/${host.id}`)).json.status === 'offline',
    10_000,
  );
  assert.ok(Date.now() - lostAt <= 10_000);
  const refused = await api.request('POST', `/api/v1/vms/${vmId}/reboot`);
  assert.equal(refused.status, 503);
  assert.match((refused.json as { error: { message: string } }).error.message, new RegExp(`host ${host.name} is offline`));
  assert.equal((await api.request<VmDto>('GET', `/api/v1/vms/${vmId}`)).json.hostOnline, false);
  assert.equal(await virsh(['domstate', name]), 'running', 'the VM does not depend on the agent');

  agent = await spawnAgent(agentDir, port);
  await eventually(
    'the host online again',
    async () => (await api.request<HostDto>('GET', `/api/v1/hosts/${host.id}`)).json.status === 'online',
    30_000,
  );
  const after = (await api.request<VmDto>('GET', `/api/v1/vms/${vmId}`)).json;
  assert.equal(after.state, 'running');
  assert.equal(after.id, vmId);
  assert.equal(after.hostOnline, true);
  const metrics = await api.request('GET', '/metrics');
  assert.match(metrics.text, new RegExp(`quantix_host_up\\{host="${host.name}",host_id="${host.id}"\\} 1`));
  assert.match(metrics.text, /quantix_vms\{state="running"\} [1-9]/);
});
