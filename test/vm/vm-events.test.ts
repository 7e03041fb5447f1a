// Watch shows VMs defined and undefined with plain virsh (libvirt events, not polling); the
// long-lived `virsh event` child is restarted when it dies and ends when the last watcher leaves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { VmState } from '@quantix/proto/v1/vm.js';
import { startTestAgent } from '../../agent/src/test-support/agent-harness.js';
import { Virsh } from '../../agent/src/libvirt/virsh.js';
import { testName } from './guest-pool.js';
import { WatchClient } from './watch-client.js';
import { eventually } from './leftovers.js';

const virsh = new Virsh('qemu:///system');

/** PIDs of `virsh … event …` children of this test process. */
async function eventChildren(): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const argv = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (ppid === process.pid && argv[0]?.endsWith('virsh') && argv.includes('event')) pids.push(Number(entry));
  }
  return pids;
}

test('out-of-band define/undefine appear on Watch; the event child restarts and stops with the watch', async (t) => {
  const agent = await startTestAgent();
  const name = testName('oob');
  t.after(async () => {
    await virsh.exec(['undefine', name]).catch(() => undefined);
    await agent.stop();
  });
  const watch = new WatchClient(agent.clients.host.watch({ metricsIntervalMs: 0 }));
  await watch.waitFor('heartbeat', (e) => e.event?.$case === 'heartbeat');
  assert.ok(await eventually(async () => (await eventChildren()).length === 1), 'one virsh event child');
  const [first] = await eventChildren();

  // Kill the child: it comes back with a new PID.
  process.kill(first!, 'SIGKILL');
  assert.ok(
    await eventually(async () => {
      const now = await eventChildren();
      return now.length === 1 && now[0] !== first;
    }),
    'virsh event restarted',
  );
  await new Promise((r) => setTimeout(r, 500)); // let the new child register with libvirtd

  const xml = `<domain type='qemu'><name>${name}</name><memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os></domain>`;
  await virsh.execWithXml(xml, (file) => ['define', file]);
  const defined = await watch.vmState(name, 'Defined');
  assert.ok(defined.event?.$case === 'vmState');
  assert.equal(defined.event.value.state, VmState.VM_STATE_SHUTOFF);
  assert.match(defined.event.value.uuid, /^[0-9a-f-]{36}$/);
  await virsh.exec(['undefine', name]);
  const removed = await watch.vmState(name, 'Undefined');
  assert.ok(removed.event?.$case === 'vmState');
  assert.equal(removed.event.value.removed, true);
  assert.equal(removed.event.value.uuid, defined.event.value.uuid);

  watch.close();
  assert.ok(
    await eventually(async () => (await eventChildren()).length === 0),
    'virsh event child ends with the last watcher',
  );
});
