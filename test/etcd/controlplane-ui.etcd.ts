// The Control plane section of the Appliance page in Chromium, on an appliance of appliance-sim.ts
// (real server process, real etcd member started by the appliance's script): it says the
// appliance is alone, forms a control plane (confirmed), and once the server is back on etcd it
// shows the member as leader (the session survived the move) and issues a join token with this server's fingerprint;
// the member of an appliance that took a token and never started is removed from its row.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { HealthDto } from '../../server/src/dto/common.js';
import type { ControlPlaneDto } from '../../server/src/dto/controlplane.js';
import { freePorts } from '../../server/src/test-support/etcd-cluster.js';
import { eventually } from '../../server/src/test-support/guest-pool.js';
import { buildUi } from '../e2e/ui-stack.js';
import { gotoPage, launchChromium } from '../e2e/ui-browser.js';
import { PASSWORD, startAppliance } from './appliance-sim.js';

async function signIn(page: Page, base: string): Promise<void> {
  await gotoPage(page, `${base}/`);
  await page.locator('qx-login-page #username').fill('admin');
  await page.locator('qx-login-page #password').fill(PASSWORD);
  await page.locator('qx-login-page button[type=submit]').click();
  await page.locator('nav a[href="#/appliance"]').click();
}

test('control plane in the UI: form one on this appliance, then its member and a join token', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'qxt-cp-ui-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const uiDir = join(root, 'ui');
  await buildUi(uiDir);
  const a = await startAppliance(root, 'a', { QX_UI_DIR: uiDir });
  t.after(() => a.close());
  const browser = await launchChromium();
  t.after(() => browser.close());
  const page = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('dialog', (d) => void d.accept());

  await signIn(page, a.base);
  const cp = page.locator('qx-control-plane');
  await cp.getByTestId('cp-store').filter({ hasText: 'This appliance alone (embedded store).' }).waitFor();
  const form = cp.getByRole('form', { name: 'Form a control plane' });
  await form.getByLabel('Member name').fill('a');
  await form.getByLabel('Member address').fill('127.0.0.1');
  await form.getByRole('button', { name: 'Form control plane' }).click();
  await cp.getByText('member a formed a control plane; the server restarts on it now').waitFor();
  await a.restarted();
  await eventually(
    'the server back on etcd',
    async () => (await a.api().request<HealthDto>('GET', '/api/v1/health')).json.store === 'etcd',
    30_000,
  );

  // The session moved into etcd with the rest: no new sign-in.
  await page.reload();
  await page.locator('nav a[href="#/appliance"]').click();
  await cp
    .getByTestId('cp-store')
    .filter({ hasText: 'On an etcd control plane (this appliance is member a).' })
    .waitFor();
  assert.equal(await cp.locator('tr[data-member="a"] td').nth(3).textContent(), 'leader');
  assert.equal(await cp.locator('tr[data-member="a"] button').count(), 0, 'no Remove on its own member');
  await cp.getByRole('button', { name: 'Issue a join token' }).click();
  const token = cp.getByTestId('cp-token');
  await token.waitFor();
  const fingerprint = (await a.api().request<{ serverFingerprint: string }>('GET', '/api/v1/controlplane')).json
    .serverFingerprint;
  assert.match((await token.textContent()) ?? '', new RegExp(fingerprint));

  // An appliance that took the token, was added and never started (gone): removed from its row.
  const [peerPort] = await freePorts(1);
  const added = await a.api().request('POST', '/api/v1/controlplane/members', {
    body: {
      token: (await token.locator('dd').first().textContent())!.trim(),
      memberName: 'gone',
      memberAddress: '127.0.0.1',
      peerPort,
    },
  });
  assert.equal(added.status, 201, added.text);
  await page.reload();
  await page.locator('nav a[href="#/appliance"]').click();
  const gone = cp.locator('tbody tr').filter({ hasText: 'starting' });
  await gone.getByRole('button', { name: /^Remove member / }).click();
  await gone.waitFor({ state: 'detached' });
  await cp.locator('tr[data-member="a"]').waitFor();
  const members = (await a.api().request<ControlPlaneDto>('GET', '/api/v1/controlplane')).json.members;
  assert.deepEqual(
    members.map((m) => m.name),
    ['a'],
  );
  assert.deepEqual(pageErrors, []);
});
