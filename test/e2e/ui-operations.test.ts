// The operations that had no UI (#22), driven in Chromium against a real server, agent, libvirt
// and QEMU: the Console link of the VM list opens the console window; the VM page's More actions
// pause, resume, reset, export an OVA and clone; the serial console is reached, used and left with
// the keyboard alone; the storage page makes a dir pool, stops and
// starts it, filters by host, and in it creates, resizes, copies, downloads and shows a volume;
// a template is renamed; the cluster page previews placement; the networks page offers the host's
// NICs as uplinks and refreshes one network; a viewer sees none of the mutating controls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { chmod, mkdir, mkdtemp, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { HostDto, ClusterDto } from '../../server/src/dto/hosts.js';
import type { TaskDto } from '../../server/src/dto/tasks.js';
import type { VmDto } from '../../server/src/dto/vms.js';
import type { TemplateDto } from '../../server/src/dto/templates.js';
import type { ApiClient } from '../../server/src/test-support/api-client.js';
import { ADMIN_PASSWORD } from '../../server/src/test-support/test-server.js';
import { createGuestPool, eventually, removeDomain, srvName, virsh } from '../../server/src/test-support/guest-pool.js';
import { startInProcessUiStack } from './ui-stack.js';
import { gotoPage, launchChromium } from './ui-browser.js';
import { buildGuestOva } from './ui-ova.js';

async function login(page: Page, base: string, username: string, password: string): Promise<void> {
  await gotoPage(page, `${base}/`);
  await page.locator('qx-login-page #username').fill(username);
  await page.locator('qx-login-page #password').fill(password);
  await page.locator('qx-login-page button[type=submit]').click();
  await page.locator('nav a[href="#/vms"]').waitFor();
}

const go = (page: Page, hash: string) => page.evaluate((h) => (location.hash = h), hash);

async function finished(api: ApiClient, task: TaskDto): Promise<TaskDto> {
  return eventually(`task ${task.kind}`, async () => {
    const t = (await api.request<TaskDto>('GET', `/api/v1/tasks/${task.id}`)).json;
    return t.status !== 'running' && t;
  });
}

/** The first byte-level check of a download: its size, and whether `needle` is in its first KiB. */
async function head(file: string, needle: string | Buffer): Promise<{ size: number; has: boolean }> {
  const fh = await open(file);
  const buf = Buffer.alloc(1024);
  await fh.read(buf, 0, 1024, 0);
  await fh.close();
  return { size: (await stat(file)).size, has: buf.includes(needle) };
}

test(
  'UI for every operation: VM actions, console link, storage, template edit, placement, networks',
  { timeout: 600_000 },
  async (t) => {
    const { server: s, host } = await startInProcessUiStack(t, 'operations');
    const api = s.admin;
    // Undone last-first, while the server and agent (stopped by the stack's own hooks) still run.
    const undo: (() => Promise<unknown>)[] = [];
    try {
      await steps(s.base, api, host, undo);
    } finally {
      for (const u of undo.reverse()) await u().catch((err: unknown) => console.error('cleanup:', err));
    }
  },
);

