// A fresh appliance in Chromium (real server and agent): the dashboard's storage tile says there is
// no pool instead of "0 B of 0 B"; once the host has one pool, the tile shows its use and the create
// wizard preselects it; the Appliance page offers Reboot/Shut down per host with a confirmation that
// says what happens to the VMs (opened and cancelled here: the power path has its own test on a
// libvirt of its own, server/src/services/host-power.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TaskDto } from '../../server/src/dto/tasks.js';
import { ADMIN_PASSWORD } from '../../server/src/test-support/test-server.js';
import { eventually, srvName } from '../../server/src/test-support/guest-pool.js';
import { startInProcessUiStack } from './ui-stack.js';
import { gotoPage, launchChromium } from './ui-browser.js';

test(
  'first boot UI: no-pool dashboard, sole pool preselected, host power confirmation',
  { timeout: 400_000 },
  async (t) => {
    const { server: s, host } = await startInProcessUiStack(t, 'firstboot');
    const api = s.admin;
    const poolName = srvName('fb');
    const browser = await launchChromium();
    t.after(() => browser.close());
    const page = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await gotoPage(page, `${s.base}/`);
    await page.locator('qx-login-page #username').fill('admin');
    await page.locator('qx-login-page #password').fill(ADMIN_PASSWORD);
    await page.locator('qx-login-page button[type=submit]').click();

    const storage = page.locator('qx-dashboard-page section[aria-label=Storage]');
    await storage.getByText('No active storage pool').waitFor();
    assert.equal(await storage.getByText('0 B of 0 B').count(), 0);

    // Deleted in `finally`, while the agent runs (the stack's own cleanup stops it first).
    try {
      const created = await api.request<TaskDto>('POST', `/api/v1/hosts/${host.id}/pools`, {
        body: { name: poolName, kind: 'loop', sizeBytes: 64 * 1024 * 1024 },
      });
      assert.equal(created.status, 202, created.text);
      const task = await eventually('the pool task', async () => {
        const r = (await api.request<TaskDto>('GET', `/api/v1/tasks/${created.json.id}`)).json;
        return r.status !== 'running' && r;
      });
      assert.equal(task.status, 'succeeded', task.error ?? '');
      await page.reload();
      await storage.getByText(/ of \d/).waitFor();

      // The pool is chosen on the disk step (the third).
      await page.evaluate(() => (location.hash = '#/vms/new'));
      const wizard = page.locator('qx-vm-create-wizard');
      await wizard.locator('#name').fill(srvName('fbvm'));
      await wizard.getByRole('button', { name: 'Next' }).click();
      await wizard.getByText('CPU & memory').first().waitFor();
      await wizard.getByRole('button', { name: 'Next' }).click();
      await eventually(
        'the sole pool preselected',
        async () => (await wizard.locator('#pool').inputValue()) === poolName,
      );

      await page.locator('nav a[href="#/appliance"]').click();
      const appl = page.locator('qx-appliance-settings');
      await appl.getByRole('button', { name: `Reboot ${host.name}` }).click();
      const dialog = appl.locator('[role=alertdialog]');
      await dialog.getByText('Its running VMs are shut down cleanly first').waitFor();
      await dialog.getByText('VMs set to start automatically start again').waitFor();
      await dialog.locator('#power-confirm').waitFor();
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      assert.equal(await appl.locator('[role=alertdialog]').count(), 0);
      await appl.getByRole('button', { name: `Shut down ${host.name}` }).click();
      await dialog.getByText('powers off and stays off').waitFor();
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      assert.deepEqual(pageErrors, []);
    } finally {
      await api.request('DELETE', `/api/v1/hosts/${host.id}/pools/${poolName}?deleteBackingFile=true`);
    }
  },
);
