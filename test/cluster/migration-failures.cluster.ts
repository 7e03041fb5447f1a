// A live migration interrupted halfway — cancelled, the destination agent killed, the link cut, the
// source agent restarted — leaves exactly one running copy (on the source), its disk intact, and no
// domain, volume or socket of the migration on either host. A 1 MiB/s bandwidth limit keeps each
// migration running until the test interrupts it (the test waits on the task's progress, not on time).
// A vDC server restarted mid-copy is different: the source agent's job goes on, and the restarted
// server follows it to its end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TaskDto } from '../../server/src/dto/tasks.js';
import { bothOnline, copying, extraPorts, migrate, oneCopyOn } from './migration-checks.js';
import { startTwoHosts } from './two-hosts.js';

test('interrupted live migrations leave one running copy and nothing else', { timeout: 1_800_000 }, async (t) => {
  const cluster = await startTwoHosts();
  t.after(() => cluster.stop());
  const { api, a, b } = cluster;
  const vm = await cluster.createGuestVm(a, 'qxc-fail');

  await t.test('cancel', async () => {
    const started = await migrate(cluster, vm.id, b, 1);
    assert.equal(started.status, 202, started.text);
    await copying(cluster, started.json.id);
    // The destination's migration pipe is open now (the check after the cancel sees such a port).
    assert.equal((await extraPorts(cluster, b)).length, 1, 'one pipe port on the destination while it copies');
    assert.equal((await extraPorts(cluster, a)).length, 0, 'no port on the source');
    const cancel = await api.request<TaskDto>('POST', `/api/v1/tasks/${started.json.id}/cancel`);
    assert.equal(cancel.status, 202, cancel.text);
    assert.equal(cancel.json.phase, 'cancelling');
    const task = await cluster.waitTask(started.json.id, 300_000);
    assert.equal(task.status, 'failed');
    assert.match(task.error ?? '', /cancelled: qxc-fail keeps running on/);
    const late = await api.request('POST', `/api/v1/tasks/${started.json.id}/cancel`);
    assert.equal(late.status, 409, 'a finished task cannot be cancelled');
    await oneCopyOn(cluster, a, b, 'qxc-fail');
  });

  await t.test('destination agent killed', async () => {
    const started = await migrate(cluster, vm.id, b, 1);
    assert.equal(started.status, 202, started.text);
    await copying(cluster, started.json.id);
    await b.killAgent();
    const task = await cluster.waitTask(started.json.id, 300_000);
    assert.equal(task.status, 'failed');
    await b.startAgent();
    await bothOnline(cluster);
    await oneCopyOn(cluster, a, b, 'qxc-fail');
  });

  await t.test('link cut', async () => {
    const started = await migrate(cluster, vm.id, b, 1);
    assert.equal(started.status, 202, started.text);
    await copying(cluster, started.json.id);
    await cluster.linkDown();
    try {
      const task = await cluster.waitTask(started.json.id, 300_000);
      assert.equal(task.status, 'failed');
    } finally {
      await cluster.linkUp();
    }
    await bothOnline(cluster);
    await oneCopyOn(cluster, a, b, 'qxc-fail');
  });

  // The source agent's job goes on while the vDC server restarts: the restarted server follows it
  // to its end (the VM arrives on B) and ends the destination's side (no pipe port left open).
  await t.test('vDC server restarted', async () => {
    const started = await migrate(cluster, vm.id, b, 4);
    assert.equal(started.status, 202, started.text);
    await copying(cluster, started.json.id);
    await cluster.restartServer();
    const task = await cluster.waitTask(started.json.id, 300_000);
    assert.equal(task.status, 'succeeded', task.error ?? '');
    assert.match(
      task.log.map((l) => l.message).join('\n'),
      /the server restarted while this task ran: this one follows it/,
    );
    await oneCopyOn(cluster, b, a, 'qxc-fail');
    // Back to A for the next case.
    const back = await migrate(cluster, vm.id, a);
    assert.equal(back.status, 202, back.text);
    assert.equal((await cluster.waitTask(back.json.id, 300_000)).status, 'succeeded');
    await oneCopyOn(cluster, a, b, 'qxc-fail');
  });

  await t.test('source agent restarted', async () => {
    const started = await migrate(cluster, vm.id, b, 1);
    assert.equal(started.status, 202, started.text);
    await copying(cluster, started.json.id);
    await a.killAgent();
    await a.startAgent();
    await bothOnline(cluster);
    const task = await cluster.waitTask(started.json.id, 300_000);
    assert.equal(task.status, 'failed');
    await oneCopyOn(cluster, a, b, 'qxc-fail');
    // The restarted agent ended the interrupted job: libvirt lets the VM move again at once.
    const again = await migrate(cluster, vm.id, b);
    assert.equal(again.status, 202, again.text);
    const moved = await cluster.waitTask(again.json.id, 300_000);
    assert.equal(moved.status, 'succeeded', moved.error ?? '');
    await oneCopyOn(cluster, b, a, 'qxc-fail');
  });
});
