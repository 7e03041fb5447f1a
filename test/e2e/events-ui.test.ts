// The Events and Notifications pages in Chromium against a real server and agent: the admin
// saves a webhook (an ftp:// URL is refused under its field first), "Send test" reaches a
// loopback receiver; the Events page shows the agent going offline live (SSE, no reload) and
// filters by severity and target.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startInProcessUiStack } from './ui-stack.js';
import { gotoPage, launchChromium } from './ui-browser.js';
import { ADMIN_PASSWORD } from '../../server/src/test-support/test-server.js';

test('events UI: webhook settings, send test, a host going offline shown live', { timeout: 400_000 }, async (t) => {
  const received: string[] = [];
  const receiver = createServer((req, res) => {
    req.on('data', (d: Buffer) => received.push(d.toString('utf8')));
    req.on('end', () => res.end());
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => receiver.close(() => r())));
  const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  const { server: s, agent, host } = await startInProcessUiStack(t, 'events');

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
