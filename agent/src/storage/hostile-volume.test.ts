// A guest owns the bytes of its raw disk and can write a qcow2 header into it whose backing file
// is any host file or another volume of the pool. A volume the agent wrote keeps the format it
// was recorded with (a raw disk stays raw; an overlay keeps its backing volume). A volume the
// agent did not write is read as qcow2, and full and linked clones, resize, VM define and VM
// clone must refuse it when its chain leaves the pool (naming the volume and the path). No byte
// of another file may reach a volume. Real qemu-img, bubblewrap and a libvirt dir pool; linked
// clones made by the agent keep working.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdtemp, open, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PoolKind, VolumeFormat } from '@quantix/proto/v1/storage.js';
import { CpuMode, DiskBus, Firmware, VideoModel, type VmSpec } from '@quantix/proto/v1/vm.js';
import { AgentError } from '../errors.js';
import { run } from '../exec/run.js';
import { cloneVm, defineVm, deleteVm } from '../vm/vm-define.js';
import { Virsh } from '../libvirt/virsh.js';
import { volumeInfo } from '../libvirt/volume.js';
import { PoolManager } from './pool-manager.js';
import { receiveUpload } from './upload.js';
import { recordedVolumeFormat, VOLUME_FORMATS_FILE } from './volume-formats.js';
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

test('an unrecorded raw volume rewritten as qcow2 backed by a host file: clone, resize and VM define refuse it', async (t) => {
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

  // A raw disk the agent did not write (it was in the directory before: no record), whose guest
  // writes a qcow2 header into it: backing file = the host file.
  await run('qemu-img', ['create', '-q', '-f', 'raw', join(poolDir, 'guest.raw'), '4M']);
  assert.equal(await recordedVolumeFormat(poolDir, 'guest.raw'), undefined);
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
  await assert.rejects(defineVm(virsh, volumes, vmSpec(vm, pool, 'guest.raw')), refused(secret));
  assert.doesNotMatch(await virsh.exec(['list', '--all', '--name']), new RegExp(vm));
  await assert.rejects(
    volumes.clone({ pool, name: 'guest.raw', targetName: 'vclone.raw', targetPool: '', linked: false }),
    refused(secret),
  );
  await assert.rejects(
    volumes.clone({ pool, name: 'guest.raw', targetName: 'voverlay.qcow2', targetPool: '', linked: true }),
    refused(secret),
  );
  assert.deepEqual((await readdir(poolDir)).sort(), before, 'nothing was written');
  // A linked clone within the pool still passes the gate every VM disk goes through.
  assert.deepEqual(await volumeInfo(virsh, pool, 'linked.qcow2'), {
    path: join(poolDir, 'linked.qcow2'),
    format: 'qcow2',
    capacityBytes: 8 * MIB,
  });

  await assertNoSecretIn(poolDir);
});

/** Reads `file` through qemu-img as `format` (plain qemu-img, following any backing file). */
async function readAs(file: string, format: string, out: string): Promise<Buffer> {
  await run('qemu-img', ['convert', '-f', format, '-O', 'raw', file, out]);
  const bytes = await readFile(out);
  await rm(out);
  return bytes;
}

