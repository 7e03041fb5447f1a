// Live migration A → B through the vDC between two real hosts (two-hosts.ts): the guest's serial
// counter keeps counting across the move (no reboot), its disk arrives bit for bit, the VM is
// locked while it moves, the inventory follows it, and the task reports the measured downtime.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { counterContinues, migrate, oneCopyOn, startCounter, ticks } from './migration-checks.js';
import { startTwoHosts } from './two-hosts.js';

test(
  'live migration A → B: counter goes on, disk bit for bit, VM locked meanwhile, inventory moves',
  { timeout: 600_000 },
  async (t) => {
    const cluster = await startTwoHosts();
    t.after(() => cluster.stop());
    const { api, a, b } = cluster;
    const vm = await cluster.createGuestVm(a, 'qxc-live');
    const con = await startCounter(cluster, vm.id);
    const before = Math.max(...ticks(con.output));
    con.close();

    const started = await migrate(cluster, vm.id, b, 20);
    assert.equal(started.status, 202, started.text);
    const locked = await api.request('POST', `/api/v1/vms/${vm.id}/force-off`);
    assert.equal(locked.status, 409);
    assert.match(locked.text, /VM is being migrated/);
    const again = await migrate(cluster, vm.id, b);
    assert.equal(again.status, 409);
    const task = await cluster.waitTask(started.json.id, 300_000);
    assert.equal(task.status, 'succeeded', task.error ?? '');
    const result = task.result as {
      totalMs: number;
      downtimeMs: number;
      from: { hostId: string };
      to: { hostId: string };
    };
    assert.equal(result.from.hostId, a.id);
    assert.equal(result.to.hostId, b.id);
    assert.ok(result.downtimeMs > 0 && result.downtimeMs < result.totalMs, JSON.stringify(result));

    await oneCopyOn(cluster, b, a, 'qxc-live');
    await counterContinues(cluster, vm.id, before);
  },
);
