// Resource history in Chromium against a real server and agent: the host page's charts load the
// server's history (a reload shows the same points at once, not an empty chart refilling from
// live samples), keep growing with live ones, and the range buttons switch to the day view.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startInProcessUiStack } from './ui-stack.js';
import { gotoPage, launchChromium } from './ui-browser.js';
import { ADMIN_PASSWORD } from '../../server/src/test-support/test-server.js';
import { eventually } from '../../server/src/test-support/guest-pool.js';
import type { HostMetricsHistoryDto } from '../../server/src/dto/metrics-history.js';

test('metrics UI: host history charts, kept over a reload, 1 hour / 1 day', { timeout: 400_000 }, async (t) => {
  const { server: s, host } = await startInProcessUiStack(t, 'metrics');
  const history = () =>
    s.admin.request<HostMetricsHistoryDto>('GET', `/api/v1/hosts/${host.id}/metrics/history?range=1h`);
  await eventually('three samples in the host history', async () => (await history()).json.samples.length >= 3);

  const browser = await launchChromium();
  t.after(() => browser.close());
  const page = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await gotoPage(page, `${s.base}/`);
  await page.locator('qx-login-page #username').fill('admin');
  await page.locator('qx-login-page #password').fill(ADMIN_PASSWORD);
  await page.locator('qx-login-page button[type=submit]').click();

  await gotoPage(page, `${s.base}/#/hosts/${encodeURIComponent(host.id)}`);
  const charts = page.locator('qx-host-detail qx-metrics-history');
  const cpu = charts.locator('section[aria-label="CPU"]');
  await cpu.locator('qx-sparkline').waitFor();
  /** How many points the CPU line draws. */
  const points = () =>
    cpu.locator('polyline').evaluate((el) => (el.getAttribute('points') ?? '').trim().split(/\s+/).length);
  // The chart is drawn from the server's history, not only from what arrives after the page opened.
  const stored = (await history()).json.samples.length;
  await eventually('the CPU chart drawn from the history', async () => (await points()) >= stored);
  assert.match((await cpu.locator('strong').textContent()) ?? '', /^\d+%$/);
  await page.reload();
  // From live samples alone the first figure would come with a 2-point line (one value drawn flat).
  await cpu.locator('strong', { hasText: '%' }).waitFor();
  assert.ok((await points()) >= 3, 'the first drawing after a reload already has the stored points');
  const before = await points();
  await eventually('a live sample appended', async () => (await points()) > before, 30_000);

  await charts.getByRole('button', { name: '1 day' }).click();
  assert.equal(await charts.getByRole('button', { name: '1 day' }).getAttribute('aria-pressed'), 'true');
  await cpu.locator('qx-sparkline[label="CPU of ' + host.name + ' over 1 day"]').waitFor();
  for (const title of ['Memory', 'Network in', 'Network out'])
    await charts.locator(`section[aria-label="${title}"] qx-sparkline`).waitFor();
  assert.deepEqual(pageErrors, []);
});
