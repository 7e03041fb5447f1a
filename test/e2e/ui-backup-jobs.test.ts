// The Backup jobs page in Chromium against a real server, agent, libvirt and qemu-img (#24; the VM
// stays shut off): a bad cron is refused next to the field naming the item; a schedule by tag is
// saved with its next run; Run now backs the tagged VM up and the last result and the targets
// table show it; Disable clears the next run, Edit renames, Delete removes; a viewer sees the
// schedules without controls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startBackupUiStack, login } from './ui-backup-stack.js';
import { gotoPage, launchChromium } from './ui-browser.js';
import type { BackupDto } from '../../server/src/dto/backups.js';
import { srvName } from '../../server/src/test-support/guest-pool.js';

// A tag of this test only: the host's libvirt holds other tests' VMs too.
const tag = srvName('ui-nightly');

test(
  'Backup jobs page: schedule by tag, bad cron, run now, targets, disable, edit, delete',
  { timeout: 400_000 },
  async (t) => {
    const { server: s, host, pool, vmId } = await startBackupUiStack(t, 'jobs', { tags: [tag] });

    const browser = await launchChromium();
    t.after(() => browser.close());
    const page = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('dialog', (d) => void d.accept());
    await login(page, s.base, 'admin');
    await page.locator('nav a[href="#/backups"]').click();
    const p = page.locator('qx-backups-page');
    await p.getByRole('button', { name: 'New schedule' }).click();
    await p.locator('#schedule-name').fill('nightly');
    await p.locator('#schedule-cron').fill('0 3 * 13 *');
    await p.locator('#schedule-tags').fill(tag);
    await p.locator('#schedule-pool option', { hasText: pool.name }).waitFor({ state: 'attached' });
    await p.locator('#schedule-pool').selectOption(pool.name);
    await p.locator('#schedule-keepLast').fill('2');
    await p.getByRole('button', { name: 'Save schedule' }).click();
    await p.locator('#schedule-cron-error', { hasText: 'cron.month: "13" is outside 1-12' }).waitFor();
    await p.locator('#schedule-cron').fill('0 3 * * *');
    await p.getByRole('button', { name: 'Save schedule' }).click();
    await p.locator('[data-testid=schedule-notice]', { hasText: /Schedule nightly saved; next run/ }).waitFor();
    const row = p.locator('tr[data-schedule="nightly"]');
    assert.match((await row.textContent()) ?? '', new RegExp(`tags ${tag}`));
    assert.match((await row.textContent()) ?? '', /last 2/);
    assert.notEqual((await row.locator('[data-testid=next-run]').textContent())?.trim(), 'disabled');

    await row.getByRole('button', { name: 'Run now' }).click();
    await row
      .locator('[data-testid=last-result]', { hasText: /succeeded .*1 of 1 VM backed up/ })
      .waitFor({ timeout: 120_000 });
    const points = (await s.admin.request<BackupDto[]>('GET', `/api/v1/vms/${vmId}/backups`)).json;
    assert.deepEqual(
      points.map((b) => b.pool),
      [pool.name],
    );
    const target = p.locator(`[data-testid=backup-targets] tr[data-target="${host.name}/${pool.name}"] td`);
    await target.nth(5).filter({ hasText: /^1$/ }).waitFor();
    assert.match((await target.nth(6).textContent()) ?? '', /[1-9][\d.]* [KMG]i?B/);

    // A viewer sees the schedule and no controls.
    const v = await s.userWithRole('viewer');
    const username = (await v.request<{ user: { username: string } }>('GET', '/api/v1/auth/me')).json.user.username;
    const viewerPage = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
    await login(viewerPage, s.base, username);
    await gotoPage(viewerPage, `${s.base}/#/backups`);
    await viewerPage.locator('qx-backups-page tr[data-schedule="nightly"]').waitFor();
    assert.equal(await viewerPage.locator('qx-backups-page button').count(), 0);

    await row.getByRole('button', { name: 'Disable' }).click();
    await row.locator('[data-testid=next-run]', { hasText: 'disabled' }).waitFor();
    await row.getByRole('button', { name: 'Edit' }).click();
    await p.locator('#schedule-name').fill('weekly');
    await p.getByRole('button', { name: 'Save schedule' }).click();
    const renamed = p.locator('tr[data-schedule="weekly"]');
    await renamed.waitFor();
    await renamed.getByRole('button', { name: 'Delete' }).click();
    await renamed.waitFor({ state: 'detached' });
    await p.getByText('No backup schedules.').waitFor();
    assert.deepEqual(pageErrors, []);
  },
);
