// PoolManager in-process with a fault hook: a failure injected after any step of creating a
// loop pool leaves nothing behind (no file, loop device, mount, directory, libvirt pool, record);
// invalid requests get errors that name the field; symlinks never count as volumes; a restart
// removes the temp files of interrupted work. Real loop devices, ext4 and libvirt.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { dirname, join } from 'node:path';
import { PoolKind, PoolState, VolumeFormat } from '@quantix/proto/v1/storage.js';
import { AgentError } from '../errors.js';
import { Virsh } from '../libvirt/virsh.js';
import { libvirtPoolNames } from './libvirt-pool.js';
import { loopList } from './loop-device.js';
import { readMounts } from './mounts.js';
import { PoolManager } from './pool-manager.js';
import { spaceFigures } from './filesystem.js';
import { Volumes } from './volumes.js';
import { VOLUME_FORMATS_FILE } from './volume-formats.js';

const MIB = 1024 * 1024;
const virsh = new Virsh('qemu:///system');
const CREATE_STEPS = ['backing-file', 'formatted', 'attached', 'mounted', 'libvirt-defined', 'libvirt-started'];

async function leftovers(dataDir: string, prefix: string): Promise<string[]> {
  const found: string[] = [];
  for (const d of await loopList()) if (d.backFile.startsWith(dataDir)) found.push(`loop ${d.name} ${d.backFile}`);
  for (const m of await readMounts()) if (m.mountPoint.startsWith(dataDir)) found.push(`mount ${m.mountPoint}`);
  for (const p of await libvirtPoolNames(virsh)) if (p.startsWith(prefix)) found.push(`libvirt pool ${p}`);
  return found;
}

function rejectsWith(field: string, code: string) {
  return (e: unknown) => e instanceof AgentError && e.code === code && e.field === field && e.message.includes(field);
}

test('a failure injected after any step of pool creation leaves nothing behind', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'qxt-st-fault-'));
  const prefix = `qxt-st-f${process.pid}-`;
  let failAt = '';
  const manager = new PoolManager({
    dataDir,
    virsh,
    step: (s) => {
      if (s === failAt) throw new Error(`injected failure after ${s}`);
    },
  });
  t.after(async () => {
    for (const p of await manager.list().catch(() => [])) await manager.delete(p.name, true).catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true });
  });

  for (const step of CREATE_STEPS) {
    failAt = step;
    const name = `${prefix}${step}`;
    await assert.rejects(
      manager.create({ name, kind: PoolKind.POOL_KIND_LOOP, sizeBytes: 64 * MIB, filesystem: 'ext4', path: '' }),
      new RegExp(`injected failure after ${step}`),
    );
    assert.deepEqual(await leftovers(dataDir, prefix), [], `after a failure at ${step}`);
    assert.equal(existsSync(join(dataDir, 'pools', `${name}.img`)), false, `backing file left after ${step}`);
    assert.equal(existsSync(join(dataDir, 'mnt', name)), false, `mount point left after ${step}`);
    assert.deepEqual(await manager.list(), []);
  }
  assert.equal(existsSync(join(dataDir, 'storage', 'pools.json')), false, 'no record was ever saved');

  // Without a fault the same pool comes up. A failure while growing it never shrinks the file
  // back (the filesystem may already use the new space); growing to the same size finishes.
  failAt = '';
  const pool = await manager.create({
    name: `${prefix}ok`,
    kind: PoolKind.POOL_KIND_LOOP,
    sizeBytes: 64 * MIB,
    filesystem: '',
    path: '',
  });
  assert.equal(pool.filesystem, 'ext4');
  const before = await spaceFigures(pool.path);
  failAt = 'device-grown';
  await assert.rejects(
    manager.grow(pool.name, 128 * MIB),
    /injected failure after device-grown.*stays at 134217728 bytes; grow the pool to 134217728 bytes again/,
  );
  assert.equal((await stat(pool.backingFile)).size, 128 * MIB);
  assert.equal((await spaceFigures(pool.path)).capacityBytes, before.capacityBytes);
  failAt = '';
  await assert.rejects(
    manager.grow(pool.name, 64 * MIB),
    (e: AgentError) => e.field === 'size_bytes' && /never shrink/.test(e.message),
  );
  const finished = await manager.grow(pool.name, 128 * MIB);
  assert.ok(
    finished.capacityBytes > before.capacityBytes + 50 * MIB,
    `${before.capacityBytes} → ${finished.capacityBytes}`,
  );
  const stored = JSON.parse(await readFile(join(dataDir, 'storage', 'pools.json'), 'utf8')) as {
    pools: { name: string }[];
  };
  assert.deepEqual(
    stored.pools.map((p) => p.name),
    [pool.name],
  );

  await manager.delete(pool.name, true);
  assert.deepEqual(await leftovers(dataDir, prefix), []);
  assert.equal(existsSync(pool.backingFile), false);
});

