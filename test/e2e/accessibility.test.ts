// Accessibility (#22): axe-core, injected into the page, audits every page of the UI in Chromium
// (setup, login and each route of ui/src/app/routes.ts with a real VM, host and cluster) against
// a real server and agent; no serious or critical violation may remain. Then the create-VM wizard
// is driven with the keyboard alone up to a created VM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { ClusterDto, HostDto } from '../../server/src/dto/hosts.js';
import type { TaskDto } from '../../server/src/dto/tasks.js';
import type { VmDto } from '../../server/src/dto/vms.js';
import { routes } from '../../ui/src/app/routes.js';
import { spawnAgent } from '../../server/src/test-support/spawn.js';
import { startTestServer } from '../../server/src/test-support/test-server.js';
import { readSetupCode } from '../../server/src/services/setup-code.js';
import { eventually, removeDomain, srvName, virsh } from '../../server/src/test-support/guest-pool.js';
import type { ApiClient } from '../../server/src/test-support/api-client.js';
import { buildUi, freePort } from './ui-stack.js';
import { gotoPage, launchChromium } from './ui-browser.js';

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const PASSWORD = 'qxt-a11y-admin-password';

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[]; failureSummary?: string }[];
}

/** Serious and critical axe violations of the page as it is now, one line each. */
async function audit(page: Page, what: string): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ path: AXE });
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (c: unknown, o: unknown) => Promise<{ violations: unknown[] }> } })
      .axe;
    return (await axe.run(document, { resultTypes: ['violations'] })).violations;
  });
  return (violations as Violation[])
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map(
      (v) => `${what}: ${v.id} (${v.impact}) ${v.help} at ${v.nodes.map((n) => JSON.stringify(n.target)).join(', ')}`,
    );
}

async function finished(api: ApiClient, task: TaskDto): Promise<TaskDto> {
  return eventually(`task ${task.kind}`, async () => {
    const x = (await api.request<TaskDto>('GET', `/api/v1/tasks/${task.id}`)).json;
    return x.status !== 'running' && x;
  });
}

/** Waits until the page's element has rendered and nothing says "Loading…". */
async function settled(page: Page, tag: string): Promise<void> {
  await page.locator(tag).first().waitFor();
  await eventually(`${tag} loaded`, async () => !(await page.getByText('Loading…').count()));
}

test(
  'axe finds no serious or critical violation on any page; the wizard works with the keyboard alone',
  { timeout: 600_000 },
  async (t) => {
    const work = await mkdtemp(join(tmpdir(), 'qxt-a11y-'));
    await chmod(work, 0o755);
    const undo: (() => Promise<unknown>)[] = [() => rm(work, { recursive: true, force: true })];
    t.after(async () => {
      for (const u of undo.reverse()) await u().catch((err: unknown) => console.error('cleanup:', err));
    });
    const uiDir = join(work, 'ui');
    await buildUi(uiDir);
    const port = await freePort();
    const agent = await spawnAgent(join(work, 'agent'), port);
    undo.push(async () => agent.kill('SIGKILL'));
    const s = await startTestServer(
      { QX_UI_DIR: uiDir, QX_LOCAL_AGENT_ADDRESS: `127.0.0.1:${port}`, QX_LOCAL_AGENT_DATA_DIR: join(work, 'agent') },
      { setup: false },
    );
    undo.push(() => s.stop());
    const browser = await launchChromium();
    undo.push(() => browser.close());
    const page = await (await browser.newContext({ ignoreHTTPSErrors: true, bypassCSP: true })).newPage();
    const found: string[] = [];

    // Setup, then the app as the admin it made.
    await gotoPage(page, `${s.base}/`);
    await page.locator('qx-setup-page #setupCode').waitFor();
    found.push(...(await audit(page, 'setup')));
    await page.locator('qx-setup-page #setupCode').fill(await readSetupCode(s.dataDir));
    await page.locator('qx-setup-page #password').fill(PASSWORD);
    await page.locator('qx-setup-page #confirm').fill(PASSWORD);
    await page.locator('qx-setup-page button[type=submit]').click();
    await page.locator('nav a[href="#/vms"]').waitFor();
    const api = s.client();
    assert.equal((await api.login('admin', PASSWORD)).status, 200);

    // Something on every page: a host online, a cluster, a pool, a VM (off).
    const host = await eventually('the local host online', async () =>
      (await api.request<HostDto[]>('GET', '/api/v1/hosts')).json.find((h) => h.status === 'online'),
    );
    const cluster = (await api.request<ClusterDto>('POST', '/api/v1/clusters', { body: { name: 'qxt a11y' } })).json;
    const poolName = srvName('a11y-pool');
    const poolDir = join(work, 'pool');
    await mkdir(poolDir, { mode: 0o755 });
    const pool = await api.request<TaskDto>('POST', `/api/v1/hosts/${host.id}/pools`, {
      body: { name: poolName, kind: 'dir', path: poolDir },
    });
    assert.equal(pool.status, 202, pool.text);
    await finished(api, pool.json);
    undo.push(async () => {
      await api.request('DELETE', `/api/v1/hosts/${host.id}/pools/${poolName}?deleteBackingFile=false`);
      await virsh(['pool-destroy', poolName]).catch(() => undefined);
      await virsh(['pool-undefine', poolName]).catch(() => undefined);
    });
    const vmName = srvName('a11y');
    const wizardVm = srvName('keys');
    undo.push(async () => {
      for (const n of [vmName, wizardVm]) {
        const vm = (await api.request<VmDto[]>('GET', '/api/v1/vms')).json.find((v) => v.name === n);
        if (vm) await api.request('DELETE', `/api/v1/vms/${vm.id}?deleteDisks=true`);
        await eventually(`${n} deleted`, async () =>
          (await api.request<VmDto[]>('GET', '/api/v1/vms')).json.every((v) => v.name !== n),
        ).catch(() => undefined);
        await removeDomain(n);
      }
    });
    const created = await api.request<TaskDto>('POST', '/api/v1/vms', {
      body: { name: vmName, hostId: host.id, pool: poolName, memoryMib: 128 },
    });
    assert.equal(created.status, 202, created.text);
    const done = await finished(api, created.json);
    const vmId = (done.result as { vmId: string }).vmId;
    assert.ok(vmId, done.error ?? 'vm.create gave no VM');

    const idFor: Record<string, string> = { hosts: host.id, clusters: cluster.id, vms: vmId };
    for (const route of routes) {
      const path = route.pattern.replace(':id', () => encodeURIComponent(idFor[route.pattern.split('/')[1]] ?? ''));
      await page.evaluate((h) => (location.hash = h), `#${path}`);
      await settled(page, route.tag);
      found.push(...(await audit(page, `#${path}`)));
    }

    // The keyboard alone through the wizard: type, Tab and Enter, no mouse.
    await page.evaluate(() => (location.hash = '#/vms/new'));
    await settled(page, 'qx-vm-create-wizard');
    found.push(...(await keyboardWizard(page, wizardVm, poolName)));
    await eventually(
      'the VM made with the keyboard',
      async () => (await api.request<VmDto[]>('GET', '/api/v1/vms')).json.some((v) => v.name === wizardVm),
      120_000,
    ).catch(async (err: Error) => {
      const shown = await page
        .locator('qx-app')
        .innerText()
        .catch(() => '');
      throw new Error(`${err.message}; the page shows:\n${shown}`, { cause: err });
    });

    // Back to the login page.
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.locator('qx-login-page #username').waitFor();
    found.push(...(await audit(page, 'login')));
    await api.request('DELETE', `/api/v1/clusters/${cluster.id}`);

    assert.deepEqual(found, [], 'serious or critical accessibility violations');
  },
);

