// The create wizard's guest OS presets in Chromium against a real server, agent and libvirt: the
// "Windows 11" preset, offered first, fills the form (2 vCPU, 4 GiB, 64 GiB SATA disk, e1000e,
// UEFI + Secure Boot + TPM, the movable CPU model, standard VGA), hotplug maxima are added (checked
// on Next); the VM created from it has that hardware and its page shows the maxima. Then its
// settings move the network above the disk in its boot order: the persistent definition boots in
// that order (no guest boots here: OVMF under TCG is slow).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startInProcessUiStack } from './ui-stack.js';
import { gotoPage, launchChromium } from './ui-browser.js';
import { ADMIN_PASSWORD } from '../../server/src/test-support/test-server.js';
import { eventually, removeDomain, srvName, virsh } from '../../server/src/test-support/guest-pool.js';
import type { VmDto } from '../../server/src/dto/vms.js';

test(
  'the Windows 11 preset fills the create wizard and makes a Secure Boot + TPM VM',
  { timeout: 300_000 },
  async (t) => {
    const { server: s, host } = await startInProcessUiStack(t, 'presets');
    const name = srvName('w11');
    const pool = srvName('pool');
    const poolDir = await mkdtemp(join(tmpdir(), 'qxt-ui-presets-pool-'));
    // Runs after the stack's own cleanup (the server is stopped by then): libvirt only.
    t.after(async () => {
      await removeDomain(name);
      await virsh(['pool-destroy', pool]).catch(() => undefined);
      await virsh(['pool-undefine', pool]).catch(() => undefined);
      await rm(poolDir, { recursive: true, force: true });
    });
    const made = await s.admin.request('POST', `/api/v1/hosts/${host.id}/pools`, {
      body: { name: pool, kind: 'dir', path: poolDir },
    });
    assert.ok(made.status < 300, made.text);

    const browser = await launchChromium();
    t.after(() => browser.close());
    const page = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await gotoPage(page, `${s.base}/`);
    await page.locator('qx-login-page #username').fill('admin');
    await page.locator('qx-login-page #password').fill(ADMIN_PASSWORD);
    await page.locator('qx-login-page button[type=submit]').click();
    await gotoPage(page, `${s.base}/#/vms/new`);
    const w = page.locator('qx-vm-create-wizard');
    const next = () => w.locator('button[type=submit]').click();

    // The guest OS comes first on the first step.
    const first = await w.locator('form select, form input').first().getAttribute('id');
    assert.equal(first, 'preset');
    await w.locator('#preset').selectOption({ label: 'Windows 11' });
    await w.getByText('Secure Boot and a TPM 2.0').waitFor();
    await w.locator('#name').fill(name);
    await w.locator('#placement').selectOption(`host:${host.id}`);
    await next();
    assert.equal(await w.locator('#cores').inputValue(), '2');
    assert.equal(await w.locator('#memoryMib').inputValue(), '4096');
    assert.equal(await w.locator('#cpu').inputValue(), 'named:x86-64-v2-AES');
    // The hotplug maxima: checked on Next (vCPUs in steps of the 2 at boot), then sent with the create.
    await w.locator('#maxVcpus').fill('3');
    await next();
    await w.locator('#maxVcpus[aria-invalid=true]').waitFor();
    await w.getByRole('alert').filter({ hasText: 'in steps of 2' }).waitFor();
    await w.locator('#maxVcpus').fill('4');
    await w.locator('#maxMemoryMib').fill('8192');
    await next();
    await w.locator('#pool').selectOption(pool);
    assert.equal(await w.locator('#diskGib').inputValue(), '64');
    assert.equal(await w.locator('#diskBus').inputValue(), 'sata');
    await w.locator('#diskGib').fill('0.25'); // a small disk: the test pool is a directory in /tmp
    await next();
    await next();
    assert.equal(await w.locator('#nicModel').inputValue(), 'e1000e');
    await next();
    assert.ok(await w.getByLabel('UEFI (OVMF)').isChecked());
    assert.ok(await w.locator('#secureBoot').isChecked());
    assert.ok(await w.locator('#tpm').isChecked());
    // Secure Boot needs UEFI: choosing BIOS turns it off.
    await w.getByLabel('BIOS (SeaBIOS)').check();
    assert.equal(await w.locator('#secureBoot').isChecked(), false);
    await w.locator('#secureBoot').check();
    assert.ok(await w.getByLabel('UEFI (OVMF)').isChecked(), 'Secure Boot turns UEFI back on');
    // Windows has no virtio-gpu driver of its own: the preset chose standard VGA.
    assert.equal(await w.locator('#videoModel').inputValue(), 'vga');
    await next();
    await w.locator('dd', { hasText: 'Standard VGA' }).waitFor();
    await w.locator('dd', { hasText: 'UEFI + Secure Boot + TPM 2.0' }).waitFor();
    await w.locator('dd', { hasText: 'Windows 11' }).waitFor();
    await w.locator('dd', { hasText: 'grows to 4 vCPU, 8192 MiB' }).waitFor();
    await w.locator('input[type=checkbox]').uncheck(); // do not start: OVMF under TCG is slow and needs no guest here
    await w.locator('button[type=submit]', { hasText: 'Create VM' }).click();
    await page.locator('qx-vm-detail h1', { hasText: name }).waitFor({ timeout: 120_000 });

    const vm = await eventually('the VM listed', async () =>
      (await s.admin.request<VmDto[]>('GET', '/api/v1/vms')).json.find((v) => v.name === name),
    );
    assert.deepEqual(
      [vm.firmware, vm.secureBoot, vm.tpm, vm.cpuMode, vm.cpuModel, vm.osType, vm.memoryMib, vm.cores],
      ['uefi', true, true, 'named', 'x86-64-v2-AES', 'windows', 4096, 2],
    );
    assert.deepEqual([vm.maxVcpus, vm.maxMemoryMib], [4, 8192]);
    assert.match(vm.machine, /q35/);
    assert.deepEqual(
      vm.disks.map((d) => d.bus),
      ['sata'],
    );
    for (const n of vm.nics) assert.equal(n.model, 'e1000e');
    assert.deepEqual([vm.videoModel, vm.vnc, vm.bootOrder], ['vga', true, ['disk']]);

    // Boot order in the settings tab: network on and moved above the hard disk, saved.
    await page.locator('qx-vm-detail #tab-settings').click();
    const settings = page.locator('qx-vm-settings form[aria-label="VM settings"]');
    // The maxima the wizard set, on the VM page.
    assert.deepEqual(
      [await settings.locator('#maxVcpus').inputValue(), await settings.locator('#maxMemoryMib').inputValue()],
      ['4', '8192'],
    );
    await page.locator('qx-vm-resize', { hasText: 'up to 4 vCPUs and 8192 MiB' }).waitFor();
    const rows = settings.locator('[data-testid=boot-order] li');
    assert.deepEqual(await rows.evaluateAll((li) => li.map((e) => e.getAttribute('data-boot'))), [
      'disk',
      'cdrom',
      'network',
    ]);
    await settings.locator('[data-boot=network] input[type=checkbox]').check();
    await settings.getByRole('button', { name: 'Move Network (PXE) up' }).click();
    await settings.getByRole('button', { name: 'Move Network (PXE) up' }).click();
    await settings.locator('button[type=submit]').click();
    await settings.locator('.notice.ok', { hasText: 'Saved.' }).waitFor();
    const saved = (await s.admin.request<VmDto>('GET', `/api/v1/vms/${vm.id}`)).json;
    assert.deepEqual(saved.bootOrder, ['network', 'disk']);
    const xml = await virsh(['dumpxml', '--inactive', name]);
    assert.deepEqual(
      [...xml.matchAll(/<boot dev='(\w+)'\/>/g)].map((m) => m[1]),
      ['network', 'hd'],
      'the persistent definition boots from the network first',
    );
    await page.reload();
    await page.locator('qx-vm-detail #tab-settings').click();
    assert.deepEqual(await rows.evaluateAll((li) => li.map((e) => e.getAttribute('data-boot'))), [
      'network',
      'disk',
      'cdrom',
    ]);
    assert.deepEqual(pageErrors, []);
  },
);
