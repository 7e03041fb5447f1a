// The leading server killed (SIGKILL) in the middle of a live migration: the source agent's job goes
// on without it, and the server that takes over follows it to its end. Two real libvirt hosts
// (test/cluster/two-hosts.ts) on an etcd control plane of three server processes; a bandwidth limit
// keeps the copy running past the kill and the election. A followed migration completes (the VM runs on the
// destination) or is cancelled on the new leader (it stays on the source); either way the new
// leader's inventory and task say where it runs, nothing of the migration is left, and it moves again.
// Before the fix the new leader failed the task at once ("stopped leading") whatever the agents did.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TaskDto } from '../../server/src/dto/tasks.js';
import { eventually } from '../../server/src/test-support/guest-pool.js';
import { copying, migrate, oneCopyOn } from '../cluster/migration-checks.js';
import { startTwoHosts, type ClusterHost, type TwoHosts } from '../cluster/two-hosts.js';
import { startControlPlane, type ServerInstance } from './control-plane.js';

const leading = (s: ServerInstance) =>
  eventually(`server ${s.name} leading`, async () => (await s.health())?.leader, 60_000);

/** Moves VM `vmId` to `to` at `mibPerS`, kills `leader` once it copies; the task's id once `next` leads. */
async function killLeaderMidCopy(
  cluster: TwoHosts,
  vmId: string,
  to: ClusterHost,
  leader: ServerInstance,
  next: ServerInstance,
  mibPerS: number,
): Promise<string> {
  const started = await migrate(cluster, vmId, to, mibPerS);
  assert.equal(started.status, 202, started.text);
  await copying(cluster, started.json.id);
  await leader.child.kill('SIGKILL');
  await leading(next);
  cluster.useApi(next.api);
  return started.json.id;
}

test('a live migration survives a failover of the leading server', { timeout: 600_000 }, async (t) => {
  const plane = await startControlPlane();
  let first: ServerInstance | undefined;
  const cluster = await startTwoHosts({
    startServer: async (env) => {
      first = await plane.startServer('first', env);
      await leading(first);
      return first.api;
    },
  }).catch(async (err: unknown) => {
    await plane.close();
    throw err;
  });
  t.after(async () => {
    await plane.close();
    await cluster.stop();
  });
  const second = await plane.startServer('second');
  const third = await plane.startServer('third');
  const { a, b } = cluster;
  const vm = await cluster.createGuestVm(a, 'qxc-failover');

  await t.test('followed to its end: the VM runs on the destination', async () => {
    const id = await killLeaderMidCopy(cluster, vm.id, b, first!, second, 4);
    const task = await cluster.waitTask(id, 300_000);
    assert.equal(task.status, 'succeeded', task.error ?? '');
    assert.match(task.log.map((l) => l.message).join('\n'), /stopped leading before it finished: this one follows it/);
    await oneCopyOn(cluster, b, a, 'qxc-failover');
  });

  await t.test('cancelled on the new leader: the VM stays on the source', async () => {
    // Slower: still copying when the cancel reaches the new leader.
    const id = await killLeaderMidCopy(cluster, vm.id, a, second, third, 1);
    // Cancellable once the new leader has taken the task in.
    await eventually(
      'the cancel',
      async () => (await cluster.api.request<TaskDto>('POST', `/api/v1/tasks/${id}/cancel`)).status === 202,
      60_000,
    );
    const task = await cluster.waitTask(id, 300_000);
    assert.equal(task.status, 'failed');
    assert.match(task.error ?? '', /cancelled: qxc-failover keeps running on qxc-host-b/);
    await oneCopyOn(cluster, b, a, 'qxc-failover');
  });

  await t.test('it moves again', async () => {
    const back = await migrate(cluster, vm.id, a);
    assert.equal(back.status, 202, back.text);
    const moved = await cluster.waitTask(back.json.id, 300_000);
    assert.equal(moved.status, 'succeeded', moved.error ?? '');
    await oneCopyOn(cluster, a, b, 'qxc-failover');
  });
});