/**
 * Fills the wizard with keys only: the name, then Enter on each step (the focused field submits
 * its step) and arrow keys in selects. Returns audit findings of each step.
 */
async function keyboardWizard(page: Page, name: string, pool: string): Promise<string[]> {
  const found: string[] = [];
  const wizard = page.locator('qx-vm-create-wizard');
  const focused = () =>
    page.evaluate(() => {
      let el: Element | null = document.activeElement;
      while (el?.shadowRoot?.activeElement) el = el.shadowRoot.activeElement;
      return el ? `${el.tagName.toLowerCase()}#${el.id}` : '';
    });
  /** Tabs until the element with `id` has the focus (at most 40 steps). */
  const tabTo = async (id: string) => {
    for (let i = 0; i < 40; i++) {
      if ((await focused()).endsWith(`#${id}`)) return;
      await page.keyboard.press('Tab');
    }
    throw new Error(`Tab never reached #${id} (focus on ${await focused()})`);
  };
  /** Tabs to the button named `label` (text) and presses Enter. */
  const pressButton = async (label: string) => {
    for (let i = 0; i < 60; i++) {
      const text = await page.evaluate(() => {
        let el: Element | null = document.activeElement;
        while (el?.shadowRoot?.activeElement) el = el.shadowRoot.activeElement;
        return el?.tagName === 'BUTTON' ? (el.textContent ?? '').trim() : '';
      });
      if (text === label) {
        await page.keyboard.press('Enter');
        return;
      }
      await page.keyboard.press('Tab');
    }
    throw new Error(`Tab never reached the button ${label}`);
  };
  /** Chooses the option whose text starts with `text` in the focused select, with arrow keys. */
  const chooseOption = async (id: string, text: string) => {
    await tabTo(id);
    const sel = wizard.locator(`#${id}`);
    for (let i = 0; i < 30; i++) {
      const label = await sel.evaluate((e: HTMLSelectElement) => e.selectedOptions[0]?.textContent?.trim() ?? '');
      if (label.startsWith(text)) return;
      await page.keyboard.press('ArrowDown');
    }
    throw new Error(`no option "${text}" in #${id}`);
  };

  await tabTo('name');
  await page.keyboard.type(name);
  found.push(...(await audit(page, 'wizard step 1')));
  await pressButton('Next');
  await wizard.getByText('CPU & memory').first().waitFor();
  await pressButton('Next');
  await chooseOption('pool', pool);
  found.push(...(await audit(page, 'wizard disk step')));
  await pressButton('Next');
  for (let step = 0; step < 6; step++) {
    const review = await wizard.getByRole('button', { name: 'Create VM' }).count();
    if (review) break;
    await pressButton('Next');
  }
  found.push(...(await audit(page, 'wizard review')));
  await pressButton('Create VM');
  return found;
}
