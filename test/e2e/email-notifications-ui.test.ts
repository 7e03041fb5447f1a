// E-mail notifications on the Notifications page in Chromium, against a real SMTP server on
// loopback (smtp-server, STARTTLS with its own CA, AUTH): a bad recipient is refused under its
// field; saved settings keep the password hidden; "Send test" reports "E-mail: sent" and the mail arrives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { createSelfSigned } from '@quantix/proto/tls/certificates.js';
import { ADMIN_PASSWORD, startTestServer } from '../../server/src/test-support/test-server.js';
import { buildUi } from './ui-stack.js';
import { gotoPage, launchChromium } from './ui-browser.js';

test('notifications UI: e-mail settings saved and a test mail sent over STARTTLS', { timeout: 300_000 }, async (t) => {
  const tls = await createSelfSigned({
    commonName: '127.0.0.1',
    ipAddresses: ['127.0.0.1'],
    days: 1,
    usages: ['server'],
  });
  const mails: { to: string[]; user: string; body: string }[] = [];
  const smtp = new SMTPServer({
    key: tls.keyPem,
    cert: tls.certPem,
    logger: false,
    onAuth: (auth, _s, cb) =>
      auth.username === 'qx-mailer' && auth.password === 'qxt-ui-smtp-secret'
        ? cb(null, { user: auth.username })
        : cb(new Error('invalid credentials')),
    onData(stream, session, cb) {
      let body = '';
      stream.on('data', (d: Buffer) => (body += d.toString('utf8')));
      stream.on('end', () => {
        mails.push({ to: session.envelope.rcptTo.map((r) => r.address), user: String(session.user), body });
        cb();
      });
    },
  });
  smtp.on('error', () => undefined);
  await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => smtp.close(() => r())));
  const port = (smtp.server.address() as AddressInfo).port;
  const uiDir = await mkdtemp(join(tmpdir(), 'qxt-ui-mail-'));
  t.after(() => rm(uiDir, { recursive: true, force: true }));
  await buildUi(uiDir);
  const s = await startTestServer({ QX_UI_DIR: uiDir });
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
  await page.locator('nav a[href="#/notifications"]').click();
  const n = page.locator('qx-notifications');
  const mail = n.locator('fieldset[data-email]');
  await mail.locator('#mail-enabled').check();
  await mail.locator('#mail-host').fill('127.0.0.1');
  await mail.locator('#mail-security').selectOption('starttls');
  await mail.locator('#mail-port').fill(String(port));
  await mail.locator('#mail-user').fill('qx-mailer');
  await mail.locator('#mail-password').fill('qxt-ui-smtp-secret');
  await mail.locator('#mail-from').fill('vdc@example.org');
  await mail.locator('#mail-to').fill('ops@example.org not-an-address');
  await mail.locator('#mail-sev').selectOption('error');
  await mail.locator('#mail-ca').fill(tls.certPem);
  await n.getByRole('button', { name: 'Save' }).click();
  await mail.locator('[role=alert]', { hasText: 'email.to[1]' }).waitFor();
  await mail.locator('#mail-to').fill('ops@example.org');
  await n.getByRole('button', { name: 'Save' }).click();
  await n.getByText('Saved.').waitFor();
  assert.equal(await mail.locator('#mail-password').getAttribute('placeholder'), 'set (leave empty to keep it)');
  await n.getByRole('button', { name: 'Send test' }).click();
  await n.getByText('E-mail: sent').waitFor();
  assert.equal(mails.length, 1);
  assert.deepEqual(mails[0]!.to, ['ops@example.org']);
  assert.equal(mails[0]!.user, 'qx-mailer');
  assert.match(mails[0]!.body, /A test notification from Quantix-vDC/);
  assert.deepEqual(pageErrors, []);
});
