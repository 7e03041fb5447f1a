// The Updates section of the Appliance page in Chromium (#25): a bundle URL the server fetches
// from a real local HTTP server, its progress shown while it arrives (the mirror holds back the
// second half until the page showed the first), then the verified bundle's version; a URL of
// another scheme is refused under the form, and a forged bundle's download says why it failed; an
// update that rolled back says why.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ADMIN_PASSWORD, startTestServer } from '../../server/src/test-support/test-server.js';
import { repoRoot } from '../appliance/appliance-boot.js';
import { buildUi } from './ui-stack.js';
import { gotoPage, launchChromium } from './ui-browser.js';

function keyPair() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }) as string,
  };
}

test(
  'appliance update UI: a bundle downloaded from a URL with progress, refusals shown',
  { timeout: 300_000 },
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'qxt-ui-upd-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const key = keyPair();
    await writeFile(join(dir, 'key.pem'), key.publicPem);
    await mkdir(join(dir, 'parts'));
    await writeFile(join(dir, 'parts/00-base.squashfs'), Buffer.alloc(2 * 2 ** 20, 3));
    for (const n of ['vmlinuz', 'initrd.img', 'filesystem.module']) await writeFile(join(dir, 'parts', n), n);
    const bundle = async (name: string, privatePem: string) => {
      await writeFile(join(dir, `${name}.pem`), privatePem);
      const files = ['vmlinuz', 'initrd.img', '00-base.squashfs', 'filesystem.module'].map((n) =>
        join(dir, 'parts', n),
      );
      const out = join(dir, `${name}.qxu`);
      const args = ['--key', join(dir, `${name}.pem`), '--version', '3.1.0', '--out', out, ...files];
      await promisify(execFile)(process.execPath, [join(repoRoot, 'build/iso/make-bundle.mjs'), ...args]);
      return readFile(out);
    };
    const good = await bundle('good', key.privatePem);
    const forged = await bundle('forged', keyPair().privatePem);
    let release: () => void = () => undefined;
    const mirror = createServer((req, res) => {
      const body = req.url === '/forged.qxu' ? forged : good;
      res.writeHead(200, { 'Content-Length': body.length });
      if (req.url !== '/slow.qxu') return res.end(body);
      res.write(body.subarray(0, body.length / 2));
      release = () => res.end(body.subarray(body.length / 2));
    });
    await new Promise<void>((r) => mirror.listen(0, '127.0.0.1', r));
    t.after(async () => {
      mirror.closeAllConnections();
      await new Promise((r) => mirror.close(r));
    });
    const base = `http://127.0.0.1:${(mirror.address() as AddressInfo).port}`;

    const uiDir = join(dir, 'ui');
    await buildUi(uiDir);
    const s = await startTestServer({
      QX_UI_DIR: uiDir,
      QX_UPDATE_DIR: join(dir, 'update'),
      QX_UPDATE_KEY: join(dir, 'key.pem'),
    });
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
    const p = page.locator('qx-appliance-update');
    const download = p.getByRole('button', { name: 'Download and verify' });

    await p.locator('#bundle-url').fill('ftp://mirror.example/quantix.qxu');
    await download.click();
    await p.locator('[role=alert]', { hasText: 'only http and https URLs are fetched, not ftp' }).waitFor();

    // Half of it arrived: the page shows that much of the whole, then the verified bundle.
    await p.locator('#bundle-url').fill(`${base}/slow.qxu`);
    await download.click();
    const progress = p.locator('[data-download=downloading] progress');
    await progress.waitFor();
    await p.locator('[data-download=downloading]', { hasText: `${base}/slow.qxu` }).waitFor();
    const deadline = Date.now() + 30_000;
    while (Number(await progress.getAttribute('value')) < good.length / 2) {
      assert.ok(Date.now() < deadline, 'the progress bar reached half within 30 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(await progress.getAttribute('max'), String(good.length));
    release();
    await p.locator('[data-bundle]', { hasText: '3.1.0' }).waitFor();
    await p.getByText('Bundle 3.1.0 downloaded and verified.').waitFor();

    // A forged bundle: the download fails saying why; Clear takes it away.
    await p.locator('#bundle-url').fill(`${base}/forged.qxu`);
    await download.click();
    await p.locator('[data-download=failed]', { hasText: 'bad signature' }).waitFor();
    await p.getByRole('button', { name: 'Clear' }).click();
    await p.locator('[data-download]').waitFor({ state: 'detached' });
    await p.locator('[data-bundle]', { hasText: '3.1.0' }).waitFor();

    // An update that rolled back: the page says so, and why (as appliance/quantix-update recorded it).
    await writeFile(
      join(dir, 'update/attempt.env'),
      'from_slot=a\nto_slot=b\nfrom_version=3.0.0\nto_version=3.1.0\nstarted=2026-12-07T10:00:00Z\n' +
        'result=rolled-back\nreason=its server failed 5 times; the server said: cannot open db.json\n',
    );
    await page.reload();
    await p
      .locator('[data-attempt=rolled-back]', { hasText: 'failed: rolled back: its server failed 5 times' })
      .waitFor();
    assert.deepEqual(pageErrors, []);
  },
);
