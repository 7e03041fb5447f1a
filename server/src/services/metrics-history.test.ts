// A real agent process as the local host and a VM on it: the host's and the VM's resource history
// fills from the agents' 5 s samples (host disk I/O included) and is still there after a server restart; /metrics carries
// the host and VM series with their labels (checked by promtool); the history routes refuse an
// unknown range naming it; a deleted VM's series file goes with it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { HostDto } from '../dto/hosts.js';
import type { HostMetricsHistoryDto, VmMetricsHistoryDto } from '../dto/metrics-history.js';
import type { TaskDto } from '../dto/tasks.js';
import { freePort, spawnAgent, type Child } from '../test-support/spawn.js';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../test-support/test-server.js';
import type { ApiClient } from '../test-support/api-client.js';
import { createGuestPool, eventually, removeDomain, srvName } from '../test-support/guest-pool.js';
import { metricSample as sample } from '../test-support/prometheus-text.js';

const MiB = 1024 * 1024;
const exists = (f: string) =>
  access(f).then(
    () => true,
    () => false,
  );

async function finished(api: ApiClient, reply: { status: number; text: string; json: TaskDto }): Promise<TaskDto> {
  assert.equal(reply.status, 202, reply.text);
  const task = await eventually('the task to finish', async () => {
    const r = (await api.request<TaskDto>('GET', `/api/v1/tasks/${reply.json.id}`)).json;
    return r.status !== 'running' && r;
  });
  assert.equal(task.status, 'succeeded', task.error ?? '');
  return task;
}