async function steps(base: string, api: ApiClient, host: HostDto, undo: (() => Promise<unknown>)[]): Promise<void> {
  const s = { base };
  const work = await mkdtemp(join(tmpdir(), 'qxt-ui-ops-'));
  await chmod(work, 0o755);
  undo.push(() => rm(work, { recursive: true, force: true }));
  const guest = await createGuestPool();
  undo.push(() => guest.remove());
  const vmName = srvName('ops');
  const cloneName = `${vmName}-c`;
  undo.push(async () => {
    for (const n of [cloneName, vmName]) {
      const vm = (await api.request<VmDto[]>('GET', '/api/v1/vms')).json.find((v) => v.name === n);
      if (vm) {
        if (vm.state !== 'shutoff') await api.request('POST', `/api/v1/vms/${vm.id}/force-off`);
        await eventually(
          'off',
          async () => (await api.request<VmDto>('GET', `/api/v1/vms/${vm.id}`)).json.state === 'shutoff',
        ).catch(() => undefined);
        const del = await api.request<TaskDto>('DELETE', `/api/v1/vms/${vm.id}?deleteDisks=true`);
        if (del.status === 202) await finished(api, del.json).catch(() => undefined);
      }
      await removeDomain(n);
    }
  });

  // A running VM from the test guest's disk; without graphics its console tab opens the serial console.
  const volume = await guest.addGuestDisk(`${vmName}.qcow2`);
  const created = await api.request<TaskDto>('POST', '/api/v1/vms', {
    body: {
      name: vmName,
      hostId: host.id,
      pool: guest.name,
      memoryMib: 128,
      disks: [{ pool: guest.name, volume }],
      vnc: false,
      start: true,
    },
  });
  assert.equal(created.status, 202, created.text);
  const vmId = ((await finished(api, created.json)).result as { vmId: string }).vmId;
  assert.ok(vmId, 'the VM was created');

  const browser = await launchChromium();
  undo.push(() => browser.close());
  const context = await browser.newContext({ ignoreHTTPSErrors: true, acceptDownloads: true });
  const page = await context.newPage();
  // Under TCG on a shared 2-core machine a task can take tens of seconds: wait on conditions, long enough.
  page.setDefaultTimeout(90_000);
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await login(page, s.base, 'admin', ADMIN_PASSWORD);

  // Console in one click from the VM list: a new window with the serial console of that VM.
  await go(page, '#/vms');
  const row = page.locator(`qx-vm-list tr[data-vm="${vmName}"]`);
  await row.locator('qx-state-badge', { hasText: 'running' }).waitFor();
  const [popup] = await Promise.all([
    context.waitForEvent('page'),
    row.getByRole('link', { name: `Open the console of ${vmName}` }).click(),
  ]);
  await popup.waitForURL(new RegExp(`#/vms/${vmId}/console$`));
  await popup.locator('qx-serial-console').waitFor();
  await popup.close();

  // More actions on the VM page: pause → resume → reset (a task that succeeds).
  await go(page, `#/vms/${vmId}`);
  const detail = page.locator('qx-vm-detail');
  const badge = detail.locator('.title qx-state-badge');
  const more = detail.locator('qx-vm-more-actions');
  const menuItem = async (name: string) => {
    if ((await more.locator('#more').getAttribute('aria-expanded')) !== 'true') await more.locator('#more').click();
    return more.getByRole('button', { name, exact: true });
  };
  await badge.getByText('running').waitFor();
  await (await menuItem('Pause')).click();
  await badge.getByText('paused').waitFor();
  await (await menuItem('Resume')).click();
  await badge.getByText('running').waitFor();

  // The serial console with the keyboard alone: Tab to the tabs, arrow to Console, type, leave.
  const deepFocus = () =>
    page.evaluate(() => {
      let el: Element | null = document.activeElement;
      while (el?.shadowRoot?.activeElement) el = el.shadowRoot.activeElement;
      return el ? `${el.tagName.toLowerCase()}#${el.id}|${(el.textContent ?? '').trim()}` : '';
    });
  for (let i = 0; !(await deepFocus()).startsWith('button#tab-'); i++) {
    assert.ok(i < 40, `Tab never reached the VM tabs (focus: ${await deepFocus()})`);
    await page.keyboard.press('Tab');
  }
  while (!(await deepFocus()).startsWith('button#tab-console')) await page.keyboard.press('ArrowRight');
  await detail
    .locator('qx-serial-console [data-state=open]')
    .waitFor()
    .catch(async (err: Error) => {
      throw new Error(`${err.message}\nfocus: ${await deepFocus()}\n${await detail.innerText()}`, { cause: err });
    });
  const echoed = detail.locator('qx-serial-console .xterm-rows', { hasText: 'qx-echo: qx-kbd' });
  for (let i = 0; !(await echoed.count()); i++) {
    assert.ok(i < 40, 'the guest never echoed a line typed on the keyboard');
    await page.keyboard.type('qx-kbd\n');
    await echoed.waitFor({ timeout: 5_000 }).catch(() => undefined);
  }
  await page.keyboard.press('Control+Shift+X');
  assert.match(await deepFocus(), /^button#\|Reconnect$/, 'Ctrl+Shift+X leaves the terminal for its toolbar');
  page.once('dialog', (d) => void d.accept());
  await (await menuItem('Reset')).click();
  const reset = await eventually('the reset task', async () =>
    (await api.request<TaskDto[]>('GET', '/api/v1/tasks?limit=50')).json.find(
      (x) => x.kind === 'vm.reset' && x.status !== 'running',
    ),
  );
  assert.equal(reset.status, 'succeeded', reset.error ?? '');

  // Powered off, the VM exports as an OVA download and clones into a new VM the page then shows.
  await detail.getByRole('button', { name: 'Power off' }).click();
  await badge.getByText('shutoff').waitFor();
  await more.locator('#more').click();
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    more.getByRole('link', { name: 'Export as OVA' }).click(),
  ]);
  assert.equal(download.suggestedFilename(), `${vmName}.ova`);
  const ova = join(work, 'export.ova');
  await download.saveAs(ova);
  const ovaHead = await head(ova, '.ovf');
  assert.ok(
    ovaHead.size > 1_000_000 && ovaHead.has,
    `an OVA (tar, OVF first) of the guest disk: ${ovaHead.size} bytes`,
  );
  await (await menuItem('Clone…')).click();
  await more.locator('#clone-name').fill(cloneName);
  await more.getByRole('button', { name: 'Clone', exact: true }).click();
  await page.locator('qx-vm-detail h1', { hasText: cloneName }).waitFor({ timeout: 120_000 });
  assert.ok(
    (await api.request<VmDto[]>('GET', '/api/v1/vms')).json.some((v) => v.name === cloneName),
    'the clone exists',
  );

  // Storage: a dir pool made in the UI; stop and start it; filter by host.
  const poolDir = join(work, 'dirpool');
  await mkdir(poolDir, { mode: 0o755 });
  const poolName = srvName('dir');
  undo.push(async () => {
    await api.request('POST', `/api/v1/hosts/${host.id}/pools/${poolName}/start`);
    const tpls = (await api.request<TemplateDto[]>('GET', '/api/v1/templates')).json;
    for (const tpl of tpls.filter((x) => x.pool === poolName))
      await api.request('DELETE', `/api/v1/templates/${tpl.id}`);
    await api.request('DELETE', `/api/v1/hosts/${host.id}/pools/${poolName}?deleteBackingFile=false`);
    await virsh(['pool-destroy', poolName]).catch(() => undefined);
    await virsh(['pool-undefine', poolName]).catch(() => undefined);
  });
  await go(page, '#/storage');
  const storage = page.locator('qx-storage-page');
  await storage.locator('#pool-kind').selectOption('dir');
  await storage.locator('#pool-host').selectOption(host.id);
  await storage.locator('#pool-name').fill(poolName);
  await storage.locator('#pool-path').fill(poolDir);
  await storage.getByRole('button', { name: 'Create pool' }).click();
  const poolRow = storage.locator(`tr[data-pool="${poolName}"]`);
  await poolRow.or(storage.locator('form [role=alert]')).first().waitFor({ timeout: 60_000 });
  assert.equal(await storage.locator('form [role=alert]').count(), 0, await storage.innerText());
  await poolRow.locator('qx-state-badge', { hasText: 'active' }).waitFor();
  assert.equal(await poolRow.locator('td').nth(2).textContent(), 'dir');
  await poolRow.getByRole('button', { name: 'Stop' }).click();
  await poolRow.locator('qx-state-badge', { hasText: 'inactive' }).waitFor();
  await poolRow.getByRole('button', { name: 'Start' }).click();
  await poolRow.locator('qx-state-badge', { hasText: /^active$/ }).waitFor();
  await storage.locator('#pool-host-filter').selectOption(host.id);
  await poolRow.waitFor();
  await storage.locator('#pool-host-filter').selectOption('');

  // Volumes: create, resize, copy, details, download.
  await poolRow.getByRole('button', { name: poolName, exact: true }).click();
  const vols = storage.locator('qx-pool-volumes');
  await vols.getByTestId('pool-free').getByText(poolDir).waitFor();
  await vols.locator('#vol-name').fill('qxt-v1.qcow2');
  await vols.locator('#vol-size').fill('64M');
  await vols.getByRole('button', { name: 'Create volume' }).click();
  const v1 = vols.locator('tr[data-volume="qxt-v1.qcow2"]');
  await v1.getByText('64 MiB').waitFor();
  page.once('dialog', (d) => void d.accept('128M'));
  await v1.getByRole('button', { name: 'Resize qxt-v1.qcow2' }).click();
  await v1.getByText('128 MiB').waitFor();
  page.once('dialog', (d) => void d.accept('qxt-v2.qcow2'));
  await v1.getByRole('button', { name: 'Copy qxt-v1.qcow2' }).click();
  const v2 = vols.locator('tr[data-volume="qxt-v2.qcow2"]');
  await v2.getByText('128 MiB').waitFor();
  await v2.getByRole('button', { name: 'qxt-v2.qcow2', exact: true }).click();
  await vols.getByTestId('volume-details').getByText(join(poolDir, 'qxt-v2.qcow2')).waitFor();
  const [volDownload] = await Promise.all([
    page.waitForEvent('download'),
    v2.getByRole('link', { name: 'Download qxt-v2.qcow2' }).click(),
  ]);
  const volFile = join(work, 'v2.qcow2');
  await volDownload.saveAs(volFile);
  assert.ok(
    (await head(volFile, Buffer.from([0x51, 0x46, 0x49, 0xfb]))).has,
    'the downloaded volume is the qcow2 image',
  );

  // Template edit: an OVA imported into the dir pool, renamed with a description in the UI.
  const ovaSrc = await buildGuestOva(work, 'qxt-ops-tpl', 1, 128);
  const imported = await api.upload(
    '/api/v1/templates/uploads',
    { hostId: host.id, pool: poolName, fileName: 'qxt-ops-tpl.ova', sizeBytes: (await stat(ovaSrc.file)).size },
    createReadStream(ovaSrc.file),
  );
  assert.equal(imported.reply.status, 200, imported.reply.text);
  await finished(api, imported.reply.json);
  await go(page, '#/images');
  const card = page.locator('qx-image-library article', { hasText: 'qxt-ops-tpl' }).first();
  await card.getByRole('button', { name: /^Edit template/ }).click();
  await card.getByRole('textbox', { name: 'Template name' }).fill('qxt-ops-renamed');
  await card.getByRole('textbox', { name: 'Description' }).fill('Edited in the browser');
  await card.getByRole('button', { name: 'Save' }).click();
  await page
    .locator('qx-image-library article[data-template="qxt-ops-renamed"]')
    .getByText('Edited in the browser')
    .waitFor();

  // Cluster page: the placement preview names the local host for the guest pool.
  const cluster = await api.request<ClusterDto>('POST', '/api/v1/clusters', {
    body: { name: `qxt ops ${vmName.slice(-6)}` },
  });
  assert.equal(cluster.status, 201, cluster.text);
  undo.push(async () => {
    await api.request('PATCH', `/api/v1/hosts/${host.id}`, { body: { clusterId: null } });
    await api.request('DELETE', `/api/v1/clusters/${cluster.json.id}`);
  });
  assert.equal(
    (await api.request<HostDto>('PATCH', `/api/v1/hosts/${host.id}`, { body: { clusterId: cluster.json.id } })).status,
    200,
  );
  await go(page, '#/hosts');
  await page.locator('qx-host-list').getByRole('link', { name: cluster.json.name }).click();
  const cl = page.locator('qx-cluster-detail');
  await cl.getByRole('link', { name: host.name }).waitFor();
  await cl.locator('#pl-pool').selectOption(poolName);
  await cl.locator('#pl-mem').fill('128');
  await cl.getByRole('button', { name: 'Preview' }).click();
  await cl.getByTestId('placement').getByText(`A new VM would go to ${host.name}`).waitFor();

  // Networks: the host's NICs are the uplink choices of a bridged network; one network refreshes.
  const netName = srvName('net').slice(0, 20);
  const third = 100 + Math.floor(Math.random() * 150);
  const net = await api.request('POST', `/api/v1/hosts/${host.id}/networks`, {
    body: { name: netName, kind: 'isolated', subnet: `10.251.${third}.0/24` },
  });
  assert.equal(net.status, 201, net.text);
  undo.push(() => api.request('DELETE', `/api/v1/hosts/${host.id}/networks/${netName}`));
  await go(page, '#/networks');
  const nets = page.locator('qx-network-list');
  await nets.locator('#scope').selectOption(`host:${host.id}`);
  await nets.locator('#net-kind').selectOption('bridged');
  await eventually('uplink choices', async () => (await nets.locator('#uplink-nics option').count()) > 0);
  await nets.getByRole('button', { name: `Refresh ${netName} on ${host.name}` }).click();
  await nets.locator(`section[aria-label="Network ${netName}"] qx-state-badge`, { hasText: 'active' }).waitFor();
  assert.equal(await nets.locator('[role=alert]').count(), 0, 'no error after the refresh');

  // A viewer sees none of the new mutating controls.
  await api.request('POST', '/api/v1/users', {
    body: { username: 'qxt-ops-viewer', password: ADMIN_PASSWORD, role: 'viewer' },
  });
  const vpage = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
  await login(vpage, s.base, 'qxt-ops-viewer', ADMIN_PASSWORD);
  await go(vpage, `#/vms/${vmId}`);
  await vpage.locator('qx-vm-detail h1', { hasText: vmName }).waitFor();
  assert.equal(await vpage.locator('qx-vm-more-actions').count(), 0, 'no More actions for a viewer');
  await go(vpage, '#/vms');
  await vpage.locator(`qx-vm-list tr[data-vm="${vmName}"]`).waitFor();
  assert.equal(await vpage.getByRole('link', { name: /^Open the console/ }).count(), 0, 'no console link for a viewer');
  await go(vpage, '#/storage');
  await vpage
    .locator(`qx-storage-page tr[data-pool="${poolName}"]`)
    .getByRole('button', { name: poolName, exact: true })
    .click();
  await vpage.locator('qx-pool-volumes tr[data-volume="qxt-v1.qcow2"]').waitFor();
  assert.equal(await vpage.locator('qx-pool-volumes #vol-name').count(), 0, 'no new-volume form for a viewer');
  assert.equal(await vpage.getByRole('button', { name: /^Resize/ }).count(), 0, 'no Resize for a viewer');
  assert.equal(await vpage.getByRole('button', { name: 'Stop' }).count(), 0, 'no pool Stop for a viewer');
  await go(vpage, '#/images');
  await vpage.locator('qx-image-library article[data-template="qxt-ops-renamed"]').waitFor();
  assert.equal(await vpage.getByRole('button', { name: /^Edit template/ }).count(), 0, 'no template Edit for a viewer');

  assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
}
