// Storage move of a two-disk VM on one real host (agent + libvirt + QEMU) where the second disk
// cannot be copied (a volume of its name appears in the target pool after the preflight): the
// first disk's copy is removed again, the VM keeps both old disks, the clashing volume is untouched.
// Shut off (qemu-img copies) and running (block copies: the first mirror is aborted).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TaskDto } from '../dto/tasks.js';
import type { VmDto } from '../dto/vms.js';
import { GUEST_QCOW2, eventually, removeDomain, srvName, virsh } from '../test-support/guest-pool.js';
import { startMoveFixture, type FixturePool } from '../test-support/move-fixture.js';
import { MigrationPreflight } from './migration-preflight.js';
import { moveStorage } from './storage-move.js';

const exec = promisify(execFile);

test('qxt-srv storage move of two disks: a failing second disk rolls the first back', async (t) => {
  const f = await startMoveFixture(2);
  const domains: string[] = [];
  t.after(async () => {
    for (const d of domains) await removeDomain(d);
    await f.stop();
  });
  const [a, b] = f.pools as [FixturePool, FixturePool];
  const preflight = new MigrationPreflight(f.s.services.pool, f.s.services.clusters);

  /** A VM with a boot disk and a data disk (both copies of the test guest) in pool a; its id. */
  const twoDiskVm = async (name: string, start: boolean) => {
    await f.addGuestDisk(a, `${name}.qcow2`);
    await f.addGuestDisk(a, `${name}-data.qcow2`);
    domains.push(name);
    const created = await f.s.admin.request<TaskDto>('POST', '/api/v1/vms', {
      body: {
        name,
        hostId: f.host.id,
        pool: a.name,
        memoryMib: 128,
        disks: [
          { pool: a.name, volume: `${name}.qcow2` },
          { pool: a.name, volume: `${name}-data.qcow2` },
        ],
        start,
      },
    });
    assert.equal(created.status, 202, created.text);
    // Creating and starting a VM on a loaded 2-core machine can take more than taskDone's minute.
    const done = await eventually(
      'the VM created',
      async () => {
        const t = (await f.s.admin.request<TaskDto>('GET', `/api/v1/tasks/${created.json.id}`)).json;
        return t.status !== 'running' && t;
      },
      300_000,
    );
    assert.equal(done.status, 'succeeded', done.error ?? '');
    return (done.result as { vmId: string }).vmId;
  };

  const failingMove = async (name: string, start: boolean) => {
    const id = await twoDiskVm(name, start);
    const plan = await preflight.check(id, { hostId: f.host.id, poolId: b.name });
    // The clash appears after the preflight passed: the move itself meets it at the second disk.
    await f.addGuestDisk(b, `${name}-data.qcow2`);
    const { done } = await f.s.services.tasks.start(
      { kind: 'vm.migrate', target: { type: 'vm', id, name }, hostId: f.host.id, user: 'admin' },
      (ctx) => moveStorage(plan, ctx, new AbortController().signal),
    );
    const rec = await done;
    assert.equal(rec.status, 'failed');
    assert.match(rec.error ?? '', new RegExp(`${name}-data\\.qcow2`));
    assert.deepEqual(
      (await readdir(b.dir)).filter((x) => x.includes(name)),
      [`${name}-data.qcow2`],
      'only the clashing volume in the target pool: the first disk copied was removed',
    );
    await exec('qemu-img', ['compare', '-q', '-U', GUEST_QCOW2, join(b.dir, `${name}-data.qcow2`)]);
    const paths = [join(a.dir, `${name}.qcow2`), join(a.dir, `${name}-data.qcow2`)];
    // A running guest may write its own disks; a shut-off VM's must be as they were.
    if (!start) for (const p of paths) await exec('qemu-img', ['compare', '-q', GUEST_QCOW2, p]);
    const vm = (await f.s.admin.request<VmDto>('GET', `/api/v1/vms/${id}`)).json;
    assert.deepEqual(
      vm.disks.map((d) => `${d.pool}/${d.volume}`),
      [`${a.name}/${name}.qcow2`, `${a.name}/${name}-data.qcow2`],
    );
    return { id, paths };
  };

  await t.test('shut off: the copy of the first disk is deleted, the VM keeps its disks', async () => {
    const name = srvName('rb-cold');
    const { paths } = await failingMove(name, false);
    const xml = await virsh(['dumpxml', '--inactive', name]);
    for (const p of paths) assert.ok(xml.includes(p), `the definition still uses ${p}`);
  });

  await t.test('running: the first mirror aborted and its copy deleted, the VM runs on its disks', async () => {
    const name = srvName('rb-live');
    const { paths } = await failingMove(name, true);
    assert.equal((await virsh(['domstate', name])).trim(), 'running');
    const blk = await virsh(['domblklist', name]);
    for (const p of paths) {
      assert.ok(blk.includes(p), `the running VM still uses ${p}`);
      assert.match(await virsh(['blockjob', name, p, '--info']), /No current block job/);
    }
  });
});
