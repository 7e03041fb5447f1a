// Backups through the REST API against a real agent, libvirt and qemu-img (no guest boot: the VM
// stays shut off, so the agent copies its disk with qemu-img): back up into another pool of the
// host as a task, list, verify, a corrupted point fails its verify task and lands in the events
// log naming the disk and offset, delete is chain-aware, restore makes a new VM, viewers only read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { BackupDto } from '../dto/backups.js';
import type { EventDto } from '../dto/events.js';
import type { TaskDto } from '../dto/tasks.js';
import type { VmDto } from '../dto/vms.js';
import { removeDomain, srvName } from '../test-support/guest-pool.js';
import { startMoveFixture } from '../test-support/move-fixture.js';

test('backups over the API: back up, list, verify, corruption reported, delete, restore as a new VM', async (t) => {
  const f = await startMoveFixture(2);
  const restoredName = srvName('restored');
  t.after(async () => {
    await removeDomain(restoredName);
    await f.stop();
  });
  const api = f.s.admin;
  const [source, target] = f.pools;
  const vmId = await f.vm(srvName('bk'), source!);

  const backUp = async (retention: Record<string, number> = {}) => {
    const r = await api.request<TaskDto>('POST', `/api/v1/vms/${vmId}/backups`, {
      body: { pool: target!.name, ...retention },
    });
    assert.equal(r.status, 202, r.text);
    const done = await f.taskDone(r.json);
    assert.equal(done.status, 'succeeded', done.error ?? '');
    return done.result as BackupDto;
  };
  const first = await backUp();
  assert.deepEqual([first.kind, first.consistency, first.pool], ['full', 'stopped', target!.name]);
  const second = await backUp();
  const list = (await api.request<BackupDto[]>('GET', `/api/v1/vms/${vmId}/backups`)).json;
  assert.deepEqual(
    list.map((b) => b.id),
    [first.id, second.id],
  );
  assert.ok(list.every((b) => b.sizeBytes > 0 && b.disks[0]!.target === 'vda'));

  const point = (b: BackupDto) => `/api/v1/backups/${b.hostId}/${b.pool}/${b.vmUuid}/${b.id}`;
  const verify = async (b: BackupDto) => f.taskDone((await api.request<TaskDto>('POST', `${point(b)}/verify`)).json);
  assert.equal((await verify(second)).status, 'succeeded');

  // One flipped byte in the first point's disk: the verify task fails naming disk and offset,
  // and the events log has it.
  const file = join(target!.dir, 'backups', first.vmUuid, first.id, 'vda.qcow2');
  const fh = await open(file, 'r+');
  const byte = Buffer.alloc(1);
  await fh.read(byte, 0, 1, 4 * 2 ** 20 + 7);
  await fh.write(Buffer.from([byte[0]! ^ 0xff]), 0, 1, 4 * 2 ** 20 + 7);
  await fh.close();
  const bad = await verify(first);
  assert.equal(bad.status, 'failed');
  assert.match(bad.error ?? '', /disk vda at byte 4194304/);
  const events = (await api.request<EventDto[]>('GET', '/api/v1/event-log?kind=task.failed')).json;
  assert.ok(events.some((e) => e.message.includes('backup.verify') && e.message.includes('disk vda at byte 4194304')));

  // A viewer lists but cannot back up, restore or delete.
  const viewer = await f.s.userWithRole('viewer');
  assert.equal((await viewer.request('GET', `/api/v1/vms/${vmId}/backups`)).status, 200);
  assert.equal(
    (await viewer.request('POST', `/api/v1/vms/${vmId}/backups`, { body: { pool: target!.name } })).status,
    403,
  );
  assert.equal((await viewer.request('DELETE', point(first))).status, 403);

  const del = await api.request<{ deletedIds: string[] }>('DELETE', point(first));
  assert.equal(del.status, 200, del.text);
  assert.deepEqual(del.json.deletedIds, [first.id]);

  const r = await api.request<TaskDto>('POST', `${point(second)}/restore`, {
    body: { name: restoredName, targetPool: source!.name },
  });
  assert.equal(r.status, 202, r.text);
  const restored = await f.taskDone(r.json);
  assert.equal(restored.status, 'succeeded', restored.error ?? '');
  const newId = (restored.result as { vmId: string }).vmId;
  assert.notEqual(newId, vmId);
  const vm = (await api.request<VmDto>('GET', `/api/v1/vms/${newId}`)).json;
  assert.equal(vm.name, restoredName);
  assert.deepEqual(
    vm.disks.map((d) => [d.pool, d.volume]),
    [[source!.name, `${restoredName}-vda.qcow2`]],
  );

  // Retention by day: a third point today keeps only itself (all are full, nothing builds on them).
  const refused = await api.request('POST', `/api/v1/vms/${vmId}/backups`, {
    body: { pool: target!.name, keepWeekly: 0 },
  });
  assert.equal(refused.status, 400);
  assert.match(refused.text, /keepWeekly/);
  const third = await backUp({ keepDaily: 1 });
  assert.deepEqual(
    (await api.request<BackupDto[]>('GET', `/api/v1/vms/${vmId}/backups`)).json.map((b) => b.id),
    [third.id],
  );
});