test('a recorded raw volume rewritten as qcow2 backed by another volume of the pool stays raw', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'qxt-st-forged-data-'));
  const poolDir = await mkdtemp(join(tmpdir(), 'qxt-st-forged-pool-'));
  const outside = await mkdtemp(join(tmpdir(), 'qxt-st-forged-out-'));
  const pool = `qxt-st-forged-${process.pid}`;
  const vm = `qxt-st-forged-vm-${process.pid}`;
  const vmLinked = `qxt-st-forged-lvm-${process.pid}`;
  const manager = new PoolManager({ dataDir, virsh });
  const volumes = new Volumes(manager, virsh);
  t.after(async () => {
    for (const name of [vmLinked, `${vm}-full`, vm]) await deleteVm(virsh, volumes, name, false).catch(() => undefined);
    await manager.delete(pool, false).catch(() => undefined);
    for (const d of [dataDir, poolDir, outside]) await rm(d, { recursive: true, force: true });
  });
  await manager.create({ name: pool, kind: PoolKind.POOL_KIND_DIR, sizeBytes: 0, filesystem: '', path: poolDir });
  const raw = (name: string) =>
    volumes.create({ pool, name, format: VolumeFormat.VOLUME_FORMAT_RAW, capacityBytes: 4 * MIB });

  // VM B's disk holds its data; VM A's guest forges a header in its own disk pointing at it.
  await raw('victim.raw');
  await writeFile(join(poolDir, 'victim.raw'), SECRET.repeat((4 * MIB) / SECRET.length / 2));
  await raw('guest.raw');
  const header = join(outside, 'header.qcow2');
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-u', '-b', 'victim.raw', '-F', 'raw', header, '4M']);
  const guestDisk = join(poolDir, 'guest.raw');
  await overwriteStart(guestDisk, await readFile(header));
  // Why it matters: read as qcow2 (the chain stays in the pool), it shows VM B's data.
  assert.ok((await readAs(guestDisk, 'qcow2', join(outside, 'leak.raw'))).includes(SECRET));
  assert.deepEqual(await recordedVolumeFormat(poolDir, 'guest.raw'), { format: 'raw' });

  const guest = await volumes.get(pool, 'guest.raw');
  assert.equal(guest.format, VolumeFormat.VOLUME_FORMAT_RAW, 'the record, not the header, decides');
  assert.equal(guest.capacityBytes, 4 * MIB);
  assert.equal(guest.backingVolume, '');
  const noSecret = async (name: string, format = 'raw') => {
    const bytes = await readAs(join(poolDir, name), format, join(outside, 'read.raw'));
    assert.ok(!bytes.includes(SECRET), `${name} shows VM B's data`);
    assert.ok(!(await readFile(join(poolDir, name))).includes(SECRET), `${name} holds VM B's data`);
  };

  // Full clone: a raw copy of the guest's own bytes (forged header included), recorded raw.
  const copy = await volumes.clone({ pool, name: 'guest.raw', targetName: 'copy.raw', targetPool: '', linked: false });
  assert.equal(copy.format, VolumeFormat.VOLUME_FORMAT_RAW);
  await noSecret('copy.raw');
  // Linked clone: an overlay that reads the guest's disk as raw.
  const overlay = await volumes.clone({
    pool,
    name: 'guest.raw',
    targetName: 'overlay.qcow2',
    targetPool: '',
    linked: true,
  });
  assert.equal(overlay.format, VolumeFormat.VOLUME_FORMAT_QCOW2);
  assert.equal(overlay.backingVolume, 'guest.raw');
  await noSecret('overlay.qcow2', 'qcow2');
  // Resize: grows the raw file; still raw.
  const grown = await volumes.resize(pool, 'guest.raw', 8 * MIB);
  assert.equal(grown.format, VolumeFormat.VOLUME_FORMAT_RAW);
  assert.equal(grown.capacityBytes, 8 * MIB);
  assert.equal((await lstat(guestDisk)).size, 8 * MIB);

  // The VM side: libvirt sniffs qcow2, the agent hands QEMU the disk as raw.
  await virsh.exec(['pool-refresh', pool]);
  assert.match(await virsh.exec(['vol-dumpxml', '--pool', pool, 'guest.raw']), /<format type='qcow2'\/>/);
  assert.deepEqual(await volumeInfo(virsh, pool, 'guest.raw'), {
    path: guestDisk,
    format: 'raw',
    capacityBytes: 8 * MIB,
  });
  await defineVm(virsh, volumes, vmSpec(vm, pool, 'guest.raw'));
  const xml = await virsh.exec(['dumpxml', vm]);
  assert.match(xml, /<driver name='qemu' type='raw'\/>\s*<source file='[^']*guest\.raw'/);
  // A full VM clone copies the disk as the raw it was recorded as (libvirt's vol-clone, which VM
  // clones used before, would have copied it as qcow2 through VM B's disk).
  const fullVm = await cloneVm(virsh, volumes, vm, `${vm}-full`, false);
  const fullDisk = fullVm.spec!.disks[0]!.volume;
  assert.deepEqual(await recordedVolumeFormat(poolDir, fullDisk), { format: 'raw' });
  await noSecret(fullDisk);
  assert.deepEqual(await deleteVm(virsh, volumes, `${vm}-full`, true), []);
  // A linked VM clone: an overlay backed by the disk read as raw.
  const linkedVm = await cloneVm(virsh, volumes, vm, vmLinked, true);
  const linkedDisk = linkedVm.spec!.disks[0]!.volume;
  assert.deepEqual(await recordedVolumeFormat(poolDir, linkedDisk), { format: 'qcow2', backing: 'guest.raw' });
  await noSecret(linkedDisk, 'qcow2');
  assert.deepEqual(await deleteVm(virsh, volumes, vmLinked, true), []);
  assert.equal(await recordedVolumeFormat(poolDir, linkedDisk), undefined, 'deleting the disk drops its record');
  assert.equal(await recordedVolumeFormat(poolDir, 'voverlay.qcow2'), undefined);
  assert.deepEqual(await recordedVolumeFormat(poolDir, 'vclone.raw'), undefined);

  // The agent's own linked clones keep working; one whose backing was changed behind the agent's
  // back (to VM B's disk, inside the pool) is refused.
  await volumes.create({ pool, name: 'base.qcow2', format: VolumeFormat.VOLUME_FORMAT_QCOW2, capacityBytes: 4 * MIB });
  await volumes.clone({ pool, name: 'base.qcow2', targetName: 'linked.qcow2', targetPool: '', linked: true });
  assert.equal((await volumeInfo(virsh, pool, 'linked.qcow2')).format, 'qcow2');
  const flat = await volumes.clone({
    pool,
    name: 'linked.qcow2',
    targetName: 'flat.qcow2',
    targetPool: '',
    linked: false,
  });
  assert.equal(flat.backingVolume, '');
  await volumes.clone({ pool, name: 'linked.qcow2', targetName: 'vflat.qcow2', targetPool: '', linked: false });
  assert.deepEqual(await recordedVolumeFormat(poolDir, 'vflat.qcow2'), { format: 'qcow2' });
  await run('qemu-img', [
    'rebase',
    '-q',
    '-u',
    '-f',
    'qcow2',
    '-b',
    'victim.raw',
    '-F',
    'raw',
    join(poolDir, 'linked.qcow2'),
  ]);
  const tampered = (e: unknown) => {
    assert.ok(e instanceof AgentError, String(e));
    assert.equal(e.code, 'FAILED_PRECONDITION');
    assert.match(
      e.message,
      new RegExp(`volume ${pool}/linked\\.qcow2: its backing file is ${join(poolDir, 'victim.raw')}`),
    );
    assert.ok(e.message.includes(join(poolDir, 'base.qcow2')), e.message);
    return true;
  };
  await assert.rejects(
    volumes.clone({ pool, name: 'linked.qcow2', targetName: 'x.qcow2', targetPool: '', linked: false }),
    tampered,
  );
  await assert.rejects(volumes.resize(pool, 'linked.qcow2', 8 * MIB), tampered);
  await assert.rejects(volumeInfo(virsh, pool, 'linked.qcow2'), tampered);

  // Deleting a volume drops its record; a new PoolManager on the same data dir still knows the rest.
  await volumes.delete(pool, 'copy.raw');
  assert.equal(await recordedVolumeFormat(poolDir, 'copy.raw'), undefined);
  const restarted = new Volumes(new PoolManager({ dataDir, virsh }), virsh);
  assert.equal((await restarted.get(pool, 'guest.raw')).format, VolumeFormat.VOLUME_FORMAT_RAW);
  assert.equal((await restarted.get(pool, 'overlay.qcow2')).backingVolume, 'guest.raw');
  await assert.rejects(
    restarted.clone({ pool, name: 'linked.qcow2', targetName: 'x.qcow2', targetPool: '', linked: true }),
    tampered,
  );
  const recorded = JSON.parse(await readFile(join(poolDir, VOLUME_FORMATS_FILE), 'utf8')) as { volumes: object };
  assert.deepEqual(Object.keys(recorded.volumes).sort(), [
    'base.qcow2',
    'flat.qcow2',
    'guest.raw',
    'linked.qcow2',
    'overlay.qcow2',
    'vflat.qcow2',
    'victim.raw',
  ]);
});

