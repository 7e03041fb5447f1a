// Restore over the original VM and restore of a single disk (#24) through the REST API against a
// real agent, libvirt and qemu-img (the VM stays shut off; its disk is changed with qemu-io): the
// name must be typed; the VM's disk equals the backed-up state afterwards (qemu-img compare) at
// the same path; a restore that fails (the stored copy damaged) leaves the VM's disk as it was and
// no restore file behind; one disk restores as a new volume equal to the backed-up state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { BackupDto } from '../dto/backups.js';
import type { TaskDto } from '../dto/tasks.js';
import type { VmDto } from '../dto/vms.js';
import { srvName } from '../test-support/guest-pool.js';
import { startMoveFixture } from '../test-support/move-fixture.js';

const exec = promisify(execFile);

/** qemu-img compare: true when the guest-visible contents are equal. */
async function sameContents(a: string, b: string): Promise<boolean> {
  try {
    await exec('qemu-img', ['compare', '-f', 'qcow2', '-F', 'qcow2', a, b]);
    return true;
  } catch (err) {
    if ((err as { code?: number }).code === 1) return false;
    throw err;
  }
}

test('restore over the original VM after typing its name, a failure leaves it as it was, one disk as a new volume', async (t) => {
  const f = await startMoveFixture(2);
  t.after(() => f.stop());
  const api = f.s.admin;
  const [source, target] = f.pools;
  const name = srvName('rs');
  const vmId = await f.vm(name, source!);
  const disk = join(source!.dir, `${name}.qcow2`);
  const atBackup = join(source!.dir, 'at-backup.qcow2');
  const changed = join(source!.dir, 'changed.qcow2');

  const r = await api.request<TaskDto>('POST', `/api/v1/vms/${vmId}/backups`, { body: { pool: target!.name } });
  const b = (await f.taskDone(r.json)).result as BackupDto;
  await copyFile(disk, atBackup);
  // The guest's disk changes after the backup: 1 MiB of 0xab at 1 MiB.
  await exec('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0xab 1M 1M', disk]);
  await copyFile(disk, changed);
  assert.equal(await sameContents(disk, atBackup), false);

  const point = `/api/v1/backups/${b.hostId}/${b.pool}/${b.vmUuid}/${b.id}`;
  const over = (confirmName: string, disks?: string[]) =>
    api.request<TaskDto>('POST', `${point}/restore-over`, { body: { confirmName, ...(disks ? { disks } : {}) } });
  const wrong = await over(`${name}x`);
  assert.equal(wrong.status, 400);
  assert.match(wrong.text, /confirmName/);
  const viewer = await f.s.userWithRole('viewer');
  assert.equal((await viewer.request('POST', `${point}/restore-over`, { body: { confirmName: name } })).status, 403);

  // The stored copy damaged: the restore fails before the VM's disk is touched.
  const stored = join(target!.dir, 'backups', b.vmUuid, b.id, 'vda.qcow2');
  const keep = join(target!.dir, 'vda.keep');
  await copyFile(stored, keep);
  const fh = await open(stored, 'r+');
  await fh.write(Buffer.alloc(4), 0, 4, 0); // no qcow2 magic any more
  await fh.close();
  const failed = await f.taskDone((await over(name, ['vda'])).json);
  assert.equal(failed.status, 'failed');
  assert.ok(await sameContents(disk, changed), "the VM's disk is as it was");
  assert.deepEqual(
    (await readdir(source!.dir)).filter((x) => /restore|pre-restore/.test(x)),
    [],
    'no restore file is left behind',
  );
  await copyFile(keep, stored);

  const ok = await f.taskDone((await over(name)).json);
  assert.equal(ok.status, 'succeeded', ok.error ?? '');
  // Same vCPUs and memory, no firmware state: nothing besides the disk to bring back.
  assert.deepEqual(ok.result, { volumes: [`${source!.name}/${name}.qcow2`], restored: [] });
  assert.ok(await sameContents(disk, atBackup), "the VM's disk holds the backed-up state");
  const vm = (await api.request<VmDto>('GET', `/api/v1/vms/${vmId}`)).json;
  assert.deepEqual(
    vm.disks.map((d) => [d.pool, d.volume]),
    [[source!.name, `${name}.qcow2`]],
  );

  // One disk as a new volume.
  const one = await api.request<TaskDto>('POST', `${point}/restore-disk`, {
    body: { disk: 'vda', targetPool: source!.name, name: 'vda-restored.qcow2' },
  });
  assert.equal(one.status, 202, one.text);
  const oneDone = await f.taskDone(one.json);
  assert.equal(oneDone.status, 'succeeded', oneDone.error ?? '');
  assert.deepEqual(oneDone.result, { pool: source!.name, volume: 'vda-restored.qcow2' });
  assert.ok(await sameContents(join(source!.dir, 'vda-restored.qcow2'), atBackup));
  const noDisk = await api.request<TaskDto>('POST', `${point}/restore-disk`, {
    body: { disk: 'vdz', targetPool: source!.name, name: 'vdz.qcow2' },
  });
  const noDiskDone = await f.taskDone(noDisk.json);
  assert.match(noDiskDone.error ?? '', /has no disk vdz/);
});