test('invalid pool requests are refused with errors naming the field, the pool or the path', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'qxt-st-inval-'));
  const dirA = await mkdtemp(join(tmpdir(), 'qxt-st-dir-'));
  const prefix = `qxt-st-i${process.pid}-`;
  const manager = new PoolManager({ dataDir, virsh });
  t.after(async () => {
    for (const p of await manager.list().catch(() => [])) await manager.delete(p.name, true).catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true });
    await rm(dirA, { recursive: true, force: true });
  });
  const loop = (over: Partial<Parameters<PoolManager['create']>[0]>) =>
    manager.create({
      name: `${prefix}l`,
      kind: PoolKind.POOL_KIND_LOOP,
      sizeBytes: 64 * MIB,
      filesystem: 'ext4',
      path: '',
      ...over,
    });
  const dir = (path: string, name = `${prefix}d`) =>
    manager.create({ name, kind: PoolKind.POOL_KIND_DIR, sizeBytes: 0, filesystem: '', path });

  await assert.rejects(loop({ name: '../etc' }), rejectsWith('name', 'INVALID_ARGUMENT'));
  await assert.rejects(loop({ sizeBytes: 0 }), rejectsWith('size_bytes', 'INVALID_ARGUMENT'));
  await assert.rejects(loop({ sizeBytes: -5 }), rejectsWith('size_bytes', 'INVALID_ARGUMENT'));
  await assert.rejects(loop({ sizeBytes: 2 ** 52 }), rejectsWith('size_bytes', 'RESOURCE_EXHAUSTED'));
  await assert.rejects(loop({ filesystem: 'btrfs' }), rejectsWith('filesystem', 'INVALID_ARGUMENT'));
  await assert.rejects(loop({ kind: PoolKind.POOL_KIND_UNSPECIFIED }), rejectsWith('kind', 'INVALID_ARGUMENT'));
  await assert.rejects(dir('relative/path'), rejectsWith('path', 'INVALID_ARGUMENT'));
  await assert.rejects(dir('/etc'), rejectsWith('path', 'INVALID_ARGUMENT'));
  await assert.rejects(dir(join(dirA, 'missing')), rejectsWith('path', 'INVALID_ARGUMENT'));
  await assert.rejects(dir(dataDir), rejectsWith('path', 'INVALID_ARGUMENT'));
  // System trees, libvirt's and Quantix's own, and their parents; shared directories themselves.
  for (const p of [
    '/',
    '/var',
    '/var/lib',
    '/var/lib/libvirt',
    '/var/lib/libvirt/images',
    '/root',
    '/opt',
    '/tmp',
    '/home',
  ]) {
    await assert.rejects(dir(p), rejectsWith('path', 'INVALID_ARGUMENT'), p);
  }

  const a = await dir(dirA);
  assert.equal(a.path, dirA);
  await assert.rejects(
    dir(dirA, `${prefix}d2`),
    (e: AgentError) => e.code === 'FAILED_PRECONDITION' && e.message.includes(`pool ${prefix}d`),
  );
  await mkdir(join(dirA, 'sub'));
  await assert.rejects(dir(join(dirA, 'sub'), `${prefix}d3`), /already in use by pool/);
  await assert.rejects(dir(dirA), (e: AgentError) => e.code === 'ALREADY_EXISTS');
  await assert.rejects(manager.grow(a.name, 128 * MIB), /only loop pools can be grown/);
  await assert.rejects(manager.delete(a.name, true), rejectsWith('delete_backing_file', 'INVALID_ARGUMENT'));
  await assert.rejects(manager.get(`${prefix}nope`), (e: AgentError) => e.code === 'NOT_FOUND');

  // A symlink planted in a dir pool is no volume: it could lead anywhere on the host.
  await symlink('/etc/passwd', join(dirA, 'passwd'));
  await writeFile(join(dirA, 'disk.raw'), Buffer.alloc(4096));
  const volumes = new Volumes(manager, virsh);
  await assert.rejects(
    volumes.get(a.name, 'passwd'),
    (e: AgentError) => e.field === 'name' && /symbolic link.*out of pool/.test(e.message),
  );
  await assert.rejects(volumes.delete(a.name, 'passwd'), /symbolic link/);
  assert.deepEqual(
    (await volumes.list(a.name, 0)).map((v) => v.name),
    ['disk.raw'],
  );

  await manager.delete(a.name, false);
  assert.ok(existsSync(dirA), 'a dir pool never removes its directory');
  assert.deepEqual(await leftovers(dataDir, prefix), []);
});

