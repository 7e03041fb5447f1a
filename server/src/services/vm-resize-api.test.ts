// vCPU and memory changes through the REST API with a real agent (#21), on a shut-off VM (the
// running case, with the guest seeing the new CPUs and memory, is test/vm/vm-resize.test.ts): the
// ceilings set at create and by PATCH, PUT vcpus / memory within them answering the VM and landing
// in the definition; beyond them, or a ceiling below the boot size, a 400 naming the field; a
// viewer gets 403.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostDto } from '../dto/hosts.js';
import type { VmDto } from '../dto/vms.js';
import type { TaskDto } from '../dto/tasks.js';
import { freePort, spawnAgent } from '../test-support/spawn.js';
import { startTestServer } from '../test-support/test-server.js';
import { createGuestPool, eventually, removeDomain, srvName, virsh } from '../test-support/guest-pool.js';

test('qxt-srv VM vCPUs and memory within their ceilings through the API', async (t) => {
  const agentDir = await mkdtemp(join(tmpdir(), 'qxt-srv-resize-'));
  const port = await freePort();
  const agent = await spawnAgent(agentDir, port);
  const pool = await createGuestPool();
  const name = srvName('resize');
  const s = await startTestServer({ QX_LOCAL_AGENT_ADDRESS: `127.0.0.1:${port}`, QX_LOCAL_AGENT_DATA_DIR: agentDir });
  t.after(async () => {
    await s.stop();
    await removeDomain(name);
    await pool.remove();
    await agent.kill('SIGKILL');
    await rm(agentDir, { recursive: true, force: true });
  });
  const api = s.admin;
  const host = await eventually('the local host online', async () =>
    (await api.request<HostDto[]>('GET', '/api/v1/hosts')).json.find((h) => h.local && h.status === 'online'),
  );
  await pool.addGuestDisk('boot.qcow2');
  const created = await api.request<TaskDto>('POST', '/api/v1/vms', {
    body: {
      name,
      hostId: host.id,
      pool: pool.name,
      cores: 2,
      memoryMib: 128,
      maxVcpus: 6,
      maxMemoryMib: 256,
      disks: [{ pool: pool.name, volume: 'boot.qcow2' }],
    },
  });
  assert.equal(created.status, 202, created.text);
  const task = await eventually('the create task', async () => {
    const r = (await api.request<TaskDto>('GET', `/api/v1/tasks/${created.json.id}`)).json;
    return r.status !== 'running' && r;
  });
  assert.equal(task.status, 'succeeded', task.error ?? '');
  const vmPath = `/api/v1/vms/${(task.result as { vmId: string }).vmId}`;
  const vm = (await api.request<VmDto>('GET', vmPath)).json;
  assert.deepEqual([vm.sockets, vm.cores, vm.maxVcpus, vm.memoryMib, vm.maxMemoryMib], [1, 2, 6, 128, 256]);

  const grown = await api.request<VmDto>('PUT', `${vmPath}/vcpus`, { body: { vcpus: 4 } });
  assert.equal(grown.status, 200, grown.text);
  assert.equal(grown.json.sockets * grown.json.cores, 4);
  assert.match(await virsh(['dumpxml', '--inactive', name]), /<vcpu placement='static' current='4'>6<\/vcpu>/);
  const more = await api.request<VmDto>('PUT', `${vmPath}/memory`, { body: { memoryMib: 192 } });
  assert.equal(more.status, 200, more.text);
  assert.equal(more.json.memoryMib, 192);

  const refusals: [string, unknown, RegExp][] = [
    ['vcpus', { vcpus: 8 }, /at most 6 vCPUs.*"field":"vcpus"/],
    ['vcpus', { vcpus: 3 }, /multiple of 2.*"field":"vcpus"/],
    ['vcpus', { vcpus: 0 }, /vcpus/],
    ['memory', { memoryMib: 512 }, /at most 256 MiB.*"field":"memory_mib"/],
  ];
  for (const [path, body, re] of refusals) {
    const r = await api.request('PUT', `${vmPath}/${path}`, { body });
    assert.equal(r.status, 400, r.text);
    assert.match(r.text, re);
  }
  const low = await api.request('PATCH', vmPath, { body: { maxVcpus: 2 } });
  assert.equal(low.status, 400, low.text);
  assert.match(low.text, /max_vcpus/);

  const viewer = await s.userWithRole('viewer');
  assert.equal((await viewer.request('PUT', `${vmPath}/vcpus`, { body: { vcpus: 2 } })).status, 403);
  assert.equal((await viewer.request('PUT', `${vmPath}/memory`, { body: { memoryMib: 128 } })).status, 403);
});
