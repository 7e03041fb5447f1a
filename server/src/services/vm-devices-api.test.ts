// Autostart and device changes through the REST API with a real agent (#21), on a shut-off VM (the
// running case, with the guest seeing each change, is test/vm/vm-guest-ops.test.ts): autostart set
// at create and changed with PUT; an ISO inserted and ejected; a disk attached (its target listed)
// and detached; a NIC added and removed by MAC — each answering the VM. 400s name the field; a
// viewer gets 403.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostDto } from '../dto/hosts.js';
import type { VmDto } from '../dto/vms.js';
import type { TaskDto } from '../dto/tasks.js';
import { freePort, spawnAgent } from '../test-support/spawn.js';
import { startTestServer } from '../test-support/test-server.js';
import { GUEST_QCOW2, createGuestPool, eventually, removeDomain, srvName, virsh } from '../test-support/guest-pool.js';

test('qxt-srv VM autostart and device changes through the API', async (t) => {
  const agentDir = await mkdtemp(join(tmpdir(), 'qxt-srv-dev-'));
  const port = await freePort();
  const agent = await spawnAgent(agentDir, port, { QX_AGENT_AUTOSTART_MARKER: join(agentDir, 'autostart-boot-id') });
  const pool = await createGuestPool();
  const name = srvName('devices');
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
  await pool.addGuestDisk('boot.qcow2');
  await copyFile(GUEST_QCOW2, join(pool.dir, 'extra.qcow2'));
  await copyFile(GUEST_QCOW2.replace(/\.qcow2$/, '.iso'), join(pool.dir, 'media.iso'));
  await virsh(['pool-refresh', pool.name]);

  const created = await api.request<TaskDto>('POST', '/api/v1/vms', {
    body: {
      name,
      hostId: host.id,
      pool: pool.name,
      memoryMib: 128,
      disks: [{ pool: pool.name, volume: 'boot.qcow2' }],
      cdroms: [{}],
      autostart: true,
      autostartOrder: 3,
    },
  });
  assert.equal(created.status, 202, created.text);
  const task = await eventually('the create task', async () => {
    const r = (await api.request<TaskDto>('GET', `/api/v1/tasks/${created.json.id}`)).json;
    return r.status !== 'running' && r;
  });
  assert.equal(task.status, 'succeeded', task.error ?? '');
  const id = (task.result as { vmId: string }).vmId;
  const vmPath = `/api/v1/vms/${id}`;
  const vm = (await api.request<VmDto>('GET', vmPath)).json;
  assert.deepEqual(
    [vm.autostart, vm.autostartOrder, vm.autostartDelaySeconds, vm.guestAgentRunning, vm.diskTargets],
    [true, 3, 0, false, ['vda']],
  );

  // Autostart: changed in any state; bounds are 400s naming the field; a viewer may not.
  const auto = await api.request<VmDto>('PUT', `${vmPath}/autostart`, {
    body: { enabled: true, order: 20, delaySeconds: 15 },
  });
  assert.equal(auto.status, 200, auto.text);
  assert.deepEqual([auto.json.autostart, auto.json.autostartOrder, auto.json.autostartDelaySeconds], [true, 20, 15]);
  assert.match(await virsh(['dumpxml', '--inactive', name]), /<qx:autostart enabled="yes" order="20" delay="15"\/>/);
  const tooLate = await api.request('PUT', `${vmPath}/autostart`, {
    body: { enabled: true, order: 10_000, delaySeconds: 0 },
  });
  assert.equal(tooLate.status, 400, tooLate.text);
  assert.match(tooLate.text, /order/);
  const viewer = await s.userWithRole('viewer');
  const refused = await viewer.request('PUT', `${vmPath}/autostart`, {
    body: { enabled: false, order: 0, delaySeconds: 0 },
  });
  assert.equal(refused.status, 403, refused.text);
  assert.equal((await viewer.request('DELETE', `${vmPath}/nics/52:54:00:00:00:01`)).status, 403);

  // CD-ROM: insert and eject; half a volume reference and a drive that is no number are 400s.
  const inserted = await api.request<VmDto>('POST', `${vmPath}/cdroms/0/media`, {
    body: { pool: pool.name, volume: 'media.iso' },
  });
  assert.equal(inserted.status, 200, inserted.text);
  assert.deepEqual(inserted.json.cdroms[0], { pool: pool.name, volume: 'media.iso', bus: 'sata' });
  const half = await api.request('POST', `${vmPath}/cdroms/0/media`, { body: { pool: pool.name } });
  assert.equal(half.status, 400, half.text);
  assert.match(half.text, /volume/);
  const notADrive = await api.request('POST', `${vmPath}/cdroms/x/media`, { body: {} });
  assert.equal(notADrive.status, 400, notADrive.text);
  assert.match(notADrive.text, /index/);
  const ejected = await api.request<VmDto>('POST', `${vmPath}/cdroms/0/media`, { body: {} });
  assert.equal(ejected.status, 200, ejected.text);
  assert.deepEqual(ejected.json.cdroms[0], { pool: '', volume: '', bus: 'sata' });

  // Disk: attached (listed with its target), detached by target; the volume stays.
  const attached = await api.request<VmDto>('POST', `${vmPath}/disks`, {
    body: { pool: pool.name, volume: 'extra.qcow2' },
  });
  assert.equal(attached.status, 200, attached.text);
  assert.deepEqual(attached.json.diskTargets, ['vda', 'vdb']);
  assert.deepEqual(attached.json.disks[1], { pool: pool.name, volume: 'extra.qcow2', bus: 'virtio', readonly: false });
  const detached = await api.request<VmDto>('DELETE', `${vmPath}/disks/vdb`);
  assert.equal(detached.status, 200, detached.text);
  assert.deepEqual(detached.json.diskTargets, ['vda']);
  assert.match(await virsh(['vol-list', pool.name]), /extra\.qcow2/);

  // NIC: added with a generated MAC, removed by it.
  const withNic = await api.request<VmDto>('POST', `${vmPath}/nics`, { body: { kind: 'user', model: 'e1000' } });
  assert.equal(withNic.status, 200, withNic.text);
  const mac = withNic.json.macs[0]!;
  assert.match(mac, /^52:54:00:/);
  const noNic = await api.request<VmDto>('DELETE', `${vmPath}/nics/${mac}`);
  assert.equal(noNic.status, 200, noNic.text);
  assert.deepEqual(noNic.json.macs, []);
});
