// Backups against the real libvirt + QEMU (TCG) and qemu-img, one guest boot: the test guest's
// data disk holds known bytes; full backup; ~1% of it changed through the guest agent;
// incremental; a cancelled backup leaves nothing listed and the chain usable; every point
// restores to a new VM whose disk equals the guest's disk at that point (qemu-img compare);
// verify names a flipped chunk; chain-aware delete; a shut-off VM is copied with qemu-img.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, open, readdir, readFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { BackupConsistency, BackupKind } from '@quantix/proto/v1/backup.js';
import { run } from '../exec/run.js';
import { Virsh } from '../libvirt/virsh.js';
import { startBackupGuest } from '../test-support/backup-guest.js';
import { guestWriteDevice, mountFreezableFs } from '../test-support/guest-file.js';
import { forceOffVm } from '../vm/vm-lifecycle.js';
import { BackupJobs } from './backup-create.js';
import { restoreBackup } from './backup-restore.js';
import { deleteBackup, listManifests, verifyBackup, vmBackupsDir } from './backup-store.js';
import { CHUNK_BYTES } from './chunk-sums.js';

const virsh = new Virsh('qemu:///system');
const MIB = 2 ** 20;
const DATA_BYTES = 16 * MIB;

/** Writes `data` at `offset` of the guest's /dev/vdb through qemu-ga. */
const guestWrite = (uuid: string, offset: number, data: Buffer) =>
  guestWriteDevice(virsh, uuid, '/dev/vdb', [{ offset, data }]);

async function patch(file: string, offset: number, data: Buffer): Promise<void> {
  const fh = await open(file, 'r+');
  await fh.write(data, 0, data.length, offset);
  await fh.close();
}

