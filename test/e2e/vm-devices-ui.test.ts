// The VM settings tab in Chromium against a real server and agent (#21): autostart saved there shows
// in the VM list's Autostart column; an ISO inserted into the CD-ROM drive and a disk attached and
// detached from the Devices panel land in the VM's definition.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startInProcessUiStack } from './ui-stack.js';
import { gotoPage, launchChromium } from './ui-browser.js';
import { ADMIN_PASSWORD } from '../../server/src/test-support/test-server.js';
import { GUEST_QCOW2, eventually, removeDomain, srvName, virsh } from '../../server/src/test-support/guest-pool.js';
import type { TaskDto } from '../../server/src/dto/tasks.js';

test('VM settings: autostart, CD-ROM media and disks from the browser', { timeout: 400_000 }, async (t) => {
  const { server: s, host } = await startInProcessUiStack(t, 'devices');
  // A dir pool of the vDC's (the UI offers the host's pools, not libvirt pools defined elsewhere).
  const pool = { name: srvName('ui-pool'), dir: await mkdtemp(join(tmpdir(), 'qxt-srv-ui-pool-')) };
  await chmod(pool.dir, 0o755);
  const name = srvName('ui-dev');
  t.after(async () => {
    await removeDomain(name);
    await s.admin.request('DELETE', `/api/v1/hosts/${host.id}/pools/${pool.name}`).catch(() => undefined);
    await eventually(
      'the pool gone',
      async () => !(await virsh(['pool-list', '--all', '--name'])).includes(pool.name),
    ).catch(async () => {
      await virsh(['pool-destroy', pool.name]).catch(() => undefined);
      await virsh(['pool-undefine', pool.name]).catch(() => undefined);
    });
    await rm(pool.dir, { recursive: true, force: true });
  });
  const made = await s.admin.request<TaskDto>('POST', `/api/v1/hosts/${host.id}/pools`, {
    body: { name: pool.name, kind: 'dir', path: pool.dir },
  });
  assert.equal(made.status, 202, made.text);
  await eventually('the pool', async () => {
    const r = (await s.admin.request<TaskDto>('GET', `/api/v1/tasks/${made.json.id}`)).json;
    return r.status === 'succeeded' || (r.status === 'failed' && assert.fail(r.error ?? 'pool create failed'));
  });
  await copyFile(GUEST_QCOW2, join(pool.dir, 'boot.qcow2'));
  await copyFile(GUEST_QCOW2, join(pool.dir, 'extra.qcow2'));
  await copyFile(GUEST_QCOW2.replace(/\.qcow2$/, '.iso'), join(pool.dir, 'media.iso'));
  await virsh(['pool-refresh', pool.name]);
  const created = await s.admin.request<TaskDto>('POST', '/api/v1/vms', {
    body: {
      name,
      hostId: host.id,
      pool: pool.name,
      memoryMib: 128,
      disks: [{ pool: pool.name, volume: 'boot.qcow2' }],
      cdroms: [{}],
    },
  });
  assert.equal(created.status, 202, created.text);
  const task = await eventually('the create task', async () => {
    const r = (await s.admin.request<TaskDto>('GET', `/api/v1/tasks/${created.json.id}`)).json;
    return r.status !== 'running' && r;
  });
  assert.equal(task.status, 'succeeded', task.error ?? '');
  const id = (task.result as { vmId: string }).vmId;

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

  // Autostart: saved from the settings tab, shown in the VM list.
  const auto = page.locator('qx-vm-autostart');
  await auto.locator('input[name=autostart]').check();
  await auto.locator('#order').fill('7');
  await auto.locator('#delaySeconds').fill('5');
  await auto.locator('[data-action=save-autostart]').click();
  // (The page reloads the VM after a save, which may re-create the form: wait for the definition.)
  await eventually('autostart in the definition', async () =>
    /<qx:autostart enabled="yes" order="7" delay="5"\/>/.test(await virsh(['dumpxml', '--inactive', name])),
  );

  // Devices: the ISO into drive 1, a disk attached and detached.
  const devices = page.locator('qx-vm-devices');
  await devices.locator('#dev-pool').selectOption(pool.name);
  await devices.locator('#cd0 option[value="media.iso"]').waitFor({ state: 'attached' });
  await devices.locator('#cd0').selectOption('media.iso');
  await devices.locator('[data-action=insert-cdrom]').click();
  await devices.locator('[data-cdrom="0"]', { hasText: `${pool.name}/media.iso` }).waitFor();
  assert.match(await virsh(['dumpxml', '--inactive', name]), /media\.iso/);
  await devices.locator('#disk-volume').selectOption('extra.qcow2');
  await devices.locator('[data-action=attach-disk]').click();
  await devices.locator('li[data-disk=vdb]', { hasText: 'extra.qcow2' }).waitFor();
  assert.match(await virsh(['dumpxml', '--inactive', name]), /extra\.qcow2/);
  await devices.getByRole('button', { name: 'Detach disk vdb' }).click();
  await devices.locator('li[data-disk=vdb]').waitFor({ state: 'detached' });
  assert.doesNotMatch(await virsh(['dumpxml', '--inactive', name]), /extra\.qcow2/);

  await gotoPage(page, `${s.base}/#/vms`);
  await page.locator(`tr[data-vm="${name}"] [data-testid=vm-autostart]`, { hasText: 'order 7, 5 s delay' }).waitFor();
  assert.deepEqual(pageErrors, []);
});
