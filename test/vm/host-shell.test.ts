// ConsoleService.Shell: a login shell under node-pty over the agent's gRPC stream — a command
// round trip, resize reaching the pty, clean close from either side, no shell process left.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { startTestAgent } from '../../agent/src/test-support/agent-harness.js';
import { ConsoleClient } from './console-client.js';
import { eventually } from './leftovers.js';

/** PIDs of processes whose environment carries `marker` (the shells this test started). */
async function shellsWith(marker: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const env = await readFile(`/proc/${entry}/environ`, 'utf8').catch(() => '');
    if (env.includes(marker)) pids.push(Number(entry));
  }
  return pids;
}

test('host shell: command round trip, resize, exit from the shell, cancel from the client', async (t) => {
  const marker = `QXT_VM_SHELL=${process.pid}`;
  process.env.QXT_VM_SHELL = String(process.pid);
  const agent = await startTestAgent();
  t.after(() => agent.stop());

  const a = new ConsoleClient(agent.clients.console.shell()).open('', 90, 20);
  a.send('echo "qx-$((6 * 7))"; stty size\r');
  await a.waitFor('qx-42', 20_000);
  await a.waitFor('20 90', 20_000);
  a.resize(132, 43);
  const mark = a.output.length;
  a.send('stty size\r');
  await a.waitFor('43 132', 20_000, mark);
  a.send('exit\r');
  await a.ended;
  assert.equal(a.closedReason, 'shell exited');

  const b = new ConsoleClient(agent.clients.console.shell()).open('');
  b.send('echo ready-$((1 + 1))\r');
  await b.waitFor('ready-2', 20_000);
  assert.ok((await shellsWith(marker)).length > 0, 'the shell runs');
  b.call.cancel();
  assert.ok(await eventually(async () => (await shellsWith(marker)).length === 0), 'no shell left after cancel');
  delete process.env.QXT_VM_SHELL;
});
