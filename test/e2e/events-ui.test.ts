// The Events and Notifications pages in Chromium against a real server and agent: the admin
// saves a webhook (an ftp:// URL is refused under its field first), "Send test" reaches a
// loopback receiver; the Events page shows the agent going offline live (SSE, no reload) and
// filters by severity and target.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildUi } from './ui-stack.js';
import { gotoPage, launchChromium } from './ui-browser.js';
import { freePort, spawnAgent } from '../../server/src/test-support/spawn.js';
import { ADMIN_PASSWORD, startTestServer } from '../../server/src/test-support/test-server.js';
import { eventually } from '../../server/src/test-support/guest-pool.js';
import type { HostDto } from '../../server/src/dto/hosts.js';

test('events UI: webhook settings, send test, a host going offline shown live', { timeout: 400_000 }, async (t) => {
  const uiDir = await mkdtemp(join(tmpdir(), 'qxt-ui-events-'));
  const agentDir = await mkdtemp(join(tmpdir(), 'qxt-ui-events-agent-'));
  t.after(() => rm(uiDir, { recursive: true, force: true }));
  t.after(() => rm(agentDir, { recursive: true, force: true }));
  await buildUi(uiDir);
  const received: string[] = [];
  const receiver = createServer((req, res) => {
    req.on('data', (d: Buffer) => received.push(d.toString('utf8')));
    req.on('end', () => res.end());
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => receiver.close(() => r())));
  const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  const port = await freePort();
  const agent = await spawnAgent(agentDir, port);
  t.after(() => agent.kill('SIGKILL'));
  const s = await startTestServer({
    QX_UI_DIR: uiDir,
    QX_LOCAL_AGENT_ADDRESS: `127.0.0.1:${port}`,
    QX_LOCAL_AGENT_DATA_DIR: agentDir,
  });
  t.after(() => s.stop());
  const host = await eventually('the local host online', async () =>
    (await s.admin.request<HostDto[]>('GET', '/api/v1/hosts')).json.find((h) => h.status === 'online'),
  );

  const browser = await launchChromium();
  t.after(() => browser.close());
  const page = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await gotoPage(page, `${s.base}/`);
  await page.locator('qx-login-page #username').fill('admin');
  await page.locator('qx-login-page #password').fill(ADMIN_PASSWORD);
  await page.locator('qx-login-page button[type=submit]').click();

  // Notifications: a bad URL is refused under its field; a good one is saved and tested.
  await page.locator('nav a[href="#/notifications"]').click();
  const n = page.locator('qx-notifications');
  await n.getByRole('button', { name: 'Add webhook' }).click();
  await n.locator('#wh-url-0').fill('ftp://127.0.0.1/hook');
  await n.getByRole('button', { name: 'Save' }).click();
  await n.locator('fieldset [role=alert]', { hasText: 'webhooks[0].url' }).waitFor();
  await n.locator('#wh-url-0').fill(hookUrl);
  await n.getByRole('button', { name: 'Save' }).click();
  await n.getByText('Saved.').waitFor();
  await n.getByRole('button', { name: 'Send test' }).click();
  await n.getByText(`${hookUrl}: delivered (HTTP 200)`).waitFor();
  assert.ok(
    received.some((b) => b.includes('"notification.test"')),
    'the receiver got the test event',
  );

  // Events: the agent stopped while the page is open → its offline event appears without a reload.
  await page.locator('nav a[href="#/events"]').click();
  const ev = page.locator('qx-events-page');
  await ev.locator('table').waitFor();
  const row = ev.locator('tbody tr', { hasText: `Host ${host.name} is offline` });
  assert.equal(await row.count(), 0, 'no offline event before the agent stops');
  await agent.kill('SIGKILL');
  await row.waitFor({ timeout: 60_000 });
  await ev.locator('#ev-severity').selectOption('error');
  await ev.locator('#ev-target').fill('no-such-target');
  await ev.getByText('No events.').waitFor();
  await ev.locator('#ev-target').fill(host.name);
  await row.waitFor();
  assert.deepEqual(pageErrors, []);
});
