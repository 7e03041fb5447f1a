// The events log with a real agent process and libvirt: a VM stopped through the vDC is an info
// event, the same VM killed from outside (virsh destroy) is an error event in GET /event-log,
// on SSE and at a loopback webhook with a valid HMAC signature; "send test" reaches the webhook;
// a failed task is an error event naming its VM; the agent killed → a host-offline event; events survive a server restart. A viewer reads events
// but cannot change notifications (403); a webhook URL that is not http(s) is a 400 naming it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostDto } from '../dto/hosts.js';
import type { VmDto } from '../dto/vms.js';
import type { TaskDto } from '../dto/tasks.js';
import type { EventDto, NotificationsDto, TestNotificationResultDto } from '../dto/events.js';
import type { ErrorDto } from '../dto/common.js';
import { freePort, spawnAgent } from '../test-support/spawn.js';
import { ADMIN_PASSWORD, startTestServer } from '../test-support/test-server.js';
import { SseClient } from '../test-support/sse-client.js';
import { createGuestPool, eventually, removeDomain, srvName, virsh } from '../test-support/guest-pool.js';
import { signature } from './notifier.js';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A webhook receiver on loopback: keeps every POST it gets. */
async function startReceiver() {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString('utf8')));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return { url, received, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const SECRET = 'qxt-webhook-secret';

test('qxt-srv events: VM killed from outside, host offline, webhook signed, kept across restarts', async (t) => {
  const agentDir = await mkdtemp(join(tmpdir(), 'qxt-srv-agent-'));
  const dataDir = await mkdtemp(join(tmpdir(), 'qxt-srv-events-'));
  const port = await freePort();
  const agent = await spawnAgent(agentDir, port);
  const pool = await createGuestPool();
  const receiver = await startReceiver();
  const name = srvName('events');
  let s = await startTestServer(
    { QX_LOCAL_AGENT_ADDRESS: `127.0.0.1:${port}`, QX_LOCAL_AGENT_DATA_DIR: agentDir },
    { dataDir },
  );
  t.after(async () => {
    await s.stop();
    await removeDomain(name);
    await pool.remove();
    await agent.kill('SIGKILL');
    await receiver.close();
    await rm(agentDir, { recursive: true, force: true });
    await rm(dataDir, { recursive: true, force: true });
  });
  const api = s.admin;

  // Notifications: admin only; the secret is never shown; the URL must be http(s).
  const hooks = {
    webhooks: [{ url: receiver.url, kinds: [], minSeverity: 'warning', secret: SECRET }],
  };
  const put = await api.request<NotificationsDto>('PUT', '/api/v1/notifications', { body: hooks });
  assert.equal(put.status, 200, put.text);
  assert.deepEqual(put.json.webhooks, [{ url: receiver.url, kinds: [], minSeverity: 'warning', hasSecret: true }]);
  assert.ok(!put.text.includes(SECRET), 'the secret is not sent back');
  const bad = await api.request<ErrorDto>('PUT', '/api/v1/notifications', {
    body: { webhooks: [{ url: 'ftp://127.0.0.1/x', kinds: [], minSeverity: 'error' }] },
  });
  assert.equal(bad.status, 400, bad.text);
  assert.equal(bad.json.error.field, 'webhooks[0].url');
  assert.match(bad.json.error.message, /webhooks\[0\]\.url/);
  const viewer = await s.userWithRole('viewer');
  assert.equal((await viewer.request('PUT', '/api/v1/notifications', { body: hooks })).status, 403);
  assert.equal((await viewer.request('POST', '/api/v1/notifications/test')).status, 403);
  assert.equal((await api.request<NotificationsDto>('GET', '/api/v1/notifications')).json.webhooks.length, 1);

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
  const vmState = async (state: string) =>
    eventually(`VM ${state}`, async () => {
      const vm = (await api.request<VmDto>('GET', `/api/v1/vms/${vmId}`)).json;
      return vm.state === state && vm;
    });
  await vmState('running');
  const eventsOf = async (query: string) =>
    (await viewer.request<EventDto[]>('GET', `/api/v1/event-log?${query}`)).json;

  // A stop asked for through the vDC is an ordinary state change, not an alarm.
  const off = await api.request<TaskDto>('POST', `/api/v1/vms/${vmId}/force-off`);
  assert.equal(off.status, 202, off.text);
  await vmState('shutoff');
  const requested = await eventually('an info event for the requested stop', async () =>
    (await eventsOf(`target=${vmId}`)).find((e) => e.kind === 'vm.state' && e.message.includes('shutoff')),
  );
  assert.equal(requested.severity, 'info');
  assert.equal(requested.target.name, name);
  const start = await api.request<TaskDto>('POST', `/api/v1/vms/${vmId}/start`);
  assert.equal(start.status, 202, start.text);
  await vmState('running');

  // Killed from outside the vDC: an error event, in the log, on SSE and at the webhook, signed.
  await virsh(['destroy', name]);
  const crash = await eventually('the unexpected stop in the events log', async () =>
    (await eventsOf('severity=error&kind=vm.stopped-unexpectedly')).find((e) => e.target.id === vmId),
  );
  assert.match(crash.message, new RegExp(`VM ${name} .*stopped unexpectedly`));
  assert.equal(crash.target.hostId, host.id);
  await eventually('the event on SSE', async () =>
    sse.events.some((e) => e.event === 'event' && (e.data as EventDto).id === crash.id),
  );
  const delivered = await eventually('the webhook delivery', async () =>
    receiver.received.find((r) => (JSON.parse(r.body) as { event: EventDto }).event.id === crash.id),
  );
  assert.equal(delivered.headers['x-quantix-signature'], `sha256=${signature(SECRET, delivered.body)}`);
  assert.equal(delivered.headers['content-type'], 'application/json');
  assert.ok(
    receiver.received.every((r) => (JSON.parse(r.body) as { event: EventDto }).event.severity !== 'info'),
    'info events are below the webhook minimum severity',
  );

  // "Send test" reaches the webhook at once and reports its answer.
  const tested = await api.request<TestNotificationResultDto>('POST', '/api/v1/notifications/test');
  assert.equal(tested.status, 200, tested.text);
  assert.deepEqual(tested.json.results, [{ url: receiver.url, ok: true, status: 200, error: '' }]);
  assert.ok(receiver.received.some((r) => r.headers['x-quantix-event'] === 'notification.test'));

  // A task that fails (shutting down a VM that is off) is an error event naming the VM.
  const shutdown = await api.request<TaskDto>('POST', `/api/v1/vms/${vmId}/shutdown`, { body: {} });
  assert.equal(shutdown.status, 202, shutdown.text);
  const failed = await eventually('the failed task in the events log', async () =>
    (await eventsOf(`kind=task.failed&target=${name}`)).find((e) => e.target.id === vmId),
  );
  const failedTask = (await api.request<TaskDto>('GET', `/api/v1/tasks/${shutdown.json.id}`)).json;
  assert.equal(failedTask.status, 'failed');
  assert.equal(failed.message, `Task vm.shutdown on vm ${name} failed: ${failedTask.error}`);

  // The agent gone: the host goes offline, an error event says so.
  await agent.kill('SIGKILL');
  const offline = await eventually('a host-offline event', async () =>
    (await eventsOf('kind=host.offline')).find((e) => e.target.id === host.id),
  );
  assert.equal(offline.severity, 'error');
  assert.match(offline.message, new RegExp(`Host ${host.name} is offline`));

  // A restarted server still lists them, newest first.
  sse.close();
  await s.stop();
  s = await startTestServer({}, { dataDir, setup: false });
  const again = s.client();
  assert.equal((await again.login('admin', ADMIN_PASSWORD)).status, 200);
  const kept = (await again.request<EventDto[]>('GET', '/api/v1/event-log?severity=error')).json;
  const ids = kept.map((e) => e.id);
  assert.ok(ids.includes(crash.id) && ids.includes(offline.id), 'the events are kept across a restart');
  assert.ok(ids.indexOf(offline.id) < ids.indexOf(crash.id), 'newest first');
  assert.ok(!ids.includes(requested.id), 'severity=error leaves out info events');
});
