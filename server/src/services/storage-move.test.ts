// Storage move on one real host (agent + libvirt + QEMU): a shut-off VM's disk copied into
// another pool (same bytes, old volume gone), a running VM's disk block-copied while it keeps
// running, and a cancelled block copy that leaves the VM on its old disk with nothing left behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { VmDto } from '../dto/vms.js';
import { GUEST_QCOW2, eventually, srvName, virsh } from '../test-support/guest-pool.js';
import { startMoveFixture, type FixturePool, type MoveFixture } from '../test-support/move-fixture.js';
import { MigrationPreflight } from './migration-preflight.js';
import { moveStorage } from './storage-move.js';
import type { TaskRecord } from '../store/records.js';

const exec = promisify(execFile);

async function vmDto(f: MoveFixture, id: string): Promise<VmDto> {
  return (await f.s.admin.request<VmDto>('GET', `/api/v1/vms/${id}`)).json;
}

/** The files a pool's directory holds (hidden temp files included). */
const files = (p: FixturePool) => readdir(p.dir);

test('qxt-srv storage move: stopped and running VMs change pool; a cancelled block copy leaves nothing', async (t) => {
  const f = await startMoveFixture(2);
  t.after(() => f.stop());
  const [a, b] = f.pools as [FixturePool, FixturePool];
  const preflight = new MigrationPreflight(f.s.services.pool, f.s.services.clusters);
  const run = async (id: string, signal = new AbortController().signal, bandwidthMibPerS = 0) => {
    const plan = await preflight.check(id, { hostId: f.host.id, poolId: b.name });
    const phases: string[] = [];
    const { done } = await f.s.services.tasks.start(
      { kind: 'vm.migrate', target: { type: 'vm', id, name: plan.name }, hostId: f.host.id, user: 'admin' },
      (ctx) =>
        moveStorage(
          plan,
          { ...ctx, progress: (p, phase) => (ctx.progress(p, phase), phases.push(phase ?? '')) },
          signal,
          {
            bandwidthMibPerS,
          },
        ),
    );
    return { done, phases };
  };

  await t.test('a shut-off VM: copied with the same content, the old volume deleted', async () => {
    const name = srvName('cold');
    const id = await f.vm(name, a);
    const { done } = await run(id);
    const rec: TaskRecord = await done;
    assert.equal(rec.status, 'succeeded', rec.error ?? '');
    assert.deepEqual((rec.result as { disks: unknown }).disks, [
      { fromPool: a.name, volume: `${name}.qcow2`, toPool: b.name, keptReason: '' },
    ]);
    const vm = await vmDto(f, id);
    assert.deepEqual(
      vm.disks.map((d) => `${d.pool}/${d.volume}`),
      [`${b.name}/${name}.qcow2`],
    );
    assert.ok(!existsSync(join(a.dir, `${name}.qcow2`)), 'the old volume is deleted');
    await exec('qemu-img', ['compare', '-q', GUEST_QCOW2, join(b.dir, `${name}.qcow2`)]);
    assert.match(await virsh(['domblklist', name]), new RegExp(`${b.dir}/${name}\\.qcow2`));
  });

  await t.test('a running VM: block-copied while it runs, then on the new volume', async () => {
    const name = srvName('live');
    const id = await f.vm(name, a, { start: true });
    const { done, phases } = await run(id);
    const rec = await done;
    assert.equal(rec.status, 'succeeded', rec.error ?? '');
    assert.ok(phases.includes(`copying ${name}.qcow2`) && phases.includes('switching'), phases.join(', '));
    assert.equal((await virsh(['domstate', name])).trim(), 'running');
    assert.match(await virsh(['domblklist', name]), new RegExp(`${b.dir}/${name}\\.qcow2`));
    assert.match(await virsh(['dumpxml', '--inactive', name]), new RegExp(`${b.dir}/${name}\\.qcow2`));
    const vm = await vmDto(f, id);
    assert.deepEqual(
      { state: vm.state, disks: vm.disks.map((d) => `${d.pool}/${d.volume}`) },
      { state: 'running', disks: [`${b.name}/${name}.qcow2`] },
    );
    assert.ok(!existsSync(join(a.dir, `${name}.qcow2`)), 'the old volume is deleted');
  });

  await t.test('a cancelled block copy: the VM runs on its old disk, no copy and no job left', async () => {
    const name = srvName('cancel');
    const id = await f.vm(name, a, { start: true });
    const abort = new AbortController();
    const { done } = await run(id, abort.signal, 1);
    const task = f.s.services.tasks;
    await eventually('the copy under way', async () => {
      const t = task.list(50).find((x) => x.target.id === id && x.kind === 'vm.migrate');
      return t && (t.progress ?? 0) > 0 && t.phase.startsWith('copying');
    });
    abort.abort();
    const rec = await done;
    assert.equal(rec.status, 'failed');
    assert.equal(rec.error, 'cancelled');
    assert.equal((await virsh(['domstate', name])).trim(), 'running');
    assert.match(await virsh(['domblklist', name]), new RegExp(`${a.dir}/${name}\\.qcow2`));
    assert.match(await virsh(['blockjob', name, join(a.dir, `${name}.qcow2`), '--info']), /No current block job/);
    assert.deepEqual(
      (await files(b)).filter((x) => x.includes(name)),
      [],
      'nothing of the VM in the target pool',
    );
    assert.equal((await vmDto(f, id)).disks[0]!.pool, a.name);
  });
});
