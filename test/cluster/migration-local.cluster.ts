// The appliance's own host in live migrations (two-hosts.ts with the server reaching host A's agent
// over its UNIX socket, as on the appliance: A's address in the vDC is unix:…): B → A, the local
// host as destination (it answers with its address on the route to B), then A → B, as source. The
// guest's counter goes on across both moves and nothing of either is left behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HostDto } from '../../server/src/dto/hosts.js';
import { eventually } from '../../server/src/test-support/guest-pool.js';
import { migrate, oneCopyOn, openConsole, startCounter, ticks } from './migration-checks.js';
import { startTwoHosts } from './two-hosts.js';

test('live migration to and from the local host reached over a UNIX socket', { timeout: 1_200_000 }, async (t) => {
  const cluster = await startTwoHosts({ localOverUnix: true });
  t.after(() => cluster.stop());
  const { api, a, b } = cluster;
  const local = (await api.request<HostDto>('GET', `/api/v1/hosts/${a.id}`)).json;
  assert.ok(local.local && local.address.startsWith('unix:'), local.address);
  const vm = await cluster.createGuestVm(b, 'qxc-local');
  const con = await startCounter(cluster, vm.id);
  let last = Math.max(...ticks(con.output));
  con.close();

  for (const [from, to] of [
    [b, a],
    [a, b],
  ] as const) {
    const started = await migrate(cluster, vm.id, to, 20);
    assert.equal(started.status, 202, started.text);
    const task = await cluster.waitTask(started.json.id, 600_000);
    assert.equal(task.status, 'succeeded', `${from.name} → ${to.name}: ${task.error ?? ''}`);
    await oneCopyOn(cluster, to, from, 'qxc-local');
    // The counter goes on past where it was (a guest booted again would print no ticks at all; the
    // console may replay what it printed before the move, so only higher ticks count).
    const again = await openConsole(cluster, vm.id);
    const before = last;
    await eventually('the counter to go on', async () => ticks(again.output).some((n) => n > before + 1), 60_000);
    last = Math.max(...ticks(again.output));
    again.close();
  }
});