test('backup of a running VM: full, incremental, cancel, restore every point, verify, delete, then shut off', async (t) => {
  const g = await startBackupGuest(virsh, { prefix: 'qxt-bk', dataBytes: DATA_BYTES, bootTimeoutMs: 90_000 });
  const { dir, poolDir, pools, volumes, pool, uuid, name: vmName } = g;
  const restored: string[] = [];
  t.after(() => g.stop(restored));
  const states = [g.state0, join(dir, 'state1.raw'), join(dir, 'state2.raw')];

  const jobs = new BackupJobs(virsh, pools);
  let job = 0;
  const backup = async (forceFull = false) =>
    (await jobs.create({ vm: uuid, pool, forceFull, jobId: `j${job++}`, keepLast: 0 }, () => undefined)).backup;

  const full = await backup();
  assert.equal(full.kind, BackupKind.BACKUP_KIND_FULL);
  // The bare test guest has no filesystem its agent can freeze (tmpfs, initramfs): it froze none.
  assert.equal(full.consistency, BackupConsistency.BACKUP_CONSISTENCY_CRASH, 'qemu-ga froze nothing');
  assert.deepEqual(
    full.disks.map((d) => [d.target, d.capacityBytes]),
    [
      ['vda', full.disks[0]!.capacityBytes],
      ['vdb', DATA_BYTES],
    ],
  );

  // About 1% of the data disk changes (192 KiB of 16 MiB), written by the guest.
  const change1 = randomBytes(192 * 1024);
  await guestWrite(uuid, 5 * MIB, change1);
  await copyFile(states[0]!, states[1]!);
  await patch(states[1]!, 5 * MIB, change1);
  await mountFreezableFs(virsh, uuid);
  const incr = await backup();
  assert.equal(incr.kind, BackupKind.BACKUP_KIND_INCREMENTAL);
  assert.equal(incr.consistency, BackupConsistency.BACKUP_CONSISTENCY_APPLICATION, 'qemu-ga froze /mnt/qx');
  assert.equal(incr.parentId, full.id);
  const incrData = incr.disks.find((d) => d.target === 'vdb')!;
  assert.ok(incrData.storedBytes < 2 * MIB, `the incremental holds only the change: ${incrData.storedBytes} bytes`);

  // A cancelled backup: nothing listed, no temp dir, its checkpoint gone; the chain goes on.
  const cancelled = jobs.create({ vm: uuid, pool, forceFull: false, jobId: 'cancel-me', keepLast: 0 }, () => undefined);
  assert.equal(jobs.cancel('cancel-me'), true);
  await assert.rejects(cancelled, /cancelled/);
  const root = vmBackupsDir(await pools.activeRecord(pool), uuid);
  assert.deepEqual((await readdir(root)).sort(), [full.id, incr.id].sort());
  const checkpoints = (await virsh.exec(['checkpoint-list', uuid, '--name'])).split('\n').filter(Boolean);
  assert.deepEqual(checkpoints.sort(), [`qx-backup-${full.id}`, `qx-backup-${incr.id}`].sort());
  const change2 = randomBytes(64 * 1024);
  await guestWrite(uuid, 11 * MIB + 4096, change2);
  await copyFile(states[1]!, states[2]!);
  await patch(states[2]!, 11 * MIB + 4096, change2);
  const incr2 = await backup();
  assert.equal(incr2.parentId, incr.id);

  // Every point restores to a new VM whose data disk is the guest's disk at that point.
  for (const [i, point] of [full, incr, incr2].entries()) {
    const name = `${vmName}-r${i}`;
    restored.push(name);
    const r = await restoreBackup(
      { virsh, pools, volumes },
      { pool, vmUuid: uuid, id: point.id, name, targetPool: pool },
    );
    assert.notEqual(r.vmUuid, uuid, 'a restored VM gets a new UUID');
    assert.deepEqual(r.volumes, [`${name}-vda.qcow2`, `${name}-vdb.qcow2`]);
    await run('qemu-img', ['compare', '-f', 'qcow2', '-F', 'raw', join(poolDir, r.volumes[1]!), states[i]!]);
  }

  // Verify: intact, then a flipped byte in the full backup's data disk is reported by disk and offset.
  assert.equal((await verifyBackup(await pools.activeRecord(pool), uuid, incr2.id)).ok, true);
  const fullData = join(root, full.id, 'vdb.qcow2');
  const flipAt = CHUNK_BYTES + 1000;
  const byte = (await readFile(fullData)).subarray(flipAt, flipAt + 1);
  await patch(fullData, flipAt, Buffer.from([byte[0]! ^ 0xff]));
  const bad = await verifyBackup(await pools.activeRecord(pool), uuid, full.id);
  assert.equal(bad.ok, false);
  assert.deepEqual(
    bad.corruptions.map((c) => [c.disk, c.offset]),
    [['vdb', CHUNK_BYTES]],
  );

  // Delete: a point later incrementals depend on is refused unless the whole chain goes.
  const record = await pools.activeRecord(pool);
  await assert.rejects(deleteBackup(record, uuid, incr.id, false), new RegExp(`base of ${incr2.id}`));
  assert.deepEqual(
    (await deleteBackup(record, uuid, incr.id, true)).map((m) => m.id),
    [incr2.id, incr.id],
  );
  assert.deepEqual(
    (await listManifests(record, uuid)).map((m) => m.id),
    [full.id],
  );

  // Shut off: a full copy by qemu-img, "stopped" consistency, restorable.
  await forceOffVm(virsh, uuid);
  // …with retention keeping the newest point only: the older chain goes.
  const { backup: cold, prunedIds } = await jobs.create(
    { vm: uuid, pool, forceFull: false, jobId: 'cold', keepLast: 1 },
    () => undefined,
  );
  assert.deepEqual(prunedIds, [full.id]);
  assert.deepEqual(
    (await listManifests(record, uuid)).map((m) => m.id),
    [cold.id],
  );
  assert.equal(cold.kind, BackupKind.BACKUP_KIND_FULL);
  assert.equal(cold.consistency, BackupConsistency.BACKUP_CONSISTENCY_STOPPED);
  await run('qemu-img', ['compare', '-f', 'qcow2', '-F', 'raw', join(root, cold.id, 'vdb.qcow2'), states[2]!]);
});
