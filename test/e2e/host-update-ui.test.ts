// Remote hosts follow, in Chromium (#25): an appliance host's page shows its system version and
// slot; "Update host" (confirmed) follows the host.update task's progress while the host enters
// maintenance and its agent arms the bundle; the host "reboots" (agent restarted on the armed
// version) and the page says it was updated. The Updates page lists it among the other hosts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keyPair, makeTestBundle } from '@quantix/proto/appliance/appliance-fixture.js';
import { ADMIN_PASSWORD, startTestServer } from '../../server/src/test-support/test-server.js';
import { startApplianceHost } from '../../server/src/test-support/appliance-host.js';
import { eventually } from '../../server/src/test-support/guest-pool.js';
import { buildUi } from './ui-stack.js';
import { gotoPage, launchChromium } from './ui-browser.js';

test(
  'host update UI: version shown, update confirmed, progress, back on the new version',
  { timeout: 300_000 },
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'qxt-ui-hostupd-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const key = keyPair();
    const bundle = await makeTestBundle(dir, 'good', key.privatePem, '1.1.0');
    const keyFile = join(dir, 'good.pub.pem');
    await writeFile(keyFile, key.publicPem);
    const uiDir = join(dir, 'ui');
    await buildUi(uiDir);
    const s = await startTestServer({ QX_UI_DIR: uiDir, QX_UPDATE_DIR: join(dir, 'update'), QX_UPDATE_KEY: keyFile });
    t.after(() => s.stop());
    const h = await startApplianceHost(s, {
      user: 'qxt-ui-upd',
      name: 'qxt-ui-upd-host',
      version: '1.0.0',
      publicKeyPem: key.publicPem,
    });
    t.after(() => h.stop());
    const put = await s.admin.request('PUT', '/api/v1/appliance/update/bundle', {
      stream: createReadStream(bundle),
      headers: { 'Content-Length': String((await stat(bundle)).size), 'Content-Type': 'application/octet-stream' },
    });
    assert.equal(put.status, 200, put.text);

    const browser = await launchChromium();
    t.after(() => browser.close());
    const page = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.accept();
    });
    await gotoPage(page, `${s.base}/`);
    await page.locator('qx-login-page #username').fill('admin');
    await page.locator('qx-login-page #password').fill(ADMIN_PASSWORD);
    await page.locator('qx-login-page button[type=submit]').click();
    await page.locator('nav a[href="#/appliance"]').waitFor();
    await page.goto(`${s.base}/#/hosts/${encodeURIComponent(h.id)}`);
    const system = page.locator('qx-host-system-update [data-testid=host-system]');
    await system.getByText('Quantix-vDC 1.0.0 (slot a)').waitFor();

    await system.getByRole('button', { name: 'Update host' }).click();
    await system.locator('qx-progress-bar').waitFor();
    assert.match(dialogs[0] ?? '', /Update host qxt-ui-upd-host\? It enters maintenance/);
    await eventually('the slot armed', async () => (await h.appliance.calls()).length === 2, 60_000);
    await h.appliance.rebootIntoArmed();
    await h.boot();
    await system.getByText('Updated to 1.1.0.').waitFor({ timeout: 60_000 });
    await system.getByText('Quantix-vDC 1.1.0 (slot b)').waitFor();

    await page.locator('nav a[href="#/appliance"]').click();
    const others = page.locator('qx-hosts-system-update');
    await others.locator('tr', { hasText: 'qxt-ui-upd-host' }).getByText('up to date').waitFor();
    assert.equal(await others.getByRole('button', { name: 'Update all hosts' }).isDisabled(), true);
    assert.deepEqual(pageErrors, []);
  },
);
