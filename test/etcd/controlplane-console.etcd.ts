// The console status screen's C menu (appliance/quantix-status on a pty, as the operator sees it)
// against an appliance of appliance-sim.ts (real server process, real etcd member): a wrong
// password changes nothing; the administrator forms a control plane, the server comes back on
// etcd and the screen names the member.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn as spawnPty } from 'node-pty';
import type { HealthDto } from '../../server/src/dto/common.js';
import { eventually } from '../../server/src/test-support/guest-pool.js';
import { REPO } from '../../server/src/test-support/spawn.js';
import { PASSWORD, startAppliance } from './appliance-sim.js';

test('console C menu: a wrong password changes nothing; the admin forms a control plane', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'qxt-cp-console-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const a = await startAppliance(root, 'a');
  t.after(() => a.close());
  const pty = spawnPty('bash', [join(REPO, 'appliance/quantix-status'), '/dev/pts/qxt'], {
    cols: 160,
    rows: 50,
    cwd: REPO,
    env: {
      ...process.env,
      QX_STATUS_AGENT_DIR: join(root, 'no-agent'),
      QX_STATUS_CONTROLPLANE_ROOT: join(a.dataDir, '..'),
      QX_STATUS_CONSOLE_AUTH: `${process.execPath} ${join(REPO, 'appliance/quantix-console-auth')}`,
      QX_CONSOLE_AUTH_PORT: a.address.split(':')[1]!,
    },
  });
  let screen = '';
  pty.onData((d) => (screen += d));
  t.after(() => pty.kill('SIGKILL'));
  let at = 0;
  /** Waits for `pattern` in the output after the last match. */
  const see = async (pattern: RegExp) => {
    await eventually(`${pattern} on the screen`, async () => pattern.test(screen.slice(at)), 60_000).catch(
      (err: Error) => {
        throw new Error(`${err.message}:\n${screen.slice(at).slice(-2000)}`);
      },
    );
    at += screen.slice(at).search(pattern);
  };
  const menu = async (password: string) => {
    await see(/C for the control plane/);
    pty.write('c');
    await see(/F to form one on this appliance/);
    for (const [prompt, answer] of [
      [/F to form/, 'f'],
      [/Member name/, 'a'],
      [/Member address/, '127.0.0.1'],
      [/Administrator user name/, 'admin'],
      [/Password: /, password],
    ] as const) {
      await see(prompt);
      pty.write(`${answer}\r`);
    }
  };

  await menu('not-the-password');
  await see(/invalid|wrong|incorrect|failed/i);
  await see(/Press Enter to go back/);
  pty.write('\r');
  assert.equal((await a.api().request<HealthDto>('GET', '/api/v1/health')).json.store, 'embedded');

  await menu(PASSWORD);
  await see(/member a formed a control plane; the server restarts on it now/);
  await a.restarted();
  assert.equal((await a.api().request<HealthDto>('GET', '/api/v1/health')).json.store, 'etcd');
  pty.write('\r');
  await see(/Control plane: etcd member a /);
});
