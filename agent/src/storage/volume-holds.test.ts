// What keeps a volume: a defined VM (running or not) using it, or a backing chain from any
// volume in any pool (ours, or a libvirt dir pool defined outside the agent, with relative or
// absolute backing names). Volume delete refuses it naming the holder; VM delete keeps it and
// says why; a linked clone racing a delete of its source never leaves a dangling overlay; a pool
// cannot be stopped while work runs into it. Real libvirt, qemu-img and PoolManager.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PoolKind, VolumeFormat } from '@quantix/proto/v1/storage.js';
import { CpuMode, DiskBus, Firmware, VideoModel, type VmSpec } from '@quantix/proto/v1/vm.js';
import { AgentError } from '../errors.js';
import { run } from '../exec/run.js';
import { defineVm, deleteVm } from '../vm/vm-define.js';
import { Virsh } from '../libvirt/virsh.js';
import { PoolManager } from './pool-manager.js';
import { Volumes } from './volumes.js';

const MIB = 1024 * 1024;
const virsh = new Virsh('qemu:///system');

function vmSpec(name: string, disks: { pool: string; volume: string }[]): VmSpec {
  return {
    name,
    uuid: '',
    sockets: 1,
    cores: 1,
    memoryMib: 64,
    firmware: Firmware.FIRMWARE_BIOS,
    machine: '',
    disks: disks.map((d) => ({ ...d, bus: DiskBus.DISK_BUS_VIRTIO, readonly: false })),
    cdroms: [],
    nics: [],
    bootOrder: [],
    vnc: false,
    videoModel: VideoModel.VIDEO_MODEL_NONE,
    description: '',
    tags: [],
    osType: 'linux',
    cpuMode: CpuMode.CPU_MODE_UNSPECIFIED,
    cpuModel: '',
    secureBoot: false,
    tpm: false,
    autostart: false,
    autostartOrder: 0,
    autostartDelaySeconds: 0,
    maxVcpus: 0,
    maxMemoryMib: 0,
  };
}

function held(pool: string, name: string, holder: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof AgentError, String(e));
    assert.equal(e.code, 'FAILED_PRECONDITION');
    assert.match(e.message, new RegExp(`^volume ${pool}/${name.replace(/\./g, '\\.')} is `));
    assert.match(e.message, holder);
    return true;
  };
}

test('a volume another VM uses or that backs a volume in any pool is never deleted', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'qxt-st-holds-data-'));
  const dirs = await Promise.all(['a', 'b', 'f'].map((x) => mkdtemp(join(tmpdir(), `qxt-st-holds-${x}-`))));
  for (const d of dirs) await chmod(d, 0o755);
  const [dirA, dirB, dirF] = dirs as [string, string, string];
  const a = `qxt-st-holds-a-${process.pid}`;
  const b = `qxt-st-holds-b-${process.pid}`;
  const foreign = `qxt-st-holds-f-${process.pid}`;
  const vm1 = `qxt-st-holds-vm1-${process.pid}`;
  const vm2 = `qxt-st-holds-vm2-${process.pid}`;
  const manager = new PoolManager({ dataDir, virsh });
  const volumes = new Volumes(manager, virsh);
  t.after(async () => {
    for (const vm of [vm1, vm2]) await virsh.exec(['undefine', vm]).catch(() => undefined);
    for (const p of [a, b]) await manager.delete(p, false).catch(() => undefined);
    await virsh.exec(['pool-destroy', foreign]).catch(() => undefined);
    for (const d of [dataDir, ...dirs]) await rm(d, { recursive: true, force: true });
  });
  await manager.create({ name: a, kind: PoolKind.POOL_KIND_DIR, sizeBytes: 0, filesystem: '', path: dirA });
  await manager.create({ name: b, kind: PoolKind.POOL_KIND_DIR, sizeBytes: 0, filesystem: '', path: dirB });
  await virsh.exec(['pool-create-as', foreign, 'dir', '--target', dirF]);
  const qcow2 = (pool: string, name: string) =>
    volumes.create({ pool, name, format: VolumeFormat.VOLUME_FORMAT_QCOW2, capacityBytes: 4 * MIB });

  // Backing chains from another of our pools (absolute name, written behind the agent's back)
  // and from a libvirt pool the agent does not manage (relative name through ..).
  await qcow2(a, 'base.qcow2');
  await run('qemu-img', [
    'create',
    '-q',
    '-f',
    'qcow2',
    '-b',
    join(dirA, 'base.qcow2'),
    '-F',
    'qcow2',
    join(dirB, 'over.qcow2'),
  ]);
  await qcow2(a, 'base2.qcow2');
  const relative = join('..', dirA.split('/').at(-1)!, 'base2.qcow2');
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', relative, '-F', 'qcow2', join(dirF, 'fover.qcow2')]);
  await virsh.exec(['pool-refresh', foreign]);
  await assert.rejects(
    volumes.delete(a, 'base.qcow2'),
    held(a, 'base.qcow2', new RegExp(`the backing file of linked clone\\(s\\) ${b}/over\\.qcow2`)),
  );
  await assert.rejects(
    volumes.delete(a, 'base2.qcow2'),
    held(a, 'base2.qcow2', new RegExp(`the backing file of linked clone\\(s\\) ${foreign}/fover\\.qcow2`)),
  );
  assert.ok(existsSync(join(dirA, 'base.qcow2')) && existsSync(join(dirA, 'base2.qcow2')));
  // Volumes of the foreign pool change through the same layer: deleting the overlay frees base2.
  await volumes.delete(foreign, 'fover.qcow2');
  await volumes.delete(a, 'base2.qcow2');
  assert.equal(existsSync(join(dirA, 'base2.qcow2')), false);

  // A raw volume the agent wrote, whose guest forged a qcow2 header naming base.qcow2, holds
  // nothing (QEMU reads it as raw): the record wins over the header.
  await volumes.create({ pool: b, name: 'forged.raw', format: VolumeFormat.VOLUME_FORMAT_RAW, capacityBytes: 4 * MIB });
  await run('qemu-img', [
    'create',
    '-q',
    '-f',
    'qcow2',
    '-u',
    '-b',
    'victim.qcow2',
    '-F',
    'qcow2',
    join(dataDir, 'h.qcow2'),
    '4M',
  ]);
  await qcow2(b, 'victim.qcow2');
  const fh = await open(join(dirB, 'forged.raw'), 'r+');
  await fh.write(await readFile(join(dataDir, 'h.qcow2')), 0, undefined, 0);
  await fh.close();
  await volumes.delete(b, 'victim.qcow2');

  // A shut-off VM using a volume holds it; VM delete with disks keeps what others hold and says why.
  await qcow2(a, 'shared.qcow2');
  await qcow2(a, 'own.qcow2');
  await defineVm(
    virsh,
    volumes,
    vmSpec(vm1, [
      { pool: a, volume: 'own.qcow2' },
      { pool: a, volume: 'shared.qcow2' },
      { pool: a, volume: 'base.qcow2' },
    ]),
  );
  await defineVm(virsh, volumes, vmSpec(vm2, [{ pool: a, volume: 'shared.qcow2' }]));
  await assert.rejects(
    volumes.delete(a, 'shared.qcow2'),
    held(a, 'shared.qcow2', new RegExp(`used by VM\\(s\\) ${vm1}, ${vm2}`)),
  );
  const kept = await deleteVm(virsh, volumes, vm1, true);
  assert.deepEqual(kept, [
    { pool: a, volume: 'shared.qcow2', path: join(dirA, 'shared.qcow2'), reason: `it is used by VM(s) ${vm2}` },
    {
      pool: a,
      volume: 'base.qcow2',
      path: join(dirA, 'base.qcow2'),
      reason: `it is the backing file of linked clone(s) ${b}/over.qcow2`,
    },
  ]);
  assert.equal(existsSync(join(dirA, 'own.qcow2')), false, 'what nothing holds is deleted');
  assert.deepEqual(await deleteVm(virsh, volumes, vm2, true), []);
  assert.equal(existsSync(join(dirA, 'shared.qcow2')), false);
});

