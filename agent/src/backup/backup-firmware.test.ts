// Firmware state in backups, with real libvirt and swtpm's state layout (no guest boot: the VM is
// shut off): a UEFI + TPM VM's variable store and TPM state are stored in the backup with their
// checksums, a restore to a new VM brings both back, and a changed byte in the stored variables is
// reported by verify and refuses the restore, leaving no VM or volume behind. A restore over the
// VM puts back its vCPUs, memory, variables and TPM state as they were at the point.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PoolKind } from '@quantix/proto/v1/storage.js';
import { Firmware, VmSpec } from '@quantix/proto/v1/vm.js';
import { run } from '../exec/run.js';
import { domainDumpXml } from '../libvirt/domain.js';
import { Virsh } from '../libvirt/virsh.js';
import { PoolManager } from '../storage/pool-manager.js';
import { Volumes } from '../storage/volumes.js';
import { tpmStateDir } from '../vm/tpm.js';
import { defineVm, updateVm } from '../vm/vm-define.js';
import { readVm } from '../vm/vm-read.js';
import { BackupJobs } from './backup-create.js';
import { restoreBackup, restoreBackupOverVm } from './backup-restore.js';
import { backupDir, getManifest, verifyBackup } from './backup-store.js';

const virsh = new Virsh('qemu:///system');

test('UEFI variables and TPM state: in the backup with checksums, back with a restore, corruption caught', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'qxt-backup-fw-'));
  await chmod(dir, 0o755);
  const poolDir = join(dir, 'pool');
  const pools = new PoolManager({ dataDir: join(dir, 'data'), virsh });
  const volumes = new Volumes(pools, virsh);
  const pool = `qxt-bkf-${process.pid}`;
  const names = [`qxt-bkf-vm-${process.pid}`, `qxt-bkf-r1-${process.pid}`, `qxt-bkf-r2-${process.pid}`];
  t.after(async () => {
    for (const n of names) await virsh.exec(['undefine', '--nvram', '--tpm', n]).catch(() => undefined);
    await pools.delete(pool, false).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });
  await run('mkdir', ['-p', poolDir, join(dir, 'data')]);
  await pools.create({ name: pool, kind: PoolKind.POOL_KIND_DIR, sizeBytes: 0, filesystem: '', path: poolDir });
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', join(poolDir, 'disk.qcow2'), '1M']);
  await pools.volumesChanged(await pools.activeRecord(pool));
  const spec = (name: string) =>
    VmSpec.fromPartial({
      name,
      memoryMib: 256,
      osType: 'other',
      firmware: Firmware.FIRMWARE_UEFI,
      tpm: true,
      disks: [{ pool, volume: 'disk.qcow2' }],
    });
  // State only this VM has: a variable store and a TPM state of random bytes.
  const nvram = randomBytes(128 * 1024);
  const tpm = randomBytes(9000);
  const vm = (await defineVm(virsh, volumes, spec(names[0]!), { nvram, tpmState: tpm })).spec!;

  const jobs = new BackupJobs(virsh, pools);
  const { backup } = await jobs.create(
    { vm: vm.uuid, pool, forceFull: false, jobId: 'fw', keepLast: 0 },
    () => undefined,
  );
  const record = await pools.activeRecord(pool);
  const manifest = await getManifest(record, vm.uuid, backup.id);
  assert.deepEqual(
    manifest.firmware?.map((f) => [f.kind, f.file, f.bytes]),
    [
      ['nvram', 'nvram.fd', nvram.length],
      ['tpm', 'tpm2-00.permall', tpm.length],
    ],
  );

  const restored = await restoreBackup(
    { virsh, pools, volumes },
    { pool, vmUuid: vm.uuid, id: backup.id, name: names[1]!, targetPool: pool },
  );
  const nvramPath = /<nvram[^>]*>([^<]+)</.exec(await domainDumpXml(virsh, restored.vmUuid, true))?.[1];
  assert.ok(nvramPath, 'the restored VM has a variable store');
  assert.deepEqual(await readFile(nvramPath), nvram, 'the UEFI variables came back');
  assert.deepEqual(
    await readFile(join(tpmStateDir(restored.vmUuid), 'tpm2/tpm2-00.permall')),
    tpm,
    'the TPM came back',
  );

  // One changed byte in the stored variables: verify names the file; a restore is refused.
  const fh = await open(join(backupDir(record, vm.uuid, backup.id), 'nvram.fd'), 'r+');
  await fh.write(Buffer.from([nvram[100]! ^ 0xff]), 0, 1, 100);
  await fh.close();
  const bad = await verifyBackup(record, vm.uuid, backup.id);
  assert.equal(bad.ok, false);
  assert.deepEqual(
    bad.corruptions.map((c) => c.detail),
    ['nvram.fd: does not match its checksum'],
  );
  await assert.rejects(
    restoreBackup(
      { virsh, pools, volumes },
      { pool, vmUuid: vm.uuid, id: backup.id, name: names[2]!, targetPool: pool },
    ),
    /nvram\.fd does not match its checksum/,
  );
  await assert.rejects(virsh.exec(['dominfo', names[2]!]), /failed to get domain|not found/i);
  assert.deepEqual(
    (await readdir(poolDir)).filter((f) => f.startsWith(names[2]!)),
    [],
    'no volume of the refused restore stays',
  );
});

