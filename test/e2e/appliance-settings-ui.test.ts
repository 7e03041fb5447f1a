// The Appliance settings page in Chromium against a real server whose settings go into a temp
// root: a bad hostname is refused under its field, then hostname, DNS, NTP and time zone are saved
// and the files written; the current certificate's fingerprint is shown and a new certificate
// installed shows its own; the admin's password is changed (a wrong current one refused first).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCa, fingerprintOf, issueCertificate } from '@quantix/proto/tls/certificates.js';
import type { CertificateDto } from '../../server/src/dto/system.js';
import { ADMIN_PASSWORD, startTestServer } from '../../server/src/test-support/test-server.js';
import { ApiClient } from '../../server/src/test-support/api-client.js';
import { buildUi } from './ui-stack.js';
import { gotoPage, launchChromium } from './ui-browser.js';

test(
  'appliance settings UI: system settings applied, certificate installed, password changed',
  { timeout: 300_000 },
  async (t) => {
    const uiDir = await mkdtemp(join(tmpdir(), 'qxt-ui-appl-'));
    const root = await mkdtemp(join(tmpdir(), 'qxt-ui-appl-root-'));
    t.after(() => rm(uiDir, { recursive: true, force: true }));
    t.after(() => rm(root, { recursive: true, force: true }));
    await buildUi(uiDir);
    const s = await startTestServer({ QX_UI_DIR: uiDir, QX_APPLIANCE_ROOT: root });
    t.after(() => s.stop());

    const browser = await launchChromium();
    t.after(() => browser.close());
    const page = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await gotoPage(page, `${s.base}/`);
    await page.locator('qx-login-page #username').fill('admin');
    await page.locator('qx-login-page #password').fill(ADMIN_PASSWORD);
    await page.locator('qx-login-page button[type=submit]').click();
    await page.locator('nav a[href="#/appliance"]').click();
    const p = page.locator('qx-appliance-settings');

    // System: the refusal sits under the hostname field; then everything is saved and applied.
    await p.locator('#hostname').waitFor();
    assert.equal(await p.locator('#hostname').inputValue(), 'quantix');
    await p.locator('#hostname').fill('bad_name');
    await p.getByRole('button', { name: 'Save system settings' }).click();
    await p.locator('#hostname-error', { hasText: 'hostname' }).waitFor();
    await p.locator('#hostname').fill('vdc7.example.org');
    await p.locator('#dns').fill('192.0.2.53, 192.0.2.54');
    await p.locator('#ntp').fill('ntp.example.org');
    await p.locator('#tz option[value="Europe/Berlin"]').waitFor({ state: 'attached' });
    await p.locator('#tz').selectOption('Europe/Berlin');
    await p.getByRole('button', { name: 'Save system settings' }).click();
    await p.getByText('Saved and applied to the appliance.').waitFor();
    assert.equal(await readFile(join(root, 'etc/hostname'), 'utf8'), 'vdc7.example.org\n');
    assert.equal(
      await readFile(join(root, 'etc/resolv.conf'), 'utf8'),
      '# Written by Quantix-vDC (appliance settings)\nnameserver 192.0.2.53\nnameserver 192.0.2.54\n',
    );
    assert.equal(
      await readFile(join(root, 'etc/systemd/timesyncd.conf.d/quantix.conf'), 'utf8'),
      '[Time]\nNTP=ntp.example.org\n',
    );
    assert.equal(await readlink(join(root, 'etc/localtime')), '/usr/share/zoneinfo/Europe/Berlin');

    // Certificate: the current fingerprint, then a new certificate and its fingerprint.
    const before = (await s.admin.request<CertificateDto>('GET', '/api/v1/settings/certificate')).json.fingerprint;
    await p.locator('[data-fingerprint]', { hasText: before }).waitFor();
    const ca = await createCa('qxt-ui test CA', 2);
    const leaf = await issueCertificate(ca, {
      commonName: 'vdc7.example.org',
      dnsNames: ['vdc7.example.org'],
      ipAddresses: ['127.0.0.1'],
      days: 2,
      usages: ['server'],
    });
    await p.locator('#cert-pem').fill(leaf.certPem);
    await p.locator('#key-pem').fill(leaf.keyPem);
    await p.getByRole('button', { name: 'Install certificate' }).click();
    const after = fingerprintOf(leaf.certPem);
    assert.notEqual(after, before);
    await p.getByText(`Installed. New fingerprint ${after} (was ${before})`).waitFor();
    await p.locator('[data-fingerprint]', { hasText: after }).waitFor();

    // Password: a wrong current password is refused; the right one changes it.
    const next = 'qxt-ui-new-admin-password';
    await p.locator('#pw-current').fill('not-the-password');
    await p.locator('#pw-new').fill(next);
    await p.locator('#pw-again').fill(next);
    await p.getByRole('button', { name: 'Change password' }).click();
    await p
      .locator('[role=alert]', { hasText: /password/i })
      .first()
      .waitFor();
    await p.locator('#pw-current').fill(ADMIN_PASSWORD);
    await p.getByRole('button', { name: 'Change password' }).click();
    await p.getByText('Password changed.').waitFor();
    // The server now serves the new certificate: a client trusting its CA signs in.
    const login = await new ApiClient(s.base, ca.certPem).login('admin', next);
    assert.equal(login.status, 200, login.text);
    assert.deepEqual(pageErrors, []);
  },
);
