// A guest owns the bytes of its raw disk and can write a qcow2 header into it whose backing file
// is any host file. The agent and libvirt then read that volume as qcow2; full and linked
// clones, resize, VM define and VM clone must refuse it (naming the volume, the pool and the
// path), and no byte of the host file may reach a volume. Real qemu-img, bubblewrap and a
// libvirt dir pool; linked clones made by the agent keep working.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdtemp, open, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PoolKind, VolumeFormat } from '@quantix/proto/v1/storage.js';
import { DiskBus, Firmware, type VmSpec } from '@quantix/proto/v1/vm.js';
import { AgentError } from '../errors.js';
import { run } from '../exec/run.js';
import { defineVm } from '../libvirt/vm-define.js';
import { Virsh } from '../libvirt/virsh.js';
import { volumeClone, volumeCreateOverlay, volumeInfo } from '../libvirt/volume.js';
import { PoolManager } from './pool-manager.js';
import { Volumes } from './volumes.js';

const MIB = 1024 * 1024;
const SECRET = 'QXT-HOSTILE-VOLUME-SECRET-7f3c9e';
const virsh = new Virsh('qemu:///system');

function vmSpec(name: string, pool: string, volume: string): VmSpec {
  return {
    name,
    uuid: '',
    sockets: 1,
    cores: 1,
    memoryMib: 64,
    firmware: Firmware.FIRMWARE_BIOS,
    machine: '',
    disks: [{ pool, volume, bus: DiskBus.DISK_BUS_VIRTIO, readonly: false }],
    cdroms: [],
    nics: [],
    bootOrder: [],
    vnc: false,
    description: '',
    tags: [],
    osType: 'linux',
  };
}

/** Writes `bytes` over the start of `file`, as a guest writing to its disk would. */
async function overwriteStart(file: string, bytes: Buffer): Promise<void> {
  const fh = await open(file, 'r+');
  try {
    await fh.write(bytes, 0, bytes.length, 0);
  } finally {
    await fh.close();
  }
}

/** No regular file in `dir` holds the secret (symlinks are not followed). */
async function assertNoSecretIn(dir: string): Promise<void> {
  for (const name of await readdir(dir)) {
    const path = join(dir, name);
    if (!(await lstat(path)).isFile()) continue;
    assert.ok(!(await readFile(path)).includes(SECRET), `${path} holds the host file's contents`);
  }
}