test('qxt-srv metrics history: kept across a restart, exported, removed with its VM', async (t) => {
  const agentDir = await mkdtemp(join(tmpdir(), 'qxt-srv-agent-'));
  const dataDir = await mkdtemp(join(tmpdir(), 'qxt-srv-'));
  const port = await freePort();
  const agent: Child = await spawnAgent(agentDir, port);
  const pool = await createGuestPool();
  const name = srvName('history');
  const env = {
    QX_LOCAL_AGENT_ADDRESS: `127.0.0.1:${port}`,
    QX_LOCAL_AGENT_DATA_DIR: agentDir,
    QX_SERVER_METRICS_FLUSH_INTERVAL: '1',
  };
  let s: TestServer = await startTestServer(env, { dataDir });
  t.after(async () => {
    await s.stop();
    await removeDomain(name);
    await pool.remove();
    await agent.kill('SIGKILL');
    await rm(agentDir, { recursive: true, force: true });
    await rm(dataDir, { recursive: true, force: true });
  });
  let api = s.admin;
  const host = await eventually('the local host online', async () => {
    const hosts = (await api.request<HostDto[]>('GET', '/api/v1/hosts')).json;
    return hosts.find((h) => h.local && h.status === 'online');
  });
  const volume = await pool.addGuestDisk(`${name}.qcow2`);
  const task = await finished(
    api,
    await api.request<TaskDto>('POST', '/api/v1/vms', {
      body: {
        name,
        hostId: host.id,
        pool: pool.name,
        memoryMib: 128,
        disks: [{ pool: pool.name, volume }],
        start: true,
      },
    }),
  );
  const vmId = (task.result as { vmId: string }).vmId;

  // A viewer sees the host's last hour fill at 5 s steps with this machine's figures.
  const viewer = await s.userWithRole('viewer');
  const hostHistory = await eventually('two host samples in the history', async () => {
    const r = await viewer.request<HostMetricsHistoryDto>('GET', `/api/v1/hosts/${host.id}/metrics/history?range=1h`);
    assert.equal(r.status, 200, r.text);
    return r.json.samples.length >= 2 && r.json;
  });
  assert.equal(hostHistory.stepSeconds, 5);
  for (const p of hostHistory.samples) {
    // Stored as 32-bit floats: 7 significant digits.
    assert.ok(Math.abs(p.memoryTotalBytes - totalmem()) <= totalmem() * 1e-6, `${p.memoryTotalBytes} vs ${totalmem()}`);
    assert.ok(p.cpuPercent >= 0 && p.cpuPercent <= 100, `host cpu ${p.cpuPercent} %`);
    assert.ok(p.netRxBytesPerSecond >= 0);
    assert.ok(p.diskReadBytesPerSecond >= 0 && p.diskWriteOpsPerSecond >= 0);
  }
  // Host disk I/O: data written and synced here reaches the physical disk and the history's rates.
  await eventually('host disk writes in the history', async () => {
    const f = await open(join(dataDir, 'disk-io'), 'w');
    await f.write(Buffer.alloc(256 * 1024, 1));
    await f.sync();
    await f.close();
    const r = await viewer.request<HostMetricsHistoryDto>('GET', `/api/v1/hosts/${host.id}/metrics/history?range=1h`);
    return r.json.samples.some((p) => p.diskWriteBytesPerSecond > 0 && p.diskWriteOpsPerSecond > 0);
  });
  const day = (await viewer.request<HostMetricsHistoryDto>('GET', `/api/v1/hosts/${host.id}/metrics/history?range=1d`))
    .json;
  assert.equal(day.stepSeconds, 60);
  assert.ok(day.samples.length >= 1, 'the day view has the current minute');
  const vmHistory = await eventually('a VM sample in the history', async () => {
    const r = await viewer.request<VmMetricsHistoryDto>('GET', `/api/v1/vms/${vmId}/metrics/history?range=1y`);
    assert.equal(r.status, 200, r.text);
    return r.json.samples.length >= 1 && r.json;
  });
  assert.equal(vmHistory.stepSeconds, 1800);
  assert.equal(vmHistory.samples[0]!.memoryBytes, 128 * MiB, "the VM's configured memory");

  for (const path of [`/api/v1/hosts/${host.id}`, `/api/v1/vms/${vmId}`]) {
    const bad = await viewer.request('GET', `${path}/metrics/history?range=5m`);
    assert.equal(bad.status, 400, bad.text);
    assert.match(bad.text, /range/);
  }
  assert.equal((await viewer.request('GET', '/api/v1/hosts/no-such-host/metrics/history?range=1h')).status, 404);

  // /metrics: the host and VM series with their labels, in a format promtool accepts.
  const text = (await api.request('GET', '/metrics')).text;
  const h = `host="${host.name}",host_id="${host.id}"`;
  assert.equal(sample(text, `quantix_host_memory_total_bytes{${h}}`), totalmem());
  assert.ok(sample(text, `quantix_host_network_receive_bytes_total{${h}}`) >= 0);
  assert.ok(sample(text, `quantix_host_disk_written_bytes_total{${h}}`) > 0, 'host disk bytes written since boot');
  assert.ok(sample(text, `quantix_host_disk_reads_completed_total{${h}}`) > 0, 'host disk reads since boot');
  const cpu = sample(text, `quantix_host_cpu_utilization_ratio{${h}}`);
  assert.ok(cpu >= 0 && cpu <= 1, `host cpu ratio ${cpu}`);
  assert.equal(sample(text, `quantix_vm_memory_bytes{${h},vm="${name}",vm_id="${vmId}"}`), 128 * MiB);
  assert.ok(sample(text, `quantix_vm_disk_read_bytes_total{${h},vm="${name}",vm_id="${vmId}"}`) >= 0);
  const promFile = join(dataDir, 'exposition.txt');
  await writeFile(promFile, text);
  const check = await promisify(execFile)('sh', ['-c', `promtool check metrics < ${promFile} 2>&1; echo "rc=$?"`]);
  assert.match(check.stdout, /rc=0$/m, check.stdout);

  // Restart on the same data dir: the samples are read back before any new one arrives.
  const before = hostHistory.samples[0]!;
  await s.stop();
  s = await startTestServer(env, { dataDir, setup: false });
  api = s.client();
  await api.login('admin', ADMIN_PASSWORD);
  const after = await api.request<HostMetricsHistoryDto>('GET', `/api/v1/hosts/${host.id}/metrics/history?range=1h`);
  assert.equal(after.status, 200, after.text);
  assert.deepEqual(
    after.json.samples.find((p) => p.at === before.at),
    before,
    'the first sample survived the restart',
  );

  // The VM deleted: its series file and history go with it.
  const vmFile = s.services.history.fileOf('vm', vmId);
  await eventually('the VM series file written', () => exists(vmFile));
  await eventually(
    'the VM back in the inventory',
    async () => (await api.request('GET', `/api/v1/vms/${vmId}`)).status === 200,
  );
  await finished(api, await api.request<TaskDto>('POST', `/api/v1/vms/${vmId}/force-off`));
  await finished(api, await api.request<TaskDto>('DELETE', `/api/v1/vms/${vmId}?deleteDisks=true`));
  await eventually('the VM series file removed', async () => !(await exists(vmFile)));
  assert.equal((await api.request('GET', `/api/v1/vms/${vmId}/metrics/history?range=1h`)).status, 404);
  assert.ok(await exists(s.services.history.fileOf('host', host.id)), 'the host series stays');
});
