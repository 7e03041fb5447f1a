// UI render bench (#22, #23): the dashboard and the VM list rendered in headless Chromium with
// 10,000 VMs against the same pages with 10, same run, same server (target ≤ 3×). Scale is simulated:
// FakeAgents (server/src/bench/fake-agent.ts, the scale fake: a gRPC fake of the host agent)
// joined through the real API to a real in-process server that serves the built UI. "Rendered" is
// the page showing its data: the dashboard's host and VM totals; the VM list's count and first
// page of rows (100: the server pages, filters and sorts the list).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Browser, Page } from 'playwright-core';
import type { HostDto } from '../../server/src/dto/hosts.js';
import type { ApiClient } from '../../server/src/test-support/api-client.js';
import { REPO } from '../../server/src/test-support/spawn.js';
import { ADMIN_PASSWORD, startTestServer } from '../../server/src/test-support/test-server.js';
import { buildUi } from '../e2e/ui-stack.js';
import { launchChromium } from '../e2e/ui-browser.js';

const RUNS = Number(process.env.QX_UI_BENCH_RUNS ?? 5);
const SMALL = 10;
/** The large vDC: 10,000 VMs (#23) on LARGE_HOSTS simulated hosts besides the small one. */
const LARGE = Number(process.env.QX_UI_BENCH_VMS ?? 10_000);
const LARGE_HOSTS = 10;
const TARGET = 3;
/** Rows on a page of the VM list (qx-vm-list.ts). */
const LIST_PAGE = 100;

/** Starts FakeAgents (bench-only simulated hosts) with `vms` VMs each; resolves with their ports. */
async function fakeAgents(count: number, vms: number): Promise<{ child: ChildProcess; ports: number[] }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', `${REPO}/server/src/bench/fake-agents-main.ts`, String(count), String(vms)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve));
  return { child, ports: (JSON.parse(line) as { agents: { port: number }[] }).agents.map((a) => a.port) };
}

async function join_(api: ApiClient, port: number): Promise<void> {
  const address = `127.0.0.1:${port}`;
  const probe = await api.request<{ fingerprint: string }>('POST', '/api/v1/hosts/probe', { body: { address } });
  const added = await api.request('POST', '/api/v1/hosts', {
    body: { address, fingerprint: probe.json.fingerprint, joinToken: 'fake', name: `fake-${port}` },
  });
  if (added.status !== 201) throw new Error(`joining FakeAgent ${address}: ${added.status} ${added.text}`);
}

async function settle(api: ApiClient, hosts: number, vms: number): Promise<void> {
  for (let i = 0; ; i++) {
    const h = (await api.request<HostDto[]>('GET', '/api/v1/hosts')).json;
    const v = (await api.request<unknown[]>('GET', '/api/v1/vms')).json;
    if (h.filter((x) => x.status === 'online').length === hosts && v.length === vms) return;
    if (i > 600) throw new Error(`${hosts} hosts / ${vms} VMs never settled`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Milliseconds from navigation to `ready` in a fresh signed-in page. */
async function timeTo(browser: Browser, base: string, hash: string, ready: (p: Page) => Promise<unknown>) {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 720 } });
  const r = await ctx.request.post(`${base}/api/v1/auth/login`, {
    data: { username: 'admin', password: ADMIN_PASSWORD },
  });
  if (!r.ok()) throw new Error(`login failed: ${r.status()}`);
  const page = await ctx.newPage();
  await page.goto(`${base}/${hash}`);
  await ready(page);
  const ms = await page.evaluate(() => performance.now());
  await ctx.close();
  return ms;
}

/** The dashboard shows every host online and the VM total. */
const dashboardReady = (hosts: number, vms: number) => (p: Page) =>
  p.waitForFunction(
    ([h, v]) => {
      const d = document.querySelector('qx-app')?.shadowRoot?.querySelector('qx-dashboard-page')?.shadowRoot;
      return (
        d?.querySelector('[data-testid="hosts-up"]')?.textContent?.trim() === `${h} / ${h}` &&
        d.querySelector('[data-testid="vms-total"]')?.textContent?.trim() === String(v)
      );
    },
    [hosts, vms],
    { timeout: 120_000 },
  );