test('a raw volume rewritten as qcow2 backed by a host file: clone, resize and VM define refuse it', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'qxt-st-hostile-data-'));
  const poolDir = await mkdtemp(join(tmpdir(), 'qxt-st-hostile-pool-'));
  const outside = await mkdtemp(join(tmpdir(), 'qxt-st-hostile-host-'));
  const pool = `qxt-st-hostile-${process.pid}`;
  const vm = `qxt-st-hostile-vm-${process.pid}`;
  const manager = new PoolManager({ dataDir, virsh });
  const volumes = new Volumes(manager, virsh);
  t.after(async () => {
    await virsh.exec(['undefine', vm]).catch(() => undefined);
    await manager.delete(pool, false).catch(() => undefined);
    for (const d of [dataDir, poolDir, outside]) await rm(d, { recursive: true, force: true });
  });
  const secret = join(outside, 'secret.db.json');
  await writeFile(secret, SECRET.repeat(MIB / SECRET.length));
  await manager.create({ name: pool, kind: PoolKind.POOL_KIND_DIR, sizeBytes: 0, filesystem: '', path: poolDir });

  // The agent's own linked clones (a relative backing name in the pool) keep working.
  await volumes.create({ pool, name: 'base.qcow2', format: VolumeFormat.VOLUME_FORMAT_QCOW2, capacityBytes: 4 * MIB });
  const linked = await volumes.clone({
    pool,
    name: 'base.qcow2',
    targetName: 'linked.qcow2',
    targetPool: '',
    linked: true,
  });
  assert.equal(linked.backingVolume, 'base.qcow2');
  assert.equal((await volumes.resize(pool, 'linked.qcow2', 8 * MIB)).capacityBytes, 8 * MIB);
  const flat = await volumes.clone({
    pool,
    name: 'linked.qcow2',
    targetName: 'flat.qcow2',
    targetPool: '',
    linked: false,
  });
  assert.equal(flat.backingVolume, '');
  assert.equal(flat.capacityBytes, 8 * MIB);

  // The guest writes a qcow2 header into its raw disk: backing file = the host file.
  await volumes.create({ pool, name: 'guest.raw', format: VolumeFormat.VOLUME_FORMAT_RAW, capacityBytes: 4 * MIB });
  const header = join(outside, 'header.qcow2');
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-u', '-b', secret, '-F', 'raw', header, '4M']);
  const guestDisk = join(poolDir, 'guest.raw');
  await overwriteStart(guestDisk, await readFile(header));
  assert.equal(
    (await volumes.get(pool, 'guest.raw')).format,
    VolumeFormat.VOLUME_FORMAT_QCOW2,
    'the content now says qcow2',
  );
  // Why it matters: plain qemu-img, as root, reads the host file through it.
  const leak = join(outside, 'leak.raw');
  await run('qemu-img', ['convert', '-f', 'qcow2', '-O', 'raw', guestDisk, leak]);
  assert.ok((await readFile(leak)).includes(SECRET));
  await rm(leak);

  const refused = (path: string) => (e: unknown) => {
    assert.ok(e instanceof AgentError, String(e));
    assert.equal(e.code, 'FAILED_PRECONDITION');
    assert.match(e.message, new RegExp(`volume ${pool}/guest\\.raw`));
    assert.ok(e.message.includes(path), e.message);
    assert.ok(!e.message.includes(SECRET));
    return true;
  };
  const before = (await readdir(poolDir)).sort();
  await assert.rejects(
    volumes.clone({ pool, name: 'guest.raw', targetName: 'copy.qcow2', targetPool: '', linked: false }),
    refused(secret),
  );
  await assert.rejects(
    volumes.clone({ pool, name: 'guest.raw', targetName: 'overlay.qcow2', targetPool: '', linked: true }),
    refused(secret),
  );
  await assert.rejects(volumes.resize(pool, 'guest.raw', 8 * MIB), refused(secret));

  // A backing name inside the pool that is a symlink out of it: qemu-img cannot follow it.
  await symlink(secret, join(poolDir, 'innocent.raw'));
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-u', '-b', 'innocent.raw', '-F', 'raw', header, '4M']);
  await overwriteStart(guestDisk, await readFile(header));
  await assert.rejects(
    volumes.clone({ pool, name: 'guest.raw', targetName: 'copy.qcow2', targetPool: '', linked: false }),
    refused('innocent.raw'),
  );
  await rm(join(poolDir, 'innocent.raw'));
  assert.deepEqual((await readdir(poolDir)).sort(), before, 'nothing was written');

  // The VM side: libvirt reads the format from the content as well.
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-u', '-b', secret, '-F', 'raw', header, '4M']);
  await overwriteStart(guestDisk, await readFile(header));
  await virsh.exec(['pool-refresh', pool]);
  assert.match(await virsh.exec(['vol-dumpxml', '--pool', pool, 'guest.raw']), /<format type='qcow2'\/>/);
  await assert.rejects(defineVm(virsh, vmSpec(vm, pool, 'guest.raw')), refused(secret));
  assert.doesNotMatch(await virsh.exec(['list', '--all', '--name']), new RegExp(vm));
  await assert.rejects(volumeClone(virsh, pool, 'guest.raw', 'vclone.raw'), refused(secret));
  await assert.rejects(volumeCreateOverlay(virsh, pool, 'guest.raw', 'voverlay.qcow2'), refused(secret));
  assert.deepEqual((await readdir(poolDir)).sort(), before, 'nothing was written');
  // A linked clone within the pool still passes the gate every VM disk goes through.
  assert.deepEqual(await volumeInfo(virsh, pool, 'linked.qcow2'), {
    path: join(poolDir, 'linked.qcow2'),
    format: 'qcow2',
    capacityBytes: 8 * MIB,
  });

  await assertNoSecretIn(poolDir);
});
