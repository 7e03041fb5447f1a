// A real agent process joined automatically as the local host: a VM started through the vDC;
// SSE reports the task, the VM and live host and VM metrics; the admin's host shell works through the vDC; the agent killed → the host is offline within 10 s
// (SSE says so) and requests to it get 503 naming it; the agent restarted → online again by itself (SSE says so), and the VM kept running untouched;
// /metrics counts the task's duration and each operation's latency by status class.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import type { HostDto, HostMetricsDto } from '../dto/hosts.js';
import type { VmDto, VmStatsDto } from '../dto/vms.js';
import type { TaskDto } from '../dto/tasks.js';
import { freePort, spawnAgent, type Child } from '../test-support/spawn.js';
import { startTestServer } from '../test-support/test-server.js';
import { SseClient } from '../test-support/sse-client.js';
import { ConsoleSocket } from '../test-support/console-socket.js';
import { createGuestPool, eventually, removeDomain, srvName, virsh } from '../test-support/guest-pool.js';
import { histogramBuckets, metricSample as sample } from '../test-support/prometheus-text.js';

const MiB = 1024 * 1024;

test('qxt-srv host: offline within 10 s of losing the agent, back by itself, VMs untouched', async (t) => {
  const startedAt = Date.now();
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
  assert.deepEqual([host.agentVersionStatus, host.agentVersionMessage], ['current', ''], 'the agent is of this vDC');

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
  await eventually(
    'SSE task and vm events',
    async () =>
      sse.events.some(
        (e) =>
          e.event === 'task' &&
          (e.data as TaskDto).id === created.json.id &&
          (e.data as TaskDto).status === 'succeeded',
      ) &&
      sse.events.some(
        (e) => e.event === 'vm' && (e.data as VmDto).id === vmId && (e.data as VmDto).state === 'running',
      ),
  );
  assert.equal(sse.events[0]?.event, 'hello');

  // Live metrics (every 5 s per host) reach the browser over SSE with this host's figures.
  const hostMetrics = await eventually(
    'an SSE host-metrics event',
    async () =>
      sse.events.find((e) => e.event === 'host-metrics' && (e.data as { hostId: string }).hostId === host.id)?.data as
        { metrics: HostMetricsDto } | undefined,
  );
  assert.equal(hostMetrics.metrics.memoryTotalBytes, totalmem(), "the host memory is this machine's");
  assert.ok(
    hostMetrics.metrics.memoryUsedBytes > 0 &&
      hostMetrics.metrics.memoryUsedBytes <= hostMetrics.metrics.memoryTotalBytes,
  );
  assert.ok(
    hostMetrics.metrics.cpuPercent >= 0 && hostMetrics.metrics.cpuPercent <= 100,
    `host cpu ${hostMetrics.metrics.cpuPercent} %`,
  );
  const vmStats = await eventually('an SSE vm-metrics event for the VM', async () => {
    for (const e of sse.events) {
      if (e.event !== 'vm-metrics' || (e.data as { hostId: string }).hostId !== host.id) continue;
      const mine = (e.data as { stats: (VmStatsDto & { id: string })[] }).stats.find((x) => x.id === vmId);
      if (mine) return mine;
    }
    return undefined;
  });
  assert.equal(vmStats.memoryBytes, vm.memoryMib * MiB, 'the VM memory is its configured size');
  assert.ok(vmStats.cpuPercent >= 0 && vmStats.cpuPercent <= 100, `VM cpu ${vmStats.cpuPercent} %`);

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
  assert.equal(
    (await operator.request('POST', `/api/v1/hosts/${host.id}/shell-ticket`)).status,
    403,
    'the shell is admin-only',
  );

  await agent.kill('SIGKILL');
  const lostAt = Date.now();
  await eventually(
    'the host offline',
    async () => (await api.request<HostDto>('GET', `/api/v1/hosts/${host.id}`)).json.status === 'offline',
    10_000,
  );
  assert.ok(Date.now() - lostAt <= 10_000);
  const offlineEvent = await eventually('an SSE host event: offline', async () => {
    const i = sse.events.findIndex(
      (e) => e.event === 'host' && (e.data as HostDto).id === host.id && (e.data as HostDto).status === 'offline',
    );
    return i >= 0 && { i, host: sse.events[i]!.data as HostDto };
  });
  assert.notEqual(offlineEvent.host.statusMessage, '', 'the offline event says why');
  const refused = await api.request('POST', `/api/v1/vms/${vmId}/reboot`);
  assert.equal(refused.status, 503);
  assert.match(
    (refused.json as { error: { message: string } }).error.message,
    new RegExp(`host ${host.name} is offline`),
  );
  assert.equal((await api.request<VmDto>('GET', `/api/v1/vms/${vmId}`)).json.hostOnline, false);
  assert.equal(await virsh(['domstate', name]), 'running', 'the VM does not depend on the agent');

  agent = await spawnAgent(agentDir, port);
  await eventually(
    'the host online again',
    async () => (await api.request<HostDto>('GET', `/api/v1/hosts/${host.id}`)).json.status === 'online',
    30_000,
  );
  await eventually('an SSE host event: online again, after the offline one', async () =>
    sse.events.some(
      (e, i) =>
        i > offlineEvent.i &&
        e.event === 'host' &&
        (e.data as HostDto).id === host.id &&
        (e.data as HostDto).status === 'online',
    ),
  );
  const after = (await api.request<VmDto>('GET', `/api/v1/vms/${vmId}`)).json;
  assert.equal(after.state, 'running');
  assert.equal(after.id, vmId);
  assert.equal(after.hostOnline, true);
  const metrics = await api.request('GET', '/metrics');
  assert.match(metrics.text, new RegExp(`quantix_host_up\\{host="${host.name}",host_id="${host.id}"\\} 1`));
  assert.match(metrics.text, /quantix_vms\{state="running"\} [1-9]/);

  // Task durations: the one VM creation, in seconds (more than nothing, less than this whole test).
  const testSeconds = (Date.now() - startedAt) / 1000;
  assert.equal(sample(metrics.text, 'quantix_task_duration_seconds_count{kind="vm.create"}'), 1);
  const createSeconds = sample(metrics.text, 'quantix_task_duration_seconds_sum{kind="vm.create"}');
  assert.ok(createSeconds > 0 && createSeconds < testSeconds, `vm.create took ${createSeconds} s`);
  // API latency by operation and status class: the one create, the one refused reboot (503), the operator's 403.
  assert.equal(
    sample(metrics.text, 'quantix_api_request_duration_seconds_count{operation="createVm",status="2xx"}'),
    1,
  );
  assert.equal(
    sample(metrics.text, 'quantix_api_request_duration_seconds_count{operation="rebootVm",status="5xx"}'),
    1,
  );
  assert.ok(
    Number.isNaN(sample(metrics.text, 'quantix_api_request_duration_seconds_count{operation="rebootVm",status="2xx"}')),
    'no reboot succeeded',
  );
  assert.equal(
    sample(metrics.text, 'quantix_api_request_duration_seconds_count{operation="createShellTicket",status="4xx"}'),
    1,
  );
  const getHost = 'operation="getHost",status="2xx"';
  const count = sample(metrics.text, `quantix_api_request_duration_seconds_count{${getHost}}`);
  assert.ok(count >= 2, `getHost answered ${count} times`);
  assert.equal(sample(metrics.text, `quantix_api_request_duration_seconds_bucket{${getHost},le="+Inf"}`), count);
  const buckets = histogramBuckets(metrics.text, 'quantix_api_request_duration_seconds', getHost).map((b) => b.count);
  assert.ok(buckets.length > 5, 'finite buckets are exposed');
  assert.ok(
    buckets.every((b, i) => i === 0 || b >= buckets[i - 1]!) && buckets.at(-1)! <= count,
    `buckets are cumulative: ${buckets.join(' ')}`,
  );
  const latencySum = sample(metrics.text, `quantix_api_request_duration_seconds_sum{${getHost}}`);
  assert.ok(latencySum > 0 && latencySum < testSeconds, `getHost latency sum ${latencySum} s`);
});
