// A caller that stops reading a console stream is left once MAX_UNSENT bytes wait for it: the host
// shell flooding it (`yes`) is closed instead of the agent buffering its output without bound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { ConsoleOutput } from '@quantix/proto/v1/console.js';
import { startTestAgent } from '../test-support/agent-harness.js';
import { MAX_UNSENT } from './console-handlers.js';

/** True while a process whose command line contains `marker` runs. */
const running = (marker: string) =>
  new Promise<boolean>((resolve) => execFile('pgrep', ['-f', marker], (err) => resolve(!err)));

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('console: a caller that does not read is left after MAX_UNSENT bytes, its shell closed', async (t) => {
  const agent = await startTestAgent();
  t.after(() => agent.stop());
  const marker = `qxt-agent-flood-${randomBytes(3).toString('hex')}`;
  const call = agent.clients.console.shell();
  call.on('error', () => undefined);
  t.after(() => call.cancel());
  let received = 0;
  let closedReason: string | undefined;
  const ended = new Promise<void>((resolve) => call.on('end', resolve));
  call.on('data', (out: ConsoleOutput) => {
    if (out.msg?.$case === 'data') received += out.msg.value.length;
    else if (out.msg?.$case === 'closed') closedReason = out.msg.value.reason;
  });
  call.write({ msg: { $case: 'open', value: { vm: '', size: { cols: 80, rows: 24 } } } });
  call.write({ msg: { $case: 'data', value: Buffer.from(`exec yes ${marker}\r`) } });
  await until('the flood to start', () => running(marker));
  call.pause(); // reads nothing from now on
  await until('the shell closed by the agent', async () => !(await running(marker)));
  call.resume();
  await ended;
  assert.equal(closedReason, 'the console output is not being read');
  assert.ok(received < MAX_UNSENT + 16 * 1024 * 1024, `${received} bytes reached the caller`);
});
