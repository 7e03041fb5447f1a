// The Migrate dialog in Chromium against a real server and agent: on a stopped VM's page the
// operator opens "Migrate…", sees its host with the pools placement allows (the one its disk is
// already in refused with the reason), picks the other pool, follows the storage move's progress
// to its end, and the VM's disk is then in that pool.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VmDto } from '../../server/src/dto/vms.js';
import { ADMIN_PASSWORD } from '../../server/src/test-support/test-server.js';
import { srvName } from '../../server/src/test-support/guest-pool.js';
import { startMoveFixture, type FixturePool } from '../../server/src/test-support/move-fixture.js';
import { buildUi } from './ui-stack.js';
import { gotoPage, launchChromium } from './ui-browser.js';

test('migrate dialog: a storage move from the VM page', { timeout: 600_000 }, async (t) => {
  const uiDir = await mkdtemp(join(tmpdir(), 'qxt-ui-migrate-'));
  t.after(() => rm(uiDir, { recursive: true, force: true }));
  await buildUi(uiDir);
  const f = await startMoveFixture(2, { QX_UI_DIR: uiDir });
  t.after(() => f.stop());
  const [a, b] = f.pools as [FixturePool, FixturePool];
  const name = srvName('migrate-ui');
  const id = await f.vm(name, a);

  const browser = await launchChromium();
  t.after(() => browser.close());
  const page = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await gotoPage(page, `${f.s.base}/`);
  await page.locator('qx-login-page #username').fill('admin');
  await page.locator('qx-login-page #password').fill(ADMIN_PASSWORD);
  await page.locator('qx-login-page button[type=submit]').click();
  await page.locator('nav a[href="#/vms"]').waitFor();
  await gotoPage(page, `${f.s.base}/#/vms/${encodeURIComponent(id)}`);

  const dialog = page.locator('qx-vm-detail qx-vm-migrate-dialog');
  await dialog.getByRole('button', { name: 'Migrate…' }).click();
  const host = dialog.locator('#migrate-host');
  await host.waitFor();
  assert.equal(await host.inputValue(), f.host.id, 'its own host is the only one that can take it');
  const pool = dialog.locator('#migrate-pool');
  assert.equal(await pool.inputValue(), b.name, 'the pool its disk is not in yet');
  const refused = pool.locator(`option[value="${a.name}"]`);
  assert.equal(await refused.isDisabled(), true);
  assert.match((await refused.textContent()) ?? '', /already in pool/);
  assert.match((await dialog.getByTestId('migrate-kind').textContent()) ?? '', /^Storage move/);

  await dialog.getByRole('button', { name: 'Migrate', exact: true }).click();
  await dialog.getByTestId('migrate-done').waitFor({ timeout: 300_000 });
  const vm = (await f.s.admin.request<VmDto>('GET', `/api/v1/vms/${id}`)).json;
  assert.deepEqual(
    vm.disks.map((d) => d.pool),
    [b.name],
  );
  assert.ok(!existsSync(join(a.dir, `${name}.qcow2`)), 'the old volume is gone');
  assert.deepEqual(pageErrors, []);
});