/** The VM list says how many VMs it holds and has drawn its first screen of rows. */
const listReady = (vms: number) => (p: Page) =>
  p.waitForFunction(
    (v) => {
      const l = document.querySelector('qx-app')?.shadowRoot?.querySelector('qx-vm-list')?.shadowRoot;
      const rows = l?.querySelectorAll('tbody tr[data-vm]').length ?? 0;
      return l?.querySelector('[data-testid="vm-count"]')?.textContent?.includes(`${v} `) && rows >= Math.min(v, 20);
    },
    vms,
    { timeout: 120_000 },
  );

/** The list's first page (100 rows: the server pages it) is all in the DOM. */
const listComplete = (vms: number) => (p: Page) =>
  p.waitForFunction(
    (v) =>
      document
        .querySelector('qx-app')
        ?.shadowRoot?.querySelector('qx-vm-list')
        ?.shadowRoot?.querySelectorAll('tbody tr[data-vm]').length === v,
    Math.min(vms, LIST_PAGE),
    { timeout: 120_000 },
  );

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const dir = await mkdtemp(join(tmpdir(), 'qxt-ui-render-'));
const children: ChildProcess[] = [];
const uiDir = join(dir, 'ui');
await buildUi(uiDir);
const s = await startTestServer({ QX_UI_DIR: uiDir });
const browser = await launchChromium();
try {
  const measure = async (hosts: number, vms: number) => {
    const dash: number[] = [];
    const list: number[] = [];
    const all: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      dash.push(await timeTo(browser, s.base, '#/', dashboardReady(hosts, vms)));
      list.push(await timeTo(browser, s.base, '#/vms', listReady(vms)));
      all.push(await timeTo(browser, s.base, '#/vms', listComplete(vms)));
    }
    return { dash: median(dash), list: median(list), all: median(all) };
  };
  const small = await fakeAgents(1, SMALL);
  children.push(small.child);
  await join_(s.admin, small.ports[0]);
  await settle(s.admin, 1, SMALL);
  const few = await measure(1, SMALL);
  const large = await fakeAgents(LARGE_HOSTS, (LARGE - SMALL) / LARGE_HOSTS);
  children.push(large.child);
  for (const port of large.ports) await join_(s.admin, port);
  await settle(s.admin, 1 + LARGE_HOSTS, LARGE);
  const many = await measure(1 + LARGE_HOSTS, LARGE);
  const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
  console.log(
    `runs: ${RUNS} (medians), headless Chromium 1280x720; VMs simulated by FakeAgents (the scale fake, not real hosts)`,
  );
  console.log(
    `dashboard, ${SMALL} VMs (baseline): ${few.dash.toFixed(0)} ms; ${LARGE} VMs: ${many.dash.toFixed(0)} ms = ${ratio(many.dash, few.dash)} (target ≤ ${TARGET}x)`,
  );
  console.log(
    `VM list, ${SMALL} VMs (baseline): ${few.list.toFixed(0)} ms; ${LARGE} VMs: ${many.list.toFixed(0)} ms = ${ratio(many.list, few.list)} (target ≤ ${TARGET}x)`,
  );
  console.log(
    `VM list, its whole first page in the DOM: ${SMALL} VMs ${few.all.toFixed(0)} ms; ${LARGE} VMs: ${many.all.toFixed(0)} ms = ${ratio(many.all, few.all)}`,
  );
  if (many.dash / few.dash > TARGET || many.list / few.list > TARGET) process.exitCode = 1;
} finally {
  await browser.close();
  for (const c of children) c.kill('SIGTERM');
  await s.stop();
  await rm(dir, { recursive: true, force: true });
}
