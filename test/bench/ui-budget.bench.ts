// UI budget: JS + CSS the browser fetches for the login page and for the dashboard (gzip -9 of
// each body, and bytes actually on the wire), that the console chunk is not among them, and the
// time from navigation to the dashboard rendered with live data — against a blank page served by
// the same server in the same run. Real server + agent, headless Debian Chromium, loopback only.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { BrowserContext, Page } from 'playwright-core';
import { startUiStack } from '../e2e/ui-stack.js';
import { gotoPage, launchChromium } from '../e2e/ui-browser.js';
import { apiCall, apiLogin } from '../e2e/ui-api.js';

const RUNS = Number(process.env.QX_UI_BENCH_RUNS ?? 5);
const BUDGET_KB = 120;
const ADMIN = { username: 'admin', password: 'qxt-ui-bench-password' };

interface Load {
  gzipBytes: number;
  wireBytes: number;
  files: string[];
  ms: number;
}

/** Loads `path`, waits for `ready`, and sums the JS/CSS responses. */
async function measure(context: BrowserContext, url: string, ready: (p: Page) => Promise<unknown>): Promise<Load> {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  const wire = new Map<string, number>();
  const urls = new Map<string, string>();
  cdp.on('Network.responseReceived', (e) => urls.set(e.requestId, e.response.url));
  cdp.on('Network.loadingFinished', (e) => wire.set(e.requestId, e.encodedDataLength));
  const bodies: Promise<{ url: string; gz: number }>[] = [];
  page.on('response', (r) => {
    if (/\.(js|css)(\?|$)/.test(r.url()))
      bodies.push(r.body().then((b) => ({ url: r.url(), gz: gzipSync(b, { level: 9 }).length })));
  });
  await gotoPage(page, url);
  await ready(page);
  const ms = await page.evaluate(() => performance.now());
  await page.waitForLoadState('networkidle');
  const got = await Promise.all(bodies);
  let wireBytes = 0;
  for (const [id, u] of urls) if (/\.(js|css)(\?|$)/.test(u)) wireBytes += wire.get(id) ?? 0;
  await page.close();
  return {
    gzipBytes: got.reduce((s, x) => s + x.gz, 0),
    wireBytes,
    files: got.map((x) => new URL(x.url).pathname),
    ms,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;

const stack = await startUiStack();
const browser = await launchChromium();
try {
  await writeFile(join(stack.uiDir, 'blank.html'), '<!doctype html><title>blank</title><p>blank</p>');
  const setup = await apiCall(stack.url, 'POST', '/setup', { ...ADMIN, setupCode: await stack.setupCode() });
  if (setup.status !== 201) throw new Error(`setup failed: ${setup.status} ${JSON.stringify(setup.body)}`);
  // Measure a settled system: the local host online before the first timed navigation.
  const api = await apiLogin(stack.url, ADMIN.username, ADMIN.password);
  for (let i = 0; ; i++) {
    const hosts = (await apiCall<{ status: string }[]>(stack.url, 'GET', '/hosts', undefined, api)).body;
    if (Array.isArray(hosts) && hosts.some((h) => h.status === 'online')) break;
    if (i > 600) throw new Error('the local host did not come online');
    await new Promise((r) => setTimeout(r, 300));
  }

  const blank: number[] = [];
  const login: Load[] = [];
  const dash: Load[] = [];
  for (let i = 0; i < RUNS; i++) {
    const anon = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 720 } });
    blank.push((await measure(anon, `${stack.url}/blank.html`, (p) => p.waitForSelector('p'))).ms);
    login.push(await measure(anon, `${stack.url}/`, (p) => p.waitForSelector('qx-login-page input#username')));
    await anon.close();

    const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 720 } });
    const r = await ctx.request.post(`${stack.url}/api/v1/auth/login`, { data: ADMIN });
    if (!r.ok()) throw new Error(`login failed: ${r.status()}`);
    dash.push(
      await measure(ctx, `${stack.url}/#/`, (p) =>
        p.waitForFunction(
          () => {
            const app = document.querySelector('qx-app');
            const d = app?.shadowRoot?.querySelector('qx-dashboard-page');
            const t = d?.shadowRoot?.querySelector('[data-testid="hosts-up"]')?.textContent ?? '';
            return /[1-9]\d* \/ \d+/.test(t);
          },
          undefined,
          { timeout: 180_000 },
        ),
      ),
    );
    await ctx.close();
  }

  const consoleLoaded = [...login, ...dash].some((l) => l.files.some((f) => f.includes('qx-serial-console')));
  const b = median(blank);
  const lg = median(login.map((l) => l.gzipBytes));
  const dg = median(dash.map((l) => l.gzipBytes));
  const dm = median(dash.map((l) => l.ms));
  const lm = median(login.map((l) => l.ms));
  console.log(`runs: ${RUNS} (medians), headless Chromium, 1280x720, localhost HTTPS`);
  console.log(
    `login page JS+CSS: ${kb(lg)} gzip-9 (${kb(median(login.map((l) => l.wireBytes)))} on the wire), ${login[0].files.length} files; budget ${BUDGET_KB} KB → ${((lg / (BUDGET_KB * 1024)) * 100).toFixed(0)}% of budget`,
  );
  console.log(
    `dashboard JS+CSS: ${kb(dg)} gzip-9 (${kb(median(dash.map((l) => l.wireBytes)))} on the wire), ${dash[0].files.length} files; budget ${BUDGET_KB} KB → ${((dg / (BUDGET_KB * 1024)) * 100).toFixed(0)}% of budget`,
  );
  console.log(`console chunk loaded before a console opens: ${consoleLoaded ? 'YES (regression)' : 'no'}`);
  console.log(`blank page (baseline) navigation → rendered: ${b.toFixed(0)} ms`);
  console.log(`login page navigation → form rendered: ${lm.toFixed(0)} ms = ${(lm / b).toFixed(2)}x blank`);
  console.log(`dashboard navigation → rendered with host data: ${dm.toFixed(0)} ms = ${(dm / b).toFixed(2)}x blank`);
  if (lg > BUDGET_KB * 1024 || dg > BUDGET_KB * 1024 || consoleLoaded) process.exitCode = 1;
} finally {
  await browser.close();
  await stack.stop();
}
