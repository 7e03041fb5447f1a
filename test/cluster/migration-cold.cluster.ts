// Cold migration between two real hosts (each its own libvirtd): a shut-off VM's disk streams
// A → server → B, the VM is defined on B with the same UUID and MAC and boots there, and nothing
// of it stays on A. A cancelled copy, and a copy that B refuses (a volume of that name is already
// there), leave the VM whole on A and nothing of this migration on B (B's own volume untouched).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TaskDto } from '../../server/src/dto/tasks.js';
import type { VmDto } from '../../server/src/dto/vms.js';
import { GUEST_QCOW2, eventually } from '../../server/src/test-support/guest-pool.js';
import { MigrationPreflight } from '../../server/src/services/migration-preflight.js';
import { coldMigrate } from '../../server/src/services/cold-migration.js';
import type { TaskRecord } from '../../server/src/store/records.js';
import { startTwoHosts, type TwoHosts } from './two-hosts.js';

const exec = promisify(execFile);

async function stoppedVm(cluster: TwoHosts, name: string): Promise<VmDto> {
  const vm = await cluster.createGuestVm(cluster.a, name);
  const off = await cluster.api.request<TaskDto>('POST', `/api/v1/vms/${vm.id}/force-off`);
  assert.equal((await cluster.waitTask(off.json.id)).status, 'succeeded');
  return (await cluster.api.request<VmDto>('GET', `/api/v1/vms/${vm.id}`)).json;
}

test('cold migration: a stopped VM moves to host B and boots there; cancel and refusal leave it on A', async (t) => {
  const cluster = await startTwoHosts();
  t.after(() => cluster.stop());
  const { api, a, b, server } = cluster;
  const preflight = new MigrationPreflight(server.services.pool, server.services.clusters);
  const migrate = async (vm: VmDto, signal = new AbortController().signal, bandwidthMibPerS = 0) => {
    const plan = await preflight.check(vm.id, { hostId: b.id });
    assert.deepEqual(
      { mode: plan.mode, pool: plan.pool, storageMove: plan.storageMove },
      {
        mode: 'cold',
        pool: b.pool,
        storageMove: false,
      },
    );
    const { done } = await server.services.tasks.start(
      { kind: 'vm.migrate.cold', target: { type: 'vm', id: vm.id, name: vm.name }, hostId: a.id, user: 'admin' },
      (ctx) => coldMigrate(plan, ctx, signal, { bandwidthMibPerS }),
    );
    return done;
  };
  const domains = async (host: typeof a) => (await host.virsh(['list', '--all', '--name'])).split('\n');

  await t.test('moves with its UUID and MAC, boots on B, nothing left on A', async (t) => {
    const vm = await stoppedVm(cluster, 'qxc-cold-move');
    const before = join(a.poolDir, `.${vm.name}.before`);
    await copyFile(join(a.poolDir, `${vm.name}.qcow2`), before);
    t.after(() => rm(before, { force: true }));
    const rec: TaskRecord = await migrate(vm);
    assert.equal(rec.status, 'succeeded', rec.error ?? '');
    assert.deepEqual((rec.result as { to: unknown }).to, { hostId: b.id, pool: b.pool });
    const moved = (await api.request<VmDto>('GET', `/api/v1/vms/${vm.id}`)).json;
    assert.deepEqual(
      { host: moved.hostId, state: moved.state, macs: moved.macs, disks: moved.disks.map((d) => d.pool) },
      { host: b.id, state: 'shutoff', macs: vm.macs, disks: [b.pool] },
    );
    assert.ok(!(await domains(a)).includes(vm.name), 'no definition left on A');
    assert.ok(!existsSync(join(a.poolDir, `${vm.name}.qcow2`)), 'no volume left on A');
    await exec('qemu-img', ['compare', '-q', before, join(b.poolDir, `${vm.name}.qcow2`)]);
    const start = await api.request<TaskDto>('POST', `/api/v1/vms/${vm.id}/start`);
    assert.equal((await cluster.waitTask(start.json.id)).status, 'succeeded');
    assert.match(await b.virsh(['domstate', vm.name]), /running/);
  });

  await t.test('cancelled mid-copy: the VM stays whole on A, nothing on B', async (t) => {
    const vm = await stoppedVm(cluster, 'qxc-cold-cancel');
    const before = join(a.poolDir, `.${vm.name}.before`);
    await copyFile(join(a.poolDir, `${vm.name}.qcow2`), before);
    t.after(() => rm(before, { force: true }));
    const abort = new AbortController();
    const done = migrate(vm, abort.signal, 1);
    await eventually('the copy under way', async () => {
      const task = server.services.tasks.list(20).find((x) => x.target.id === vm.id && x.kind === 'vm.migrate.cold');
      return task && (task.progress ?? 0) > 0 && task.phase.startsWith('copying');
    });
    abort.abort();
    const rec = await done;
    assert.equal(rec.status, 'failed');
    assert.equal(rec.error, `cancelled: ${vm.name} stays on ${a.name}`);
    const still = (await api.request<VmDto>('GET', `/api/v1/vms/${vm.id}`)).json;
    assert.deepEqual({ host: still.hostId, state: still.state }, { host: a.id, state: 'shutoff' });
    await exec('qemu-img', ['compare', '-q', before, join(a.poolDir, `${vm.name}.qcow2`)]);
    assert.ok(!(await domains(b)).includes(vm.name), 'no definition on B');
    assert.deepEqual(
      (await readdir(b.poolDir)).filter((f) => f.includes(vm.name)),
      [],
      'no volume (nor a partial upload) on B',
    );
  });

  await t.test("B refuses the copy (its pool has a volume of that name): B's volume stays, the VM on A", async () => {
    const vm = await stoppedVm(cluster, 'qxc-cold-clash');
    await copyFile(GUEST_QCOW2, join(b.poolDir, `${vm.name}.qcow2`));
    await b.virsh(['pool-refresh', b.pool]);
    const rec = await migrate(vm);
    assert.equal(rec.status, 'failed');
    assert.match(rec.error ?? '', /already exists/);
    assert.ok(existsSync(join(b.poolDir, `${vm.name}.qcow2`)), "B's own volume of that name is not removed");
    const still = (await api.request<VmDto>('GET', `/api/v1/vms/${vm.id}`)).json;
    assert.deepEqual({ host: still.hostId, state: still.state }, { host: a.id, state: 'shutoff' });
    assert.ok(!(await domains(b)).includes(vm.name), 'no definition on B');
  });
});
