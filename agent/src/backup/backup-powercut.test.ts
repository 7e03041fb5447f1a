// A backup the agent reported done survives a power cut of its pool, with real libvirt, qemu-img
// and a loop-device ext4 pool (no guest boot: the VM is shut off). The moment the backup job
// returns, the pool's filesystem is shut down without flushing its journal (`xfs_io -x -c
// shutdown`, no -f: what xfstests uses to simulate a power cut on ext4 and xfs), so whatever was
// not yet on disk is lost; then the pool comes back as after a reboot (unmounted, its loop device
// detached, a new PoolManager over the same data dir attaching and mounting it, the journal
// replayed). The backup is still listed with its whole manifest, verifies, and restores to the
// disk's bytes. Without the fsyncs of storage/durable-file.ts it is not listed at all.
// Before qemu-img's copies were flushed (FLUSHED_OUTPUT) it failed at verify: its default output
// cache mode, "unsafe", lost the copy's bytes while the fsynced manifest survived.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PoolKind } from '@quantix/proto/v1/storage.js';
import { VmSpec } from '@quantix/proto/v1/vm.js';
import { run } from '../exec/run.js';
import { Virsh } from '../libvirt/virsh.js';
import { loopFind } from '../storage/loop-device.js';
import { mountAt } from '../storage/mounts.js';
import { PoolManager } from '../storage/pool-manager.js';
import { storageKind } from '../storage/registry.js';
import { releaseStorageUnder } from '../storage/test-support/cleanup.js';
import { Volumes } from '../storage/volumes.js';
import { defineVm } from '../vm/vm-define.js';
import { BackupJobs } from './backup-create.js';
import { restoreBackup } from './backup-restore.js';
import { backupDir, backupMessage, diskSums, listManifests, verifyBackup } from './backup-store.js';

const virsh = new Virsh('qemu:///system');
const MIB = 2 ** 20;

test('a backup reported done survives a power cut of its pool: listed, complete, verified, restorable', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'qxt-backup-powercut-'));
  await chmod(dir, 0o755);
  const dataDir = join(dir, 'data');
  const prefix = `qxt-bkpc-${process.pid}-`;
  const src = `${prefix}src`;
  const target = `${prefix}dst`;
  const vmName = `${prefix}vm`;
  const restoredName = `${prefix}restored`;
  let pools = new PoolManager({ dataDir, virsh });
  t.after(async () => {
    for (const n of [restoredName, vmName]) await virsh.exec(['undefine', n]).catch(() => undefined);
    await pools.delete(target, true).catch(() => undefined);
    await pools.delete(src, false).catch(() => undefined);
    // Whatever a failure half-way left (a pool that did not come back, a shut-down mount).
    await releaseStorageUnder(dataDir, prefix, virsh);
    await rm(dir, { recursive: true, force: true });
  });

  const srcDir = join(dir, 'src');
  await mkdir(srcDir);
  await mkdir(dataDir);
  await pools.create({ name: src, kind: PoolKind.POOL_KIND_DIR, sizeBytes: 0, filesystem: '', path: srcDir });
  await pools.create({
    name: target,
    kind: PoolKind.POOL_KIND_LOOP,
    sizeBytes: 64 * MIB,
    filesystem: 'ext4',
    path: '',
  });
  // The VM's disk: 6 MiB of random bytes (two checksum chunks) in an 8 MiB disk, as a qcow2.
  const original = join(dir, 'original.raw');
  await writeFile(original, Buffer.concat([randomBytes(6 * MIB), Buffer.alloc(2 * MIB)]));
  await run('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', original, join(srcDir, 'disk.qcow2')]);
  await pools.volumesChanged(await pools.activeRecord(src));
  const vm = await defineVm(
    virsh,
    new Volumes(pools, virsh),
    VmSpec.fromPartial({ name: vmName, memoryMib: 128, disks: [{ pool: src, volume: 'disk.qcow2' }] }),
  );
  const uuid = vm.spec!.uuid;
  const before = await pools.activeRecord(target);

  const { backup } = await new BackupJobs(virsh, pools).create(
    { vm: uuid, pool: target, forceFull: false, jobId: 'powercut', keepLast: 0 },
    () => undefined,
  );
  // The power cut, the moment the backup is reported done: nothing more reaches the disk, and
  // the journal's running transaction (everything not fsynced since its last commit) is lost.
  await run('/usr/sbin/xfs_io', ['-x', '-c', 'shutdown', before.path]);
  await assert.rejects(writeFile(join(before.path, 'after-the-cut'), 'x'), /EIO/, 'the filesystem is down');

  // The reboot: the mount and the loop device go (and with them every cached page of the
  // filesystem); a new agent's PoolManager attaches the backing file again and mounts it (ext4
  // replays its journal).
  await storageKind('loop').deactivate(before);
  assert.equal(await mountAt(before.path), undefined, 'unmounted');
  // qemu-img's sandbox held a bind mount of the pool: the device detaches once the kernel has
  // torn that mount namespace down, which may finish after bwrap exited. Wait for it, bounded.
  let devices = await loopFind(before.backingFile!);
  for (const by = Date.now() + 30_000; devices.length && Date.now() < by; await sleep(200)) {
    devices = await loopFind(before.backingFile!);
  }
  assert.deepEqual(devices, [], 'the loop device is gone, and every cached page of the filesystem with it');
  pools = new PoolManager({ dataDir, virsh });
  await pools.ready;
  const after = await pools.activeRecord(target);
  assert.notEqual(await mountAt(after.path), undefined, 'the pool came back mounted');

  const listed = await listManifests(after, uuid);
  assert.deepEqual(
    listed.map((m) => m.id),
    [backup.id],
    'the backup reported done is still listed after the power cut',
  );
  const manifest = listed[0]!;
  assert.deepEqual(backupMessage(after, manifest), backup, 'its manifest is the one reported, whole');
  assert.equal(manifest.disks.length, 1);
  assert.equal(
    diskSums(manifest.disks[0]!).length,
    Math.ceil(manifest.disks[0]!.storedBytes / manifest.disks[0]!.chunkBytes),
  );
  const verified = await verifyBackup(after, uuid, backup.id);
  assert.deepEqual(verified.corruptions, [], 'verify finds nothing wrong');
  assert.equal(verified.ok, true);
  assert.equal(verified.bytesChecked, manifest.disks[0]!.storedBytes);

  // The copy holds the disk's bytes, and a restore gives them back.
  const copy = join(backupDir(after, uuid, backup.id), manifest.disks[0]!.file);
  await run('qemu-img', ['compare', '-f', 'qcow2', '-F', 'raw', copy, original]);
  const restored = await restoreBackup(
    { virsh, pools, volumes: new Volumes(pools, virsh) },
    { pool: target, vmUuid: uuid, id: backup.id, name: restoredName, targetPool: src },
  );
  assert.deepEqual(restored.volumes, [`${restoredName}-vda.qcow2`]);
  await run('qemu-img', ['compare', '-f', 'qcow2', '-F', 'raw', join(srcDir, restored.volumes[0]!), original]);
});