test('an uploaded qcow2 claiming 100 TiB is refused (OVA import bounded disk sizes, uploads did not)', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'qxt-st-huge-data-'));
  const poolDir = await mkdtemp(join(tmpdir(), 'qxt-st-huge-pool-'));
  const pool = `qxt-st-huge-${process.pid}`;
  const manager = new PoolManager({ dataDir, virsh });
  const volumes = new Volumes(manager, virsh);
  t.after(async () => {
    await manager.delete(pool, false).catch(() => undefined);
    for (const d of [dataDir, poolDir]) await rm(d, { recursive: true, force: true });
  });
  await manager.create({ name: pool, kind: PoolKind.POOL_KIND_DIR, sizeBytes: 0, filesystem: '', path: poolDir });
  const image = join(dataDir, 'huge.qcow2');
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', image, '100T']);
  const bytes = await readFile(image);
  const padded = Buffer.concat([bytes, Buffer.alloc((512 - (bytes.length % 512)) % 512)]);
  async function* messages() {
    yield {
      msg: {
        $case: 'header' as const,
        value: { pool, name: 'huge.qcow2', format: VolumeFormat.VOLUME_FORMAT_QCOW2, sizeBytes: padded.length },
      },
    };
    yield { msg: { $case: 'data' as const, value: padded } };
  }
  await assert.rejects(receiveUpload(manager, volumes, messages()), (e: unknown) => {
    assert.ok(e instanceof AgentError, String(e));
    assert.equal(e.code, 'INVALID_ARGUMENT');
    assert.match(e.message, /upload .*huge\.qcow2.*virtual size 109951162777600 bytes is more than/);
    return true;
  });
  assert.deepEqual(await readdir(poolDir), [], 'nothing left in the pool');
});
