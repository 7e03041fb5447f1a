// vCPU and memory hotplug from the VM settings tab in Chromium against a real server and agent
// (#21): a VM created with a vCPU ceiling gets a memory ceiling from the settings form while shut
// off; running, "CPU and memory now" grows it to 2 vCPUs (QEMU runs two) and 256 MiB (libvirt
// hears the guest's balloon), and 3 vCPUs are refused naming the field, with the maximum.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startInProcessUiStack } from './ui-stack.js';
import { gotoPage, launchChromium } from './ui-browser.js';
import { ADMIN_PASSWORD } from '../../server/src/test-support/test-server.js';
import {
  GUEST_QCOW2,
  eventually,
  removeDomain,
  removeLibvirtPool,
  srvName,
  virsh,
} from '../../server/src/test-support/guest-pool.js';
import type { TaskDto } from '../../server/src/dto/tasks.js';
import type { VmDto } from '../../server/src/dto/vms.js';

test('VM settings: vCPUs and memory grow on the running VM from the browser', { timeout: 400_000 }, async (t) => {
  const { server: s, host } = await startInProcessUiStack(t, 'resize');
  const pool = { name: srvName('rs-pool'), dir: await mkdtemp(join(tmpdir(), 'qxt-srv-rs-pool-')) };
  await chmod(pool.dir, 0o755);
  const name = srvName('ui-rs');
  t.after(async () => {
    await removeDomain(name);
    await removeLibvirtPool(pool.name);
    await rm(pool.dir, { recursive: true, force: true });
  });
  const task = async (r: { status: number; text: string; json: TaskDto }) => {
    assert.equal(r.status, 202, r.text);
    const done = await eventually('the task', async () => {
      const x = (await s.admin.request<TaskDto>('GET', `/api/v1/tasks/${r.json.id}`)).json;
      return x.status !== 'running' && x;
    });
    assert.equal(done.status, 'succeeded', done.error ?? '');
    return done;
  };
  await task(
    await s.admin.request<TaskDto>('POST', `/api/v1/hosts/${host.id}/pools`, {
      body: { name: pool.name, kind: 'dir', path: pool.dir },
    }),
  );
  await copyFile(GUEST_QCOW2, join(pool.dir, 'boot.qcow2'));
  await virsh(['pool-refresh', pool.name]);
  const created = await task(
    await s.admin.request<TaskDto>('POST', '/api/v1/vms', {
      body: {
        name,
        hostId: host.id,
        pool: pool.name,
        memoryMib: 128,
        maxVcpus: 2,
        machine: 'q35',
        videoModel: 'none',
        vnc: false,
        disks: [{ pool: pool.name, volume: 'boot.qcow2' }],
      },
    }),
  );
  const id = (created.result as { vmId: string }).vmId;
  const getVm = async () => (await s.admin.request<VmDto>('GET', `/api/v1/vms/${id}`)).json;
  assert.deepEqual([(await getVm()).maxVcpus, (await getVm()).maxMemoryMib], [2, 0]);

  const browser = await launchChromium();
  t.after(() => browser.close());
  const page = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await gotoPage(page, `${s.base}/`);
  await page.locator('qx-login-page #username').fill('admin');
  await page.locator('qx-login-page #password').fill(ADMIN_PASSWORD);
  await page.locator('qx-login-page button[type=submit]').click();
  await gotoPage(page, `${s.base}/#/vms/${encodeURIComponent(id)}`);
  await page.locator('#tab-settings').click();

  // Shut off: the memory ceiling from the settings form.
  const form = page.locator('qx-vm-settings form[aria-label="VM settings"]');
  assert.equal(await form.locator('#maxVcpus').inputValue(), '2');
  await form.locator('#maxMemoryMib').fill('256');
  await form.locator('button[type=submit]').click();
  await form.locator('.notice.ok', { hasText: 'Saved.' }).waitFor();
  assert.equal((await getVm()).maxMemoryMib, 256);

  // Running: grow it from "CPU and memory now".
  await task(await s.admin.request<TaskDto>('POST', `/api/v1/vms/${id}/start`));
  const now = page.locator('qx-vm-resize');
  await now.getByText('while it runs').waitFor();
  await now.locator('#liveVcpus').fill('3');
  await now.locator('[data-action=set-vcpus]').click();
  await now.locator('[role=alert]', { hasText: 'at most 2 vCPUs' }).first().waitFor();
  await now.locator('#liveVcpus').fill('2');
  await now.locator('[data-action=set-vcpus]').click();
  await now.locator('.notice.ok', { hasText: 'Now 2 vCPUs.' }).waitFor();
  const cpus = JSON.parse(await virsh(['qemu-monitor-command', name, '{"execute":"query-cpus-fast"}'])) as {
    return: unknown[];
  };
  assert.equal(cpus.return.length, 2, 'QEMU runs two vCPUs');
  await now.locator('#liveMemoryMib').fill('256');
  await now.locator('[data-action=set-memory]').click();
  await now.locator('.notice.ok', { hasText: 'Now 256 MiB.' }).waitFor();
  // libvirt reports the size once the guest's balloon driver has given the memory back.
  await eventually('the balloon at 256 MiB', async () => (await getVm()).memoryMib === 256, 240_000);
  const vm = await getVm();
  assert.equal(vm.sockets * vm.cores, 2);
  assert.match(await virsh(['dumpxml', '--inactive', name]), /<currentMemory unit='KiB'>262144<\/currentMemory>/);
  assert.deepEqual(pageErrors, []);
});