test('restore over the VM brings back its vCPUs, memory, UEFI variables and TPM state as at the point', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'qxt-backup-over-'));
  await chmod(dir, 0o755);
  const poolDir = join(dir, 'pool');
  const pools = new PoolManager({ dataDir: join(dir, 'data'), virsh });
  const volumes = new Volumes(pools, virsh);
  const pool = `qxt-bko-${process.pid}`;
  const name = `qxt-bko-vm-${process.pid}`;
  t.after(async () => {
    await virsh.exec(['undefine', '--nvram', '--tpm', '--checkpoints-metadata', name]).catch(() => undefined);
    await pools.delete(pool, false).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });
  await run('mkdir', ['-p', poolDir, join(dir, 'data')]);
  await pools.create({ name: pool, kind: PoolKind.POOL_KIND_DIR, sizeBytes: 0, filesystem: '', path: poolDir });
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', join(poolDir, 'disk.qcow2'), '1M']);
  await pools.volumesChanged(await pools.activeRecord(pool));
  const spec = VmSpec.fromPartial({
    name,
    sockets: 1,
    cores: 1,
    memoryMib: 256,
    osType: 'other',
    firmware: Firmware.FIRMWARE_UEFI,
    tpm: true,
    disks: [{ pool, volume: 'disk.qcow2' }],
  });
  const nvram = randomBytes(128 * 1024);
  const tpm = randomBytes(9000);
  const vm = (await defineVm(virsh, volumes, spec, { nvram, tpmState: tpm })).spec!;
  const jobs = new BackupJobs(virsh, pools);
  const { backup } = await jobs.create(
    { vm: vm.uuid, pool, forceFull: false, jobId: 'over', keepLast: 0 },
    () => undefined,
  );

  // After the point: more vCPUs and memory, and the guest changed its variables and its TPM.
  await updateVm(virsh, volumes, vm.uuid, { ...vm, sockets: 2, memoryMib: 512 });
  const nvramPath = /<nvram[^>]*>([^<]+)</.exec(await domainDumpXml(virsh, vm.uuid, true))![1]!;
  const tpmFile = join(tpmStateDir(vm.uuid), 'tpm2/tpm2-00.permall');
  await writeFile(nvramPath, randomBytes(nvram.length));
  await writeFile(tpmFile, randomBytes(tpm.length));

  const r = await restoreBackupOverVm({ virsh, pools, volumes }, { pool, vmUuid: vm.uuid, id: backup.id, disks: [] });
  const back = (await readVm(virsh, vm.uuid)).spec!;
  assert.deepEqual([back.sockets, back.cores, back.memoryMib], [1, 1, 256], 'vCPUs and memory as at the point');
  assert.deepEqual(await readFile(nvramPath), nvram, 'the UEFI variables as at the point');
  assert.deepEqual(await readFile(tpmFile), tpm, 'the TPM state as at the point');
  assert.deepEqual([...r.restored].sort(), ['memory', 'nvram', 'tpm', 'vcpus']);
});
