// NfsMounts against a plain directory (this kernel has no NFS: the "export" is bind-mounted, the
// real mount.nfs4 runs in the appliance test): a target is mounted when opened, reports the
// mount's capacity, holds backups in the pool layout while leased, stays mounted while leased and
// is unmounted once idle; a read-only export is a permission error; an unopened one is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NfsTarget } from '@quantix/proto/v1/nfs-target.js';
import type { AgentError } from '../errors.js';
import { ErrorCode } from '../errors.js';
import { run } from '../exec/run.js';
import { mountAt } from '../storage/mounts.js';
import { backedUpVms, listManifests, makeTempDir, publishBackup, verifyBackup } from './backup-store.js';
import { NfsMounts, poolsWithNfs, type NfsMounter } from './nfs-mounts.js';
import { Virsh } from '../libvirt/virsh.js';
import { PoolManager } from '../storage/pool-manager.js';
import { oneDiskManifest } from '../test-support/stored-backup.js';

const UUID = '0f0e0d0c-0b0a-4909-8807-060504030201';

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.fail(`timed out waiting until ${what}`);
}

test('an NFS target mounts on open, holds backups in the pool layout, and unmounts when idle', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'qxt-nfs-'));
  const exportDir = join(dir, 'export');
  const readOnly = join(dir, 'export-ro');
  await mkdir(exportDir);
  await mkdir(readOnly);
  const mounted: string[] = [];
  // The export as a bind mount of a plain directory (read-only for the export named "ro").
  const bind: NfsMounter = async (target, at) => {
    await run('mount', ['--bind', target.name === 'ro' ? readOnly : exportDir, at]);
    mounted.push(at);
    if (target.name === 'ro') await run('mount', ['-o', 'remount,bind,ro', at]);
  };
  const mounts = new NfsMounts(join(dir, 'nfs'), { mounter: bind, idleMs: 100 });
  t.after(async () => {
    await mounts.close();
    for (const m of mounted) await run('umount', ['-l', m]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });
  const target: NfsTarget = {
    name: 'nas1',
    server: '10.0.2.50',
    exportPath: '/srv/backups',
    version: '4.2',
    options: [],
  };

  const status = await mounts.open(target);
  assert.equal(status.mountPoint, join(dir, 'nfs', 'nas1'));
  assert.ok(status.capacityBytes > 0 && status.availableBytes > 0, 'the mount reports its capacity');
  assert.deepEqual(await readdir(exportDir), ['backups'], 'the probe file is gone, the backups directory made');

  // A backup written through a lease lands in the export in the same layout as in a pool.
  const lease = await mounts.lease('nas1');
  assert.equal(lease.pool.name, 'nfs:nas1');
  assert.equal(mounts.leased('nfs:nas1')?.path, status.mountPoint);
  // The backup code's pool manager: nfs:<name> is the leased mount, any other name a pool of the host.
  const pools = poolsWithNfs(
    new PoolManager({ dataDir: join(dir, 'agent'), virsh: new Virsh('qemu:///system') }),
    mounts,
  );
  assert.equal((await pools.activeRecord('nfs:nas1')).path, status.mountPoint);
  await assert.rejects(pools.activeRecord('qxt-no-such-pool'), /pool qxt-no-such-pool not found/);
  const id = '20261205T040512Z-1a2b3c';
  const tmp = await makeTempDir(lease.pool, UUID, id);
  await writeFile(join(tmp, 'vda.qcow2'), Buffer.alloc(5 * 2 ** 20, 7));
  const manifest = await oneDiskManifest(tmp, id, UUID, 1);
  await publishBackup(lease.pool, manifest);
  assert.deepEqual(await readdir(join(exportDir, 'backups', UUID, id)), ['manifest.json', 'vda.qcow2']);
  assert.deepEqual(await backedUpVms(lease.pool), [UUID]);
  assert.deepEqual(
    (await listManifests(lease.pool, UUID)).map((m) => m.id),
    [id],
  );
  assert.equal((await verifyBackup(lease.pool, UUID, id)).ok, true);

  // Leased: still mounted well past the idle time; released: unmounted.
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(await mountAt(status.mountPoint), 'a leased target stays mounted');
  lease.release();
  await until('the idle target is unmounted', async () => !(await mountAt(status.mountPoint)));
  assert.throws(() => mounts.leased('nfs:nas1'), /not open on this host/);

  // The next use mounts it again and finds the backup.
  const listed = await mounts.during('nfs:nas1', async () => listManifests(mounts.leased('nfs:nas1')!, UUID));
  assert.deepEqual(
    listed.map((m) => m.id),
    [id],
  );

  await assert.rejects(mounts.lease('other'), /NFS backup target other is not open on this host/);
  await assert.rejects(
    mounts.open({ ...target, name: 'ro' }),
    (e: AgentError) =>
      e.code === ErrorCode.PermissionDenied &&
      /NFS backup target ro .* is mounted but the export is read-only/.test(e.message),
  );
  await assert.rejects(
    mounts.open({ ...target, name: 'bad', options: ['hard'] }),
    /options\[0\]: "hard" is not an allowed option/,
  );
});