test('an unreadable pools.json keeps the agent up: every pool call fails with the reason, the file is kept', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'qxt-st-corrupt-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const file = join(dataDir, 'storage', 'pools.json');
  await mkdir(dirname(file), { recursive: true });
  for (const text of [
    '{"version": 1, "pools": [',
    '{"version": 1, "pools": [{"name": "qxt-st-x", "kind": "zfs", "path": "/x", "active": true}]}',
  ]) {
    await writeFile(file, text);
    const manager = new PoolManager({ dataDir, virsh });
    await sleep(200); // as in the agent: nobody waits for the restore before the first call
    const unreadable = (e: AgentError) => e.code === 'FAILED_PRECONDITION' && e.message.includes(file);
    await assert.rejects(manager.list(), unreadable);
    await assert.rejects(
      manager.create({
        name: 'qxt-st-new',
        kind: PoolKind.POOL_KIND_LOOP,
        sizeBytes: 64 * MIB,
        filesystem: '',
        path: '',
      }),
      unreadable,
    );
    assert.equal(await readFile(file, 'utf8'), text, 'the file is left for the operator');
  }
});
test('an agent restart removes what interrupted uploads, clones and OVA imports left in a pool, and nothing else', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'qxt-st-sweep-'));
  const dirA = await mkdtemp(join(tmpdir(), 'qxt-st-dir-'));
  const name = `qxt-st-s${process.pid}`;
  let manager = new PoolManager({ dataDir, virsh });
  t.after(async () => {
    await manager.delete(name, false).catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true });
    await rm(dirA, { recursive: true, force: true });
  });
  await manager.create({ name, kind: PoolKind.POOL_KIND_DIR, sizeBytes: 0, filesystem: '', path: dirA });
  await new Volumes(manager, virsh).create({
    pool: name,
    name: 'keep.raw',
    format: VolumeFormat.VOLUME_FORMAT_RAW,
    capacityBytes: MIB,
  });
  // What a kill -9 in the middle of an upload, a clone and an OVA import leaves behind.
  await writeFile(join(dirA, '.qx-upload-big.iso-0a1b2c3d'), Buffer.alloc(4096));
  await writeFile(join(dirA, '.qx-clone-copy.qcow2-4e5f6a7b'), Buffer.alloc(4096));
  await mkdir(join(dirA, '.qx-ova-staging-Xy12Ab'));
  await writeFile(join(dirA, '.qx-ova-staging-Xy12Ab', 'disk-0.img'), Buffer.alloc(4096));
  await writeFile(join(dirA, '.hidden-by-the-operator'), 'mine');

  manager = new PoolManager({ dataDir, virsh });
  await manager.ready;
  assert.deepEqual((await readdir(dirA)).sort(), ['.hidden-by-the-operator', VOLUME_FORMATS_FILE, 'keep.raw'].sort());
  assert.equal((await new Volumes(manager, virsh).get(name, 'keep.raw')).format, VolumeFormat.VOLUME_FORMAT_RAW);
});

