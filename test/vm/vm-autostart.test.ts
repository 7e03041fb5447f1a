// Autostart (#21): VMs with autostart in their metadata start when the agent starts in a new boot
// (a marker without this boot's id), lowest order first with each VM's delay before the next; a
// VM without autostart stays off, and an agent restarted later in the same boot starts nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestAgent } from '../../agent/src/test-support/agent-harness.js';
import { promisify } from '../../agent/src/test-support/promisify.js';
import { Virsh } from '../../agent/src/libvirt/virsh.js';
import { freePort, spawnAgent, type Child } from '../../server/src/test-support/spawn.js';
import { testName } from './guest-pool.js';
import { eventually } from '../../server/src/test-support/guest-pool.js';
import { guestSpec } from './vm-spec.js';
import { VmSpec } from '@quantix/proto/v1/vm.js';

const virsh = new Virsh('qemu:///system');
const state = async (name: string) => (await virsh.exec(['domstate', name])).trim();

/** When QEMU of running VM `name` started, in clock ticks since boot (/proc/<pid>/stat field 22). */
async function qemuStartTicks(name: string): Promise<number> {
  const pid = (await readFile(`/run/libvirt/qemu/${name}.pid`, 'utf8')).trim();
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
}

test('autostart VMs start in order with their delays at the first agent start of a boot', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'qxt-vm-autostart-'));
  const marker = join(dir, 'run', 'autostart-boot-id');
  const first = testName('as-first');
  const middle = testName('as-middle');
  const last = testName('as-last');
  const manual = testName('as-manual');
  const all = [last, manual, first, middle];
  let child: Child | undefined;
  const agent = await startTestAgent();
  let agentStopped = false;
  t.after(async () => {
    if (!agentStopped) await agent.stop();
    await child?.kill();
    for (const n of all) {
      await virsh.exec(['destroy', n]).catch(() => undefined);
      await virsh.exec(['undefine', n]).catch(() => undefined);
    }
    await rm(dir, { recursive: true, force: true });
  });

  // Defined through the agent (the metadata is what it writes), in no particular order.
  const vm = agent.clients.vm;
  const define = (name: string, over: Parameters<typeof guestSpec>[3]) =>
    promisify(
      vm,
      vm.defineVm,
    )({ spec: VmSpec.fromPartial(guestSpec(name, '', '', { disks: [], memoryMib: 64, ...over })) });
  await define(last, { autostart: true, autostartOrder: 30 });
  await define(manual, { autostart: false, autostartOrder: 1 });
  await define(first, { autostart: true, autostartOrder: 10, autostartDelaySeconds: 2 });
  const mid = await define(middle, { autostart: true, autostartOrder: 20 });
  assert.equal(mid.spec!.autostart, true);
  assert.equal(mid.spec!.autostartOrder, 20);
  assert.match(
    await virsh.exec(['dumpxml', '--inactive', middle]),
    /<qx:autostart enabled="yes" order="20" delay="0"\/>/,
  );
  await agent.stop();
  agentStopped = true;
  for (const n of all) assert.equal(await state(n), 'shut off');

  // "Boot": the marker holds another boot's id.
  const bootId = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
  await rm(join(dir, 'run'), { recursive: true, force: true });
  const env = { QX_AGENT_AUTOSTART_MARKER: marker };
  child = await spawnAgent(join(dir, 'agent1'), await freePort(), env);
  await eventually(
    'the autostart VMs to run',
    async () => {
      for (const n of [first, middle, last]) if ((await state(n)) !== 'running') return false;
      return true;
    },
    180_000,
  );
  await eventually('autostart to finish', async () => child!.output().includes('autostart: done'));
  assert.equal(await state(manual), 'shut off', 'a VM without autostart stays off');
  const [a, b, c] = await Promise.all([first, middle, last].map(qemuStartTicks));
  assert.ok(a! < b! && b! < c!, `started in order 10, 20, 30 (ticks ${a}, ${b}, ${c})`);
  assert.ok(b! - a! >= 200, `the first VM's 2 s delay passed before the next started (${b! - a!} ticks)`);
  assert.equal((await readFile(marker, 'utf8')).trim(), bootId, 'the marker holds this boot');

  // Same boot: an agent restart starts nothing again (the operator's force-off stands).
  await child.kill();
  await virsh.exec(['destroy', middle]);
  child = await spawnAgent(join(dir, 'agent2'), await freePort(), env);
  await eventually('the agent to skip autostart', async () =>
    child!.output().includes('autostart: already done in this boot'),
  );
  assert.equal(await state(middle), 'shut off');
});
