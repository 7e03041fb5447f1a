// The host list in Chromium is the server's page: three simulated hosts (FakeAgent, the scale fake
// — a gRPC fake of the agent, not a real host) joined to a real server; the count, sorting by VM
// count and join time (both orders), the search and status filter are answered by /hosts/page.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { createSelfSigned } from '@quantix/proto/tls/certificates.js';
import { FakeAgent } from '../../server/src/bench/fake-agent.js';
import type { HostDto } from '../../server/src/dto/hosts.js';
import { ADMIN_PASSWORD, startTestServer } from '../../server/src/test-support/test-server.js';
import { buildUi } from './ui-stack.js';
import { gotoPage, launchChromium } from './ui-browser.js';

test('host list: count, sort by VM count and join time, search and status filter from the server', async (t) => {
  const uiDir = await mkdtemp(joinPath(tmpdir(), 'qxt-ui-hosts-'));
  t.after(() => rm(uiDir, { recursive: true, force: true }));
  const identity = await createSelfSigned({
    commonName: 'FakeAgent',
    ipAddresses: ['127.0.0.1'],
    days: 1,
    usages: ['server'],
  });
  // Joined as sim-b, sim-c, sim-a with 3, 1, 2 VMs: each sort gives another order.
  const agents = [3, 1, 2].map((n, i) => new FakeAgent(identity, 20 + i, n));
  t.after(() => agents.forEach((a) => a.stop()));
  await Promise.all(agents.map((a) => a.start()));
  await buildUi(uiDir);
  const s = await startTestServer({ QX_UI_DIR: uiDir });
  t.after(() => s.stop());
  for (const [i, a] of agents.entries()) {
    const address = `127.0.0.1:${a.port}`;
    const probe = await s.admin.request<{ fingerprint: string }>('POST', '/api/v1/hosts/probe', { body: { address } });
    const added = await s.admin.request('POST', '/api/v1/hosts', {
      body: { address, fingerprint: probe.json.fingerprint, joinToken: 'fake', name: ['sim-b', 'sim-c', 'sim-a'][i] },
    });
    assert.equal(added.status, 201, added.text);
    await new Promise((r) => setTimeout(r, 5)); // join times are in ms: keep them distinct
  }
  for (let i = 0; ; i++) {
    assert.ok(i < 600, 'the simulated hosts never came online with their VMs');
    const hosts = (await s.admin.request<HostDto[]>('GET', '/api/v1/hosts')).json;
    if (hosts.filter((h) => h.status === 'online').reduce((n, h) => n + h.vmCount, 0) === 6) break;
    await new Promise((r) => setTimeout(r, 100));
  }

  const browser = await launchChromium();
  t.after(() => browser.close());
  const page = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await gotoPage(page, `${s.base}/`);
  await page.locator('qx-login-page #username').fill('admin');
  await page.locator('qx-login-page #password').fill(ADMIN_PASSWORD);
  await page.locator('qx-login-page button[type=submit]').click();
  await page.locator('nav a[href="#/hosts"]').waitFor();
  await gotoPage(page, `${s.base}/#/hosts`);

  const list = page.locator('qx-host-list');
  const rows = list.locator('tbody tr[data-host]');
  /** Waits until the rows are exactly `want`, in order. */
  const shows = async (want: string[]) => {
    const selector = want.map((n, i) => `tbody tr[data-host]:nth-child(${i + 1})[data-host="${n}"]`).join(', ');
    for (let i = 0; ; i++) {
      const got = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-host')));
      if (JSON.stringify(got) === JSON.stringify(want)) return;
      assert.ok(i < 300, `rows ${JSON.stringify(got)}, expected ${JSON.stringify(want)} (${selector})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await list.getByTestId('host-count').filter({ hasText: '1–3 of 3 hosts' }).waitFor();
  await shows(['sim-a', 'sim-b', 'sim-c']);
  await list.getByRole('button', { name: 'VMs' }).click();
  await shows(['sim-c', 'sim-a', 'sim-b']);
  await list.getByRole('button', { name: /^VMs/ }).click();
  await shows(['sim-b', 'sim-a', 'sim-c']);
  assert.equal(
    await list
      .locator('th[aria-sort="descending"]')
      .textContent()
      .then((x) => x?.trim()),
    'VMs ▾',
  );
  await list.getByRole('button', { name: 'Joined' }).click();
  await shows(['sim-b', 'sim-c', 'sim-a']);
  await list.locator('#host-q').fill('SIM-C');
  await shows(['sim-c']);
  await list.getByTestId('host-count').filter({ hasText: '1–1 of 1 hosts' }).waitFor();
  await list.locator('#host-q').fill('');
  await list.locator('#host-status').selectOption('offline');
  await shows([]);
  await list.getByText('No host matches the filter.').waitFor();
  assert.deepEqual(pageErrors, []);
});
