// The graphical console in Chromium against a real server, agent and QEMU: a new VM's page opens
// its graphical console (noVNC) by default; the canvas shows the guest's VGA text (not blank);
// keys typed into the canvas and text sent with "Type text…" reach the guest's VGA console (the
// test guest reports each line typed on tty1 on its serial line, and the canvas changes); and
// Ctrl-Alt-Del reaches the guest's kernel (the guest reports the SIGINT it turns into).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Locator } from 'playwright-core';
import { startInProcessUiStack } from './ui-stack.js';
import { gotoPage, launchChromium } from './ui-browser.js';
import { ADMIN_PASSWORD } from '../../server/src/test-support/test-server.js';
import { ConsoleSocket } from '../../server/src/test-support/console-socket.js';
import { createGuestPool, eventually, removeDomain, srvName } from '../../server/src/test-support/guest-pool.js';
import type { TaskDto } from '../../server/src/dto/tasks.js';
import type { ConsoleTicketDto, VmDto } from '../../server/src/dto/vms.js';

/** The console's canvas: its size and how many pixels are not black, and a hash of its pixels. */
function canvasInfo(vnc: Locator): Promise<{ width: number; lit: number; hash: number }> {
  return vnc.evaluate((el) => {
    const canvas = el.shadowRoot!.querySelector('canvas');
    if (!canvas || !canvas.width) return { width: 0, lit: 0, hash: 0 };
    const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    let lit = 0;
    let hash = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (data[i]! + data[i + 1]! + data[i + 2]! > 60) lit++;
      hash = (hash * 31 + data[i]! + data[i + 1]! * 7 + data[i + 2]! * 13) | 0;
    }
    return { width: canvas.width, lit, hash };
  });
}

test(
  'graphical console: noVNC shows the VGA console, keys and Ctrl-Alt-Del reach the guest',
  { timeout: 400_000 },
  async (t) => {
    const { server: s, host } = await startInProcessUiStack(t, 'graphics');
    const pool = await createGuestPool();
    const name = srvName('vnc-ui');
    t.after(async () => {
      await removeDomain(name);
      await pool.remove();
    });
    const volume = await pool.addGuestDisk(`${name}.qcow2`);
    const created = await s.admin.request<TaskDto>('POST', '/api/v1/vms', {
      body: {
        name,
        hostId: host.id,
        pool: pool.name,
        memoryMib: 128,
        disks: [{ pool: pool.name, volume }],
        start: true,
      },
    });
    assert.equal(created.status, 202, created.text);
    const task = await eventually('the VM created and started', async () => {
      const r = (await s.admin.request<TaskDto>('GET', `/api/v1/tasks/${created.json.id}`)).json;
      return r.status !== 'running' && r;
    });
    assert.equal(task.status, 'succeeded', task.error ?? '');
    const vmId = (task.result as { vmId: string }).vmId;
    // The guest's serial line, where it reports what reached its VGA console.
    const ticket = await s.admin.request<ConsoleTicketDto>('POST', `/api/v1/vms/${vmId}/console-ticket`);
    const serial = await ConsoleSocket.open(`wss://127.0.0.1:${s.running.port}${ticket.json.url}`, {
      ca: s.services.certificate.current.certPem,
      cookie: s.admin.cookie!,
      origin: s.base,
    });
    t.after(() => serial.close());
    await serial.waitFor('QUANTIX-TEST-GUEST READY', 180_000);

    const browser = await launchChromium();
    t.after(() => browser.close());
    const page = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await gotoPage(page, `${s.base}/`);
    await page.locator('qx-login-page #username').fill('admin');
    await page.locator('qx-login-page #password').fill(ADMIN_PASSWORD);
    await page.locator('qx-login-page button[type=submit]').click();
    await gotoPage(page, `${s.base}/#/vms/${encodeURIComponent(vmId)}`);
    await page.locator('qx-vm-detail').getByRole('tab', { name: 'Console' }).click();

    const area = page.locator('qx-vm-console-area');
    assert.equal(await area.getByRole('button', { name: 'Graphical' }).getAttribute('aria-pressed'), 'true');
    const vnc = area.locator('qx-vnc-console');
    await vnc.locator('.status[data-state=open]').waitFor({ timeout: 60_000 });
    const shown = await eventually('the guest VGA text on the canvas', async () => {
      const info = await canvasInfo(vnc);
      return info.width > 0 && info.lit > 500 && info.lit < info.width * 400 && info;
    });

    // Keys pressed on the focused canvas go to the guest's keyboard.
    await vnc.locator('canvas').click();
    await page.keyboard.type('kbd 42');
    await page.keyboard.press('Enter');
    await serial.waitFor('qx-vga: kbd 42', 60_000);
    await eventually('the echoed line drawn on the canvas', async () => (await canvasInfo(vnc)).hash !== shown.hash);

    // Text typed as keystrokes, shifted characters included.
    await vnc.getByRole('button', { name: 'Type text…' }).click();
    await vnc.getByRole('textbox', { name: 'Text to type into the VM' }).fill('Typed: A_b|C!\n');
    await vnc.getByRole('button', { name: 'Type', exact: true }).click();
    await serial.waitFor('qx-vga: Typed: A_b|C!', 60_000);

    await vnc.getByRole('button', { name: 'Ctrl-Alt-Del' }).click();
    await serial.waitFor('qx-ctrl-alt-del', 60_000);

    // The keyboard alone (#22): Ctrl+Shift+X leaves the screen for the toolbar; Tab comes back to
    // the screen, and what is typed then reaches the guest.
    const deepFocus = () =>
      page.evaluate(() => {
        let el: Element | null = document.activeElement;
        while (el?.shadowRoot?.activeElement) el = el.shadowRoot.activeElement;
        return el ? `${el.tagName.toLowerCase()}|${(el.textContent ?? '').trim()}` : '';
      });
    assert.match(await deepFocus(), /^canvas\|/, 'Ctrl-Alt-Del hands the keyboard back to the screen');
    await page.keyboard.press('Control+Shift+X');
    assert.match(await deepFocus(), /^button\|Ctrl-Alt-Del$/, 'Ctrl+Shift+X leaves the screen for its toolbar');
    for (let i = 0; !(await deepFocus()).startsWith('canvas|'); i++) {
      assert.ok(i < 12, `Tab never reached the screen (focus: ${await deepFocus()})`);
      await page.keyboard.press('Tab');
    }
    await page.keyboard.type('keys only');
    await page.keyboard.press('Enter');
    await serial.waitFor('qx-vga: keys only', 60_000);

    // The switch shows the serial console instead; the graphical one disconnects.
    await area.getByRole('button', { name: 'Serial' }).click();
    await area.locator('qx-serial-console').waitFor();
    assert.equal(await vnc.count(), 0);

    // The video device is chosen while the VM is shut off.
    const video = area.locator('qx-vm-video-setting');
    assert.equal(await video.getByRole('combobox', { name: 'Video device' }).isDisabled(), true, 'running');
    const off = await s.admin.request<TaskDto>('POST', `/api/v1/vms/${vmId}/force-off`);
    assert.equal(off.status, 202, off.text);
    await video.locator('select:enabled').waitFor();
    await video.getByRole('combobox', { name: 'Video device' }).selectOption('qxl');
    await video.getByRole('button', { name: 'Apply' }).click();
    await eventually(
      'the VM redefined with QXL',
      async () => (await s.admin.request<VmDto>('GET', `/api/v1/vms/${vmId}`)).json.videoModel === 'qxl',
    );
    assert.deepEqual(pageErrors, []);
  },
);
