// The Backups tab of the VM page in Chromium against a real server, agent, libvirt and qemu-img
// (#24; the VM stays shut off, so no guest boots): Back up now into a pool lists the point with its
// kind and consistency, Verify reports it intact, Restore makes a new VM, Restore disk a new volume,
// Restore over VM (its name typed; a typo refused at the field) replaces its disk, Delete removes the point;
// the targets table shows what the VM's backups hold in the pool; a viewer sees the list but none
// of the controls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startBackupUiStack, login } from './ui-backup-stack.js';
import { gotoPage, launchChromium } from './ui-browser.js';
import { srvName } from '../../server/src/test-support/guest-pool.js';
import type { VmDto } from '../../server/src/dto/vms.js';

test(
  'VM Backups tab: back up now, verify, restore to a new VM, restore a disk, restore over the VM, delete',
  { timeout: 400_000 },
  async (t) => {
    const { server: s, pool, vmName: name, vmId: id, domains } = await startBackupUiStack(t, 'bk');
    const restored = srvName('ui-bk-restored');
    domains.push(restored);

    const browser = await launchChromium();
    t.after(() => browser.close());
    const page = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('dialog', (d) => void d.accept());
    await login(page, s.base, 'admin');
    await gotoPage(page, `${s.base}/#/vms/${encodeURIComponent(id)}`);
    await page.locator('#tab-backups').click();
    const tab = page.locator('qx-vm-backups');
    await tab.locator('#backup-pool option', { hasText: pool.name }).waitFor({ state: 'attached' });
    await tab.locator('#backup-pool').selectOption(pool.name);
    await tab.getByRole('button', { name: 'Back up now' }).click();
    await tab
      .locator('[data-testid=backup-notice]', { hasText: /full backup .* stored in pool/ })
      .waitFor({ timeout: 120_000 });
    const row = tab.locator('tr[data-backup]');
    await row.filter({ hasText: 'full' }).filter({ hasText: 'VM was off' }).waitFor();
    // The pool as a backup target: what this VM's backups hold in it, one point, and its free space.
    const target = tab.locator(`[data-testid=backup-targets] tr[data-pool="${pool.name}"] td`);
    await target.nth(2).filter({ hasText: /^1$/ }).waitFor();
    assert.match((await target.nth(1).textContent()) ?? '', /[1-9][\d.]* [KMG]i?B/);
    assert.match((await target.nth(3).textContent()) ?? '', /\d/);

    await row.getByRole('button', { name: 'Verify' }).click();
    await tab.locator('[data-testid=backup-notice]', { hasText: /verified: .* checked, no corruption/ }).waitFor();

    await row.getByRole('button', { name: 'Restore…' }).click();
    await tab.locator('#restore-name').fill(restored);
    await tab.locator('#restore-pool').selectOption(pool.name);
    await tab
      .locator('form', { has: page.locator('#restore-name') })
      .getByRole('button', { name: 'Restore' })
      .click();
    await tab
      .locator('[data-testid=backup-notice]', { hasText: `Restored as VM ${restored}` })
      .waitFor({ timeout: 120_000 });
    const vms = (await s.admin.request<VmDto[]>('GET', '/api/v1/vms')).json;
    const copy = vms.find((v) => v.name === restored);
    assert.ok(copy && copy.id !== id, 'the restored VM exists with a UUID of its own');

    // One disk as a new volume, then the point over the VM itself once its name is typed.
    await row.getByRole('button', { name: 'Restore disk…' }).click();
    await tab.locator('#restore-disk-pool').selectOption(pool.name);
    await tab.locator('#restore-disk-name').fill('ui-restored-vda.qcow2');
    await tab.getByRole('button', { name: 'Restore disk', exact: true }).click();
    await tab
      .locator('[data-testid=backup-notice]', {
        hasText: `Disk vda restored as volume ${pool.name}/ui-restored-vda.qcow2`,
      })
      .waitFor({ timeout: 120_000 });
    await row.getByRole('button', { name: 'Restore over VM…' }).click();
    await tab.locator('#restore-over-confirm').fill(`${name}-typo`);
    await tab.getByRole('button', { name: 'Restore over VM', exact: true }).click();
    await tab.locator('#restore-over-confirm-error', { hasText: `type the VM's name, ${name}` }).waitFor();
    await tab.locator('#restore-over-confirm').fill(name);
    await tab.getByRole('button', { name: 'Restore over VM', exact: true }).click();
    await tab
      .locator('[data-testid=backup-notice]', { hasText: `over ${pool.name}/boot.qcow2` })
      .waitFor({ timeout: 120_000 });

    // A viewer sees the point but no controls.
    await s.userWithRole('viewer').then(async (v) => {
      const viewerPage = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
      const username = (await v.request<{ user: { username: string } }>('GET', '/api/v1/auth/me')).json.user.username;
      await login(viewerPage, s.base, username);
      await gotoPage(viewerPage, `${s.base}/#/vms/${encodeURIComponent(id)}`);
      await viewerPage.locator('#tab-backups').click();
      await viewerPage.locator('qx-vm-backups tr[data-backup]').waitFor();
      assert.equal(await viewerPage.locator('qx-vm-backups button').count(), 0);
    });

    await row.getByRole('button', { name: 'Delete' }).click();
    await row.waitFor({ state: 'detached' });
    await target.nth(2).filter({ hasText: /^0$/ }).waitFor();
    assert.deepEqual((await s.admin.request<unknown[]>('GET', `/api/v1/vms/${id}/backups`)).json, []);
    assert.deepEqual(pageErrors, []);
  },
);
