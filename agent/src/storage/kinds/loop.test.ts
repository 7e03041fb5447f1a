// Loop pools count what other loop pools on the same filesystem promised: their backing files are
// sparse, so a second pool of 70% of the free space looked like it fit. Real PoolManager, losetup,
// mkfs and libvirt on a small ext4 of the test's own mounted as the agent's pools directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PoolKind } from '@quantix/proto/v1/storage.js';
import { AgentError } from '../../errors.js';
import { Virsh } from '../../libvirt/virsh.js';
import { libvirtPoolNames } from '../libvirt-pool.js';
import { loopList } from '../loop-device.js';
import { loopPoolSpace } from '../loop-space.js';
import { readMounts } from '../mounts.js';
import { PoolManager } from '../pool-manager.js';
import { releaseStorageUnder } from '../test-support/cleanup.js';
import { mountSmallFilesystem } from '../test-support/small-filesystem.js';

const MIB = 1024 * 1024;
const virsh = new Virsh('qemu:///system');

test('a second loop pool of 70% of the free space is refused with the figures; nothing is left behind', async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'qxt-loop-space-'));
  const dataDir = join(work, 'agent');
  const poolsDir = join(dataDir, 'pools');
  const prefix = `qxt-ls${process.pid}-`;
  const small = await mountSmallFilesystem(join(work, 'small-fs.img'), poolsDir, 256 * MIB);
  const manager = new PoolManager({ dataDir, virsh });
  t.after(async () => {
    for (const p of await manager.list().catch(() => [])) await manager.delete(p.name, true).catch(() => undefined);
    await releaseStorageUnder(dataDir, prefix, virsh);
    await small.release();
    await rm(work, { recursive: true, force: true });
  });
  const loop = (name: string, sizeBytes: number) =>
    manager.create({ name, kind: PoolKind.POOL_KIND_LOOP, sizeBytes, filesystem: 'ext4', path: '' });
  const seventyPercent = async () => Math.floor((0.7 * (await loopPoolSpace(poolsDir)).availableBytes) / MIB) * MIB;

  const first = `${prefix}a`;
  const size = await seventyPercent();
  await loop(first, size);
  const after = await loopPoolSpace(poolsDir);
  assert.equal(after.promises.length, 1);
  assert.equal(after.promises[0]!.owner, `pool ${first}`);
  assert.ok(after.promises[0]!.bytes > size / 2, 'the new pool has written little of its file');
  assert.ok(after.freeBytes > size, 'the filesystem alone would take a second pool of that size');

  const second = `${prefix}b`;
  await assert.rejects(loop(second, size), (e: unknown) => {
    assert.ok(e instanceof AgentError, String(e));
    assert.equal(e.code, 'RESOURCE_EXHAUSTED');
    assert.equal(e.field, 'size_bytes');
    assert.match(e.message, new RegExp(`^size_bytes: pool ${second} needs ${size} bytes, more than available: `));
    assert.match(e.message, new RegExp(`\\d+ bytes free on the filesystem of ${poolsDir}`));
    assert.match(e.message, new RegExp(`promised to loop pools .*\\(pool ${first}: \\d+ bytes\\)`));
    assert.match(e.message, /so \d+ bytes available$/);
    return true;
  });
  assert.deepEqual((await readdir(poolsDir)).sort(), ['lost+found', `${first}.img`], 'no backing file');
  assert.deepEqual(
    (await loopList()).filter((d) => d.backFile.includes(second)),
    [],
    'no loop device',
  );
  assert.deepEqual(
    (await readMounts()).filter((m) => m.mountPoint.includes(second)),
    [],
    'no mount',
  );
  assert.equal(existsSync(join(dataDir, 'mnt', second)), false, 'no mount point');
  assert.ok(!(await libvirtPoolNames(virsh)).includes(second), 'no libvirt pool');
  assert.deepEqual(
    (await manager.list()).map((p) => p.name),
    [first],
  );

  // Growing makes a promise too: the first pool cannot grow into what is not available either.
  const available = (await loopPoolSpace(poolsDir)).availableBytes;
  await assert.rejects(manager.grow(first, size + available + 16 * MIB), (e: unknown) => {
    assert.ok(e instanceof AgentError, String(e));
    assert.equal(e.code, 'RESOURCE_EXHAUSTED');
    assert.equal(e.field, 'size_bytes');
    assert.match(
      e.message,
      new RegExp(
        `^size_bytes: growing pool ${first} by \\d+ bytes needs more than available: .*\\(pool ${first}: \\d+ bytes\\)`,
      ),
    );
    return true;
  });
  assert.equal((await stat(join(poolsDir, `${first}.img`))).size, size, 'the backing file did not grow');

  // What is still available is still usable.
  const rest = (await loopPoolSpace(poolsDir)).availableBytes;
  await loop(`${prefix}c`, Math.floor((rest * 0.9) / MIB) * MIB);
});
