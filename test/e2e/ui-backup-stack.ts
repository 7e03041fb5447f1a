// The set-up of the backup browser tests (#24): the in-process UI stack with a directory pool made
// through the API and a shut-off VM on a copy of the test guest (its disk boot.qcow2 in that pool),
// removed again after the test; and signing in through the login page.
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { startInProcessUiStack, type InProcessUiStack } from './ui-stack.js';
import { gotoPage } from './ui-browser.js';
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

export interface BackupUiStack extends InProcessUiStack {
  pool: { name: string; dir: string };
  vmName: string;
  vmId: string;
  /** Waits for the task a 202 reply started and asserts it succeeded. */
  done(r: { status: number; text: string; json: TaskDto }): Promise<TaskDto>;
  /** Domains the test makes besides the VM, undefined after it. */
  domains: string[];
}

export async function startBackupUiStack(
  t: TestContext,
  name: string,
  vm: { tags?: string[] } = {},
): Promise<BackupUiStack> {
  const stack = await startInProcessUiStack(t, name);
  const { server: s, host } = stack;
  const pool = { name: srvName(`ui-${name}`), dir: await mkdtemp(join(tmpdir(), `qxt-srv-ui-${name}-`)) };
  await chmod(pool.dir, 0o755);
  const vmName = srvName(`ui-${name}-vm`);
  const domains = [vmName];
  t.after(async () => {
    for (const d of domains) await removeDomain(d);
    await s.admin.request('DELETE', `/api/v1/hosts/${host.id}/pools/${pool.name}`).catch(() => undefined);
    await removeLibvirtPool(pool.name);
    await rm(pool.dir, { recursive: true, force: true });
  });
  const done = async (r: { status: number; text: string; json: TaskDto }) => {
    assert.equal(r.status, 202, r.text);
    const task = await eventually('the task', async () => {
      const x = (await s.admin.request<TaskDto>('GET', `/api/v1/tasks/${r.json.id}`)).json;
      return x.status !== 'running' && x;
    });
    assert.equal(task.status, 'succeeded', task.error ?? '');
    return task;
  };
  await done(
    await s.admin.request<TaskDto>('POST', `/api/v1/hosts/${host.id}/pools`, {
      body: { name: pool.name, kind: 'dir', path: pool.dir },
    }),
  );
  await copyFile(GUEST_QCOW2, join(pool.dir, 'boot.qcow2'));
  await virsh(['pool-refresh', pool.name]);
  const created = await done(
    await s.admin.request<TaskDto>('POST', '/api/v1/vms', {
      body: {
        name: vmName,
        hostId: host.id,
        pool: pool.name,
        memoryMib: 128,
        disks: [{ pool: pool.name, volume: 'boot.qcow2' }],
        ...(vm.tags ? { tags: vm.tags } : {}),
      },
    }),
  );
  return { ...stack, pool, vmName, vmId: (created.result as { vmId: string }).vmId, done, domains };
}

/** Signs `username` in (the admin password is every test user's) and waits for the navigation. */
export async function login(page: Page, base: string, username: string): Promise<void> {
  await gotoPage(page, `${base}/`);
  await page.locator('qx-login-page #username').fill(username);
  await page.locator('qx-login-page #password').fill(ADMIN_PASSWORD);
  await page.locator('qx-login-page button[type=submit]').click();
  await page.locator('nav a[href="#/vms"]').waitFor();
}
