// Pools and networks broken from outside, with a real agent and libvirt: `virsh pool-destroy` of a
// loop pool is a pool.failed error event (events log and a loopback webhook) naming the pool and
// libvirt's state; `virsh net-destroy` of a network is network.stopped (both at a webhook that asked
// for those kinds); starting it again is network.started (info).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostDto } from '../dto/hosts.js';
import type { TaskDto } from '../dto/tasks.js';
import type { EventDto } from '../dto/events.js';
import { freePort, spawnAgent } from '../test-support/spawn.js';
import { startTestServer } from '../test-support/test-server.js';
import { eventually, srvName, virsh } from '../test-support/guest-pool.js';

test('qxt-srv events: a pool and a network broken from outside are error events and webhooks', async (t) => {
  const agentDir = await mkdtemp(join(tmpdir(), 'qxt-srv-agent-'));
  const port = await freePort();
  const agent = await spawnAgent(agentDir, port);
  const hooks: EventDto[] = [];
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString('utf8')));
    req.on('end', () => {
      hooks.push((JSON.parse(body) as { event: EventDto }).event);
      res.end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const s = await startTestServer({ QX_LOCAL_AGENT_ADDRESS: `127.0.0.1:${port}`, QX_LOCAL_AGENT_DATA_DIR: agentDir });
  const api = s.admin;
  const poolName = srvName('pfail');
  const netName = srvName('nfail').slice(0, 20);
  let hostId = '';
  t.after(async () => {
    if (hostId) {
      await api.request('DELETE', `/api/v1/hosts/${hostId}/pools/${poolName}?deleteBackingFile=true`);
      await api.request('DELETE', `/api/v1/hosts/${hostId}/networks/${netName}`);
    }
    await s.stop();
    await agent.kill('SIGKILL');
    await new Promise<void>((r) => receiver.close(() => r()));
    await rm(agentDir, { recursive: true, force: true });
  });
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  const put = await api.request('PUT', '/api/v1/notifications', {
    body: { webhooks: [{ url, kinds: ['pool.failed', 'network.stopped'], minSeverity: 'error' }] },
  });
  assert.equal(put.status, 200, put.text);
  const host = await eventually('the local host online', async () => {
    const hosts = (await api.request<HostDto[]>('GET', '/api/v1/hosts')).json;
    return hosts.find((h) => h.local && h.status === 'online');
  });
  hostId = host.id;

  const created = await api.request<TaskDto>('POST', `/api/v1/hosts/${hostId}/pools`, {
    body: { name: poolName, kind: 'loop', sizeBytes: 64 * 1024 * 1024 },
  });
  assert.equal(created.status, 202, created.text);
  const task = await eventually('the pool.create task to finish', async () => {
    const r = (await api.request<TaskDto>('GET', `/api/v1/tasks/${created.json.id}`)).json;
    return r.status !== 'running' && r;
  });
  assert.equal(task.status, 'succeeded', task.error ?? '');
  const third = 100 + Math.floor(Math.random() * 150);
  const net = await api.request('POST', `/api/v1/hosts/${hostId}/networks`, {
    body: { name: netName, kind: 'isolated', subnet: `10.252.${third}.0/24` },
  });
  assert.equal(net.status, 201, net.text);

  const eventOf = (kind: string, name: string) =>
    eventually(`a ${kind} event for ${name}`, async () => {
      const events = (await api.request<EventDto[]>('GET', `/api/v1/event-log?kind=${kind}`)).json;
      return events.find((e) => e.target.name === name);
    });

  await virsh(['pool-destroy', poolName]);
  const failed = await eventOf('pool.failed', poolName);
  assert.equal(failed.severity, 'error');
  assert.equal(failed.target.type, 'pool');
  assert.equal(failed.target.hostId, hostId);
  assert.match(
    failed.message,
    new RegExp(`Pool ${poolName} on .* failed \\(it was active\\): .*libvirt pool ${poolName} is inactive`),
  );
  await eventually('the pool.failed webhook', async () => hooks.some((e) => e.id === failed.id));

  await virsh(['net-destroy', netName]);
  const stopped = await eventOf('network.stopped', netName);
  assert.equal(stopped.severity, 'error');
  assert.equal(stopped.target.hostName, host.name);
  await eventually('the network.stopped webhook', async () => hooks.some((e) => e.id === stopped.id));

  await virsh(['net-start', netName]);
  const started = await eventOf('network.started', netName);
  assert.equal(started.severity, 'info');
});