test('a linked clone racing a delete of its source: one of them loses, never both win', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'qxt-st-race-data-'));
  const dir = await mkdtemp(join(tmpdir(), 'qxt-st-race-pool-'));
  const pool = `qxt-st-race-${process.pid}`;
  const manager = new PoolManager({ dataDir, virsh });
  const volumes = new Volumes(manager, virsh);
  t.after(async () => {
    await manager.delete(pool, false).catch(() => undefined);
    for (const d of [dataDir, dir]) await rm(d, { recursive: true, force: true });
  });
  await manager.create({ name: pool, kind: PoolKind.POOL_KIND_DIR, sizeBytes: 0, filesystem: '', path: dir });
  for (let i = 0; i < 4; i++) {
    await volumes.create({ pool, name: `src${i}.qcow2`, format: VolumeFormat.VOLUME_FORMAT_QCOW2, capacityBytes: MIB });
    const [clone, del] = await Promise.allSettled([
      volumes.clone({ pool, name: `src${i}.qcow2`, targetName: `clone${i}.qcow2`, targetPool: '', linked: true }),
      volumes.delete(pool, `src${i}.qcow2`),
    ]);
    assert.ok(
      clone.status === 'rejected' || del.status === 'rejected',
      `round ${i}: both the clone and the delete of its source succeeded`,
    );
    if (clone.status === 'fulfilled')
      assert.ok(existsSync(join(dir, `src${i}.qcow2`)), `round ${i}: the clone's backing file is gone`);
  }
});

test('a pool cannot be stopped or deleted while work runs into it, naming the pool and the work', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'qxt-st-busy-data-'));
  const dir = await mkdtemp(join(tmpdir(), 'qxt-st-busy-pool-'));
  const pool = `qxt-st-busy-${process.pid}`;
  const manager = new PoolManager({ dataDir, virsh });
  t.after(async () => {
    await manager.delete(pool, false).catch(() => undefined);
    for (const d of [dataDir, dir]) await rm(d, { recursive: true, force: true });
  });
  await manager.create({ name: pool, kind: PoolKind.POOL_KIND_DIR, sizeBytes: 0, filesystem: '', path: dir });
  const record = await manager.activeRecord(pool);
  const release = manager.beginTransfer(record, 'a copy of volume p/x as y into it');
  const busy = new RegExp(
    `pool ${pool} cannot be (stopped|deleted) while a copy of volume p/x as y into it is running`,
  );
  try {
    await assert.rejects(manager.stop(pool), busy);
    await assert.rejects(manager.delete(pool, false), busy);
  } finally {
    release();
  }
  await manager.stop(pool);
  await manager.delete(pool, false);
});
