// A full backup target, with real libvirt, qemu-img and a 64 MiB loop-device pool (no guest
// boot: the VMs are shut off): a disk larger than the pool's free space is refused before
// anything is written, naming the pool and the sizes; a disk whose file is small but whose copy
// is not (a compressed qcow2) fills the pool mid-way and is reported as a full target, with no
// temp dir, no backup and no space left behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PoolKind } from '@quantix/proto/v1/storage.js';
import { VmSpec } from '@quantix/proto/v1/vm.js';
import { AgentError } from '../errors.js';
import { run } from '../exec/run.js';
import { Virsh } from '../libvirt/virsh.js';
import { spaceFigures } from '../storage/filesystem.js';
import { PoolManager } from '../storage/pool-manager.js';
import { Volumes } from '../storage/volumes.js';
import { defineVm } from '../vm/vm-define.js';
import { BackupJobs } from './backup-create.js';
import { listManifests, vmBackupsDir } from './backup-store.js';

const virsh = new Virsh('qemu:///system');
const MIB = 2 ** 20;

test('a full backup target: refused before writing, or reported full mid-way with nothing left', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'qxt-backup-space-'));
  await chmod(dir, 0o755);
  const pools = new PoolManager({ dataDir: join(dir, 'data'), virsh });
  const volumes = new Volumes(pools, virsh);
  const src = `qxt-bks-src-${process.pid}`;
  const target = `qxt-bks-dst-${process.pid}`;
  const vms = [`qxt-bks-big-${process.pid}`, `qxt-bks-zip-${process.pid}`];
  t.after(async () => {
    for (const n of vms) await virsh.exec(['undefine', n]).catch(() => undefined);
    await pools.delete(target, true).catch(() => undefined);
    await pools.delete(src, false).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });
  const srcDir = join(dir, 'src');
  await run('mkdir', ['-p', srcDir, join(dir, 'data')]);
  await pools.create({ name: src, kind: PoolKind.POOL_KIND_DIR, sizeBytes: 0, filesystem: '', path: srcDir });
  const dst = await pools.create({
    name: target,
    kind: PoolKind.POOL_KIND_LOOP,
    sizeBytes: 64 * MIB,
    filesystem: 'ext4',
    path: '',
  });
  // 96 MiB of random bytes: its file alone is larger than the pool.
  await writeFile(join(dir, 'big.raw'), randomBytes(96 * MIB));
  await run('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', join(dir, 'big.raw'), join(srcDir, 'big.qcow2')]);
  // 96 MiB of one repeated non-zero line, compressed: a small file that copies out at full size.
  await writeFile(join(dir, 'zip.raw'), Buffer.alloc(96 * MIB, 'quantix backup '));
  await run('qemu-img', ['convert', '-c', '-f', 'raw', '-O', 'qcow2', join(dir, 'zip.raw'), join(srcDir, 'zip.qcow2')]);
  await rm(join(dir, 'big.raw'));
  await rm(join(dir, 'zip.raw'));
  await pools.volumesChanged(await pools.activeRecord(src));
  const uuids: string[] = [];
  for (const [i, volume] of ['big.qcow2', 'zip.qcow2'].entries()) {
    const vm = await defineVm(
      virsh,
      volumes,
      VmSpec.fromPartial({ name: vms[i]!, memoryMib: 128, disks: [{ pool: src, volume }] }),
    );
    uuids.push(vm.spec!.uuid);
  }
  const jobs = new BackupJobs(virsh, pools);
  const record = await pools.activeRecord(target);
  const freeBefore = (await spaceFigures(dst.path)).availableBytes;

  const refused = await jobs
    .create({ vm: uuids[0]!, pool: target, forceFull: false, jobId: 'big', keepLast: 0 }, () => undefined)
    .then(
      () => assert.fail('a 96 MiB disk was backed up into a 64 MiB pool'),
      (e: unknown) => e,
    );
  assert.ok(refused instanceof AgentError);
  assert.equal(refused.code, 'RESOURCE_EXHAUSTED');
  assert.match(
    refused.message,
    new RegExp(`backup target pool ${target} is full: .*needs about \\d+ MiB, \\d+ MiB free`),
  );

  const filled = await jobs
    .create({ vm: uuids[1]!, pool: target, forceFull: false, jobId: 'zip', keepLast: 0 }, () => undefined)
    .then(
      () => assert.fail('96 MiB were copied into a 64 MiB pool'),
      (e: unknown) => e,
    );
  assert.ok(filled instanceof AgentError);
  assert.equal(filled.code, 'RESOURCE_EXHAUSTED');
  assert.match(filled.message, new RegExp(`backup target pool ${target} filled up while backing up VM ${vms[1]}`));

  for (const uuid of uuids) {
    assert.deepEqual(await listManifests(record, uuid), [], 'no backup listed');
    assert.deepEqual(await readdir(vmBackupsDir(record, uuid)).catch(() => []), [], 'no temp dir left');
  }
  // The copy's file was bind-mounted into qemu-img's sandbox: the kernel lets go of it when that
  // mount namespace is torn down, which it may finish after bwrap exited (a fresh-clone run at
  // load 20 looked too early). Wait for the space, bounded.
  let free = 0;
  for (const by = Date.now() + 30_000; Date.now() < by; await new Promise((r) => setTimeout(r, 200))) {
    free = (await spaceFigures(dst.path)).availableBytes;
    if (free >= freeBefore - MIB) break;
  }
  assert.ok(free >= freeBefore - MIB, `the space came back within 30 s: ${free} of ${freeBefore} bytes free`);
});