test('while a start is slow to bring the pools up, a listing answers after 10 s and names them starting', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'qxt-st-starting-'));
  const dir = await mkdtemp(join(tmpdir(), 'qxt-st-dir-'));
  const name = `qxt-st-up${process.pid}`;
  let manager = new PoolManager({ dataDir, virsh });
  let release = () => {};
  t.after(async () => {
    release(); // a failed assertion must not leave the start held
    await manager.delete(name, false).catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true });
    await rm(dir, { recursive: true, force: true });
  });
  await manager.create({ name, kind: PoolKind.POOL_KIND_DIR, sizeBytes: 0, filesystem: '', path: dir });
  // As after a reboot: the libvirt pool is down, and the next start holds on bringing it up
  // (a busy host, where that took longer than the server's 30 s deadline for a listing).
  await virsh.exec(['pool-destroy', name]);
  const held = new Promise<void>((r) => (release = r));
  manager = new PoolManager({
    dataDir,
    virsh,
    step: (s) => (s === 'libvirt-started' ? held : undefined),
  });
  // It waits 10 s for the start, then answers.
  const listed = await Promise.race([manager.list(), sleep(20_000).then(() => 'no answer within 20 s')]);
  assert.deepEqual(typeof listed === 'string' ? listed : listed.map((p) => [p.name, p.state]), [
    [name, PoolState.POOL_STATE_STARTING],
  ]);
  assert.equal((await manager.get(name)).state, PoolState.POOL_STATE_STARTING);
  release();
  await manager.ready;
  assert.equal((await manager.get(name)).state, PoolState.POOL_STATE_ACTIVE);
});

/** The real virsh, with `pool-info` held until released: a libvirtd busy starting VMs after a boot. */
class SlowPoolInfo extends Virsh {
  hold: Promise<void> | undefined;
  override async exec(args: readonly string[], options?: Parameters<Virsh['exec']>[1]): Promise<string> {
    if (args[0] === 'pool-info' && this.hold) await this.hold;
    return super.exec(args, options);
  }
}

test("while libvirt is slow to answer about a pool, a listing answers within 10 s with libvirt's last word", async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'qxt-st-slowinfo-'));
  const dir = await mkdtemp(join(tmpdir(), 'qxt-st-dir-'));
  const name = `qxt-st-si${process.pid}`;
  const slow = new SlowPoolInfo('qemu:///system');
  let release = () => {};
  let manager = new PoolManager({ dataDir, virsh });
  t.after(async () => {
    release();
    await manager.delete(name, false).catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true });
    await rm(dir, { recursive: true, force: true });
  });
  await manager.create({ name, kind: PoolKind.POOL_KIND_DIR, sizeBytes: 0, filesystem: '', path: dir });
  // A new agent start brings the pool up (libvirt answers), then libvirt stops answering pool-info.
  manager = new PoolManager({ dataDir, virsh: slow });
  await manager.ready;
  slow.hold = new Promise<void>((r) => (release = r));
  const started = Date.now();
  const listed = await Promise.race([manager.list(), sleep(20_000).then(() => 'no answer within 20 s')]);
  assert.deepEqual(typeof listed === 'string' ? listed : listed.map((p) => [p.name, p.state]), [
    [name, PoolState.POOL_STATE_ACTIVE],
  ]);
  assert.ok(Date.now() - started < 15_000, `answered after ${Date.now() - started} ms`);
  // Once libvirt answers again, its answer counts: a pool stopped behind the agent's back is failed.
  release();
  slow.hold = undefined;
  await virsh.exec(['pool-destroy', name]);
  const after = await manager.get(name);
  assert.equal(after.state, PoolState.POOL_STATE_FAILED);
  assert.match(after.error, /libvirt pool .* is inactive/);
});
