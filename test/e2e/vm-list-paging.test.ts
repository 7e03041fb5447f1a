// The VM list pages in Chromium: 250 VMs on a simulated host (FakeAgent, the scale fake — a gRPC
// fake of the agent, not a real host) joined to a real server; the list shows 100 rows and the
// total, walks to the next pages and back, and its search, state filter and sort are the server's;
// a host's page lists that host's VMs only; the dashboard's VM counts are the server's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import type { Locator } from 'playwright-core';
import { createSelfSigned } from '@quantix/proto/tls/certificates.js';
import { FakeAgent } from '../../server/src/bench/fake-agent.js';
import type { VmDto } from '../../server/src/dto/vms.js';
import { ADMIN_PASSWORD, startTestServer } from '../../server/src/test-support/test-server.js';
import { buildUi } from './ui-stack.js';
import { gotoPage, launchChromium } from './ui-browser.js';

const VMS = 250;

test('VM list pages (100 rows, next/previous, server-side search, filter, sort); host page and dashboard ask for their VMs only', async (t) => {
  const uiDir = await mkdtemp(joinPath(tmpdir(), 'qxt-ui-paging-'));
  t.after(() => rm(uiDir, { recursive: true, force: true }));
  const identity = await createSelfSigned({
    commonName: 'FakeAgent',
    ipAddresses: ['127.0.0.1'],
    days: 1,
    usages: ['server'],
  });
  const agent = new FakeAgent(identity, 7, VMS);
  await agent.start();
  t.after(() => agent.stop());
  await buildUi(uiDir);
  const s = await startTestServer({ QX_UI_DIR: uiDir });
  t.after(() => s.stop());
  const join = async (a: FakeAgent, name: string) => {
    const address = `127.0.0.1:${a.port}`;
    const probe = await s.admin.request<{ fingerprint: string }>('POST', '/api/v1/hosts/probe', { body: { address } });
    const added = await s.admin.request('POST', '/api/v1/hosts', {
      body: { address, fingerprint: probe.json.fingerprint, joinToken: 'fake', name },
    });
    assert.equal(added.status, 201, added.text);
  };
  await join(agent, 'sim-7');
  let all: VmDto[] = [];
  for (let i = 0; all.length < VMS; i++) {
    assert.ok(i < 600, 'the simulated VMs never showed up');
    await new Promise((r) => setTimeout(r, 100));
    all = (await s.admin.request<VmDto[]>('GET', '/api/v1/vms')).json;
  }
  const byName = all.map((v) => v.name).sort();

  const browser = await launchChromium();
  t.after(() => browser.close());
  const page = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await gotoPage(page, `${s.base}/`);
  await page.locator('qx-login-page #username').fill('admin');
  await page.locator('qx-login-page #password').fill(ADMIN_PASSWORD);
  await page.locator('qx-login-page button[type=submit]').click();
  await page.locator('nav a[href="#/vms"]').waitFor();
  await gotoPage(page, `${s.base}/#/vms`);

  const list = page.locator('qx-vm-list');
  const count = list.getByTestId('vm-count');
  const rows = list.locator('tbody tr[data-vm]');
  const names = (l: Locator) => l.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-vm')));
  const shows = async (text: string, first: string) => {
    await list.getByTestId('vm-count').filter({ hasText: text }).waitFor();
    await list.locator(`tbody tr[data-vm="${first}"]`).first().waitFor();
  };

  await shows(`1–100 of ${VMS} VMs`, byName[0]!);
  assert.deepEqual(await names(rows), byName.slice(0, 100), 'the first page, by name');
  await list.getByRole('button', { name: 'Next page' }).click();
  await shows(`101–200 of ${VMS} VMs`, byName[100]!);
  assert.deepEqual(await names(rows), byName.slice(100, 200));
  await list.getByRole('button', { name: 'Next page' }).click();
  await shows(`201–${VMS} of ${VMS} VMs`, byName[200]!);
  assert.equal(await list.getByRole('button', { name: 'Next page' }).isDisabled(), true, 'the last page');
  await list.getByRole('button', { name: 'Previous page' }).click();
  await shows(`101–200 of ${VMS} VMs`, byName[100]!);

  // Name again (it sorts by name already): descending, from the first page, from the other end.
  await list.getByRole('button', { name: /^Name/ }).click();
  await shows(`1–100 of ${VMS} VMs`, byName.at(-1)!);
  assert.deepEqual(await names(rows), [...byName].reverse().slice(0, 100));

  // Search (name, host or IP) and the state filter narrow the total on the server.
  await list.locator('#q').fill('fake-7-vm-24');
  const hits = byName.filter((n) => n.includes('fake-7-vm-24'));
  await shows(`1–${hits.length} of ${hits.length} VMs`, hits.at(-1)!);
  assert.deepEqual(await names(rows), [...hits].reverse());
  await list.locator('#q').fill('');
  await list.locator('#state').selectOption('shutoff');
  const off = all.filter((v) => v.state === 'shutoff').length;
  const offNames = all
    .filter((v) => v.state === 'shutoff')
    .map((v) => v.name)
    .sort()
    .reverse();
  await shows(`1–${off} of ${off} VMs`, offNames[0]!);
  assert.deepEqual(await names(rows), offNames, 'the shut-off VMs, by name descending still');

  // A VM defined on the host shows up in the total without a reload.
  await list.locator('#state').selectOption('');
  await count.filter({ hasText: `of ${VMS} VMs` }).waitFor();
  agent.addVm({ name: 'zz-new-vm' });
  await count.filter({ hasText: `of ${VMS + 1} VMs` }).waitFor();

  // A host's page lists its own VMs (filtered by the server), not another host's.
  const other = new FakeAgent(identity, 8, 3);
  await other.start();
  t.after(() => other.stop());
  await join(other, 'sim-8');
  await count.filter({ hasText: `of ${VMS + 4} VMs` }).waitFor();
  await gotoPage(page, `${s.base}/#/hosts/${encodeURIComponent(all[0]!.hostId)}`);
  const hostRows = page.locator('qx-host-detail tbody tr');
  await page.locator('qx-host-detail tbody a', { hasText: 'zz-new-vm' }).waitFor();
  assert.equal(await hostRows.count(), VMS + 1);
  assert.equal(await page.locator('qx-host-detail tbody a', { hasText: /^fake-8-/ }).count(), 0);

  // The dashboard's VM total and counts by state come from the server (one row, not every VM).
  const now = (await s.admin.request<VmDto[]>('GET', '/api/v1/vms')).json;
  await gotoPage(page, `${s.base}/#/`);
  await page
    .getByTestId('vms-total')
    .filter({ hasText: String(VMS + 4) })
    .waitFor();
  const running = now.filter((v) => v.state === 'running').length;
  await page
    .locator('qx-dashboard-page section[aria-label="Virtual machines"] span', { hasText: `${running} running` })
    .waitFor();
  assert.deepEqual(pageErrors, []);
});
