// A/B update of an installed appliance in QEMU (#25): install version N from the ISO to a disk, set
// it up as after any install (first admin with the console's setup code, a user, the default pool,
// a VM), apply an N+1 bundle (the ISO's layers plus a layer with another release
// string, signed with the build's key) and come back on it with the data intact, then apply a
// bundle whose server cannot start and see the appliance come back on the version it ran, by
// itself. Prints the update time (upload → API on the new version) and the rollback time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../../agent/src/exec/run.js';
import type { ApplianceUpdateDto } from '../../server/src/dto/appliance-update.js';
import type { PoolDto } from '../../server/src/dto/storage.js';
import type { HostDto } from '../../server/src/dto/hosts.js';
import type { TaskDto } from '../../server/src/dto/tasks.js';
import type { VmDto } from '../../server/src/dto/vms.js';
import { applianceIso, blankDisk, bootAppliance, extractBootFiles, repoRoot, waitForHttps } from './appliance-boot.js';
import { ApplianceClient } from './appliance-client.js';
import type { QemuMachine } from './qemu-machine.js';

const workDir = join(repoRoot, 'test/output/appliance-update');
const port = 19443 + (process.pid % 1000);
const password = `qxt-Upd-${process.pid}-pw`;
const minutes = (n: number) => n * 60_000;
const user = 'qxt-upd-operator';
const vmName = 'qxt-upd-vm';

function reportFailure(vm: QemuMachine | undefined, err: unknown): never {
  if (vm) {
    process.stderr.write(`\n--- last serial output of ${vm.options.name} (full log: ${vm.options.serialLog}) ---\n`);
    process.stderr.write(vm.serial.slice(-6000) + '\n---\n');
  }
  throw err;
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err; // the appliance is rebooting: connections fail until it is back
    }
    await new Promise((r) => setTimeout(r, 3000));
  }
  throw new Error(`${what}: not within ${timeoutMs / 1000} s${last ? ` (last: ${String(last)})` : ''}`);
}

/**
 * A bundle of the ISO's layers plus one more squashfs layer holding `files` (path → contents) on
 * top, signed with the build's key: a new version without rebuilding the image.
 */
async function layeredBundle(name: string, version: string, files: Record<string, { text: string; mode: number }>) {
  const iso = applianceIso();
  const dir = join(workDir, name);
  await rm(dir, { recursive: true, force: true });
  const live = join(dir, 'live');
  await mkdir(live, { recursive: true });
  const parts = ['vmlinuz', 'initrd.img', '00-base.squashfs', '10-app.squashfs'];
  await run(
    'xorriso',
    ['-osirrox', 'on', '-indev', iso, ...parts.flatMap((p) => ['-extract', `/live/${p}`, join(live, p)])],
    {
      timeoutMs: minutes(3),
    },
  );
  const layerRoot = join(dir, 'layer');
  for (const [path, f] of Object.entries(files)) {
    await mkdir(join(layerRoot, path, '..'), { recursive: true });
    await writeFile(join(layerRoot, path), f.text, { mode: f.mode });
  }
  const layer = `20-${name}.squashfs`;
  await run('mksquashfs', [layerRoot, join(live, layer), '-comp', 'zstd', '-noappend', '-quiet', '-all-root'], {
    timeoutMs: minutes(2),
  });
  await writeFile(join(live, 'filesystem.module'), `00-base.squashfs\n10-app.squashfs\n${layer}\n`);
  const key = (await run('bash', [join(repoRoot, 'build/iso/update-key.sh')], { timeoutMs: 60_000 })).stdout.trim();
  const out = join(dir, `${name}.qxu`);
  const all = [...parts, layer, 'filesystem.module'].map((p) => join(live, p));
  await run(
    process.execPath,
    [join(repoRoot, 'build/iso/make-bundle.mjs'), '--key', key, '--version', version, '--out', out, ...all],
    {
      timeoutMs: minutes(3),
    },
  );
  await rm(live, { recursive: true, force: true });
  return out;
}

const release = (version: string) => ({
  'etc/quantix-release': { text: `QUANTIX_VERSION=${version}\nQUANTIX_BUILD=update-test\n`, mode: 0o644 },
});

test('appliance update: install N, update to N+1 with data intact, a broken update rolls back by itself', async (t) => {
  await rm(workDir, { recursive: true, force: true });
  await mkdir(workDir, { recursive: true });
  const iso = applianceIso();
  const bootFiles = await extractBootFiles(iso, join(workDir, 'boot'));
  const target = { ...(await blankDisk(join(workDir, 'target.img'), 12)), serial: 'qx-target' };
  let vm: QemuMachine | undefined;
  /** One machine at a time: a step that failed leaves none running behind the next. */
  const boot = async (...args: Parameters<typeof bootAppliance>) => {
    await vm?.stop();
    vm = bootAppliance(...args);
    return vm;
  };
  let failed = false;
  t.after(async () => {
    await vm?.stop();
    if (!failed) return rm(workDir, { recursive: true, force: true });
    // After a failure the serial logs stay for reading; the disk and the bundles go.
    for (const f of await readdir(workDir)) {
      if (!f.endsWith('.serial.log')) await rm(join(workDir, f), { recursive: true, force: true });
    }
  });
  /** Each step needs the one before it: after a failure the rest fail at once instead of waiting. */
  const step = (name: string, body: () => Promise<void>) =>
    t.test(name, async () => {
      if (failed) throw new Error('an earlier step failed');
      try {
        await body();
      } catch (err) {
        failed = true;
        reportFailure(vm, err);
      }
    });
  const next = await layeredBundle('next', '99.0.0-next', release('99.0.0-next'));
  const broken = await layeredBundle('broken', '99.0.1-broken', {
    ...release('99.0.1-broken'),
    'usr/lib/quantix/quantix-server-start': {
      text: '#!/bin/sh\necho "quantix-server-start: broken on purpose by the update test" >&2\nexit 1\n',
      mode: 0o755,
    },
  });

  // Bounds for a loaded machine running QEMU under TCG (an appliance boot can take 10 min there).
  const client = async () => new ApplianceClient(port, await waitForHttps(vm!, port, minutes(20)));
  let poolNames: string[] = [];
  let vmId = '';
  let api: ApplianceClient;

  await step('version N: installed from the ISO to a blank disk (unattended)', async () => {
    const m = await boot(
      {
        name: 'install',
        workDir,
        iso,
        cmdline: 'quantix.install_disk=/dev/disk/by-id/virtio-qx-target',
        disks: [target],
        httpsPort: port,
      },
      bootFiles,
    );
    await m.waitForExit(minutes(30));
    assert.match(m.serial, /quantix-install: installed on \/dev\/vd/);
  });

  await step(
    'N on the installed disk: the first admin with the console setup code, a user, the pool, a VM',
    async () => {
      const m = await boot({ name: 'installed', workDir, disks: [target], httpsPort: port });
      api = await client();
      // As after any install: the console shows the one-time code the first admin is created with.
      const code = (await m.waitForSerial(/Setup code: ([A-Z0-9]{4}-[A-Z0-9]{4})/, minutes(10)))[1]!;
      await api.expect(201, 'POST', '/api/v1/setup', { username: 'admin', password, setupCode: code });
      await api.login('admin', password);
      await api.expect(201, 'POST', '/api/v1/users', { username: user, password, role: 'operator' });
      const host = await until('local host online', minutes(10), async () =>
        (await api.expect<HostDto[]>(200, 'GET', '/api/v1/hosts')).find((h) => h.local && h.status === 'online'),
      );
      poolNames = await until('the default pool', minutes(5), async () => {
        const pools = await api.expect<PoolDto[]>(200, 'GET', `/api/v1/hosts/${host.id}/pools`);
        return pools.length ? pools.map((p) => p.name) : undefined;
      });
      // A VM (defined, not started: TCG has no time to spare) with a new disk in the default pool.
      const created = await api.expect<TaskDto>(202, 'POST', '/api/v1/vms', {
        name: vmName,
        hostId: host.id,
        pool: poolNames[0],
        memoryMib: 128,
        disks: [{ sizeBytes: 64 * 2 ** 20 }],
      });
      const task = await until('the VM created', minutes(5), async () => {
        const t = await api.expect<TaskDto>(200, 'GET', `/api/v1/tasks/${created.id}`);
        if (t.status === 'failed') throw new Error(`creating the VM failed: ${t.error}`);
        return t.status === 'succeeded' ? t : undefined;
      });
      vmId = (task.result as { vmId: string }).vmId;
    },
  );

  await step('N+1: uploaded, verified, applied; back on N+1 from slot b with users, pools and the VM', async () => {
    const before = await api.expect<ApplianceUpdateDto>(200, 'GET', '/api/v1/appliance/update');
    assert.equal(before.installed, true, JSON.stringify(before));
    assert.equal(before.slot, 'a');
    assert.equal(before.goodSlot, 'a');

    const started = Date.now();
    const up = await api.call<ApplianceUpdateDto>(
      'PUT',
      '/api/v1/appliance/update/bundle',
      await readFile(next),
      minutes(10),
    );
    assert.equal(up.status, 200, JSON.stringify(up.body));
    assert.equal(up.body.bundle?.version, '99.0.0-next');
    const applied = await api.call<ApplianceUpdateDto>(
      'POST',
      '/api/v1/appliance/update/apply',
      undefined,
      minutes(10),
    );
    assert.equal(applied.status, 202, JSON.stringify(applied.body));
    assert.equal(applied.body.lastAttempt?.toSlot, 'b');
    const after = await until('API on N+1', minutes(30), async () => {
      const fresh = new ApplianceClient(port, api.fingerprint);
      await fresh.login('admin', password);
      const s = await fresh.expect<ApplianceUpdateDto>(200, 'GET', '/api/v1/appliance/update');
      if (s.version !== '99.0.0-next') return undefined;
      api = fresh;
      return s;
    });
    const updateSeconds = (Date.now() - started) / 1000;
    assert.equal(after.slot, 'b');
    const good = await until('slot b marked good', minutes(15), async () => {
      const s = await api.expect<ApplianceUpdateDto>(200, 'GET', '/api/v1/appliance/update');
      return s.lastAttempt?.result === 'succeeded' ? s : undefined;
    });
    assert.equal(good.goodSlot, 'b');
    assert.equal(good.otherSlot?.version, before.version);
    const users = await api.expect<{ username: string }[]>(200, 'GET', '/api/v1/users');
    assert.ok(
      users.some((u) => u.username === user),
      'the user made on N is there',
    );
    const host = await until('local host online', minutes(10), async () =>
      (await api.expect<HostDto[]>(200, 'GET', '/api/v1/hosts')).find((h) => h.local && h.status === 'online'),
    );
    const pools = await api.expect<PoolDto[]>(200, 'GET', `/api/v1/hosts/${host.id}/pools`);
    assert.deepEqual(pools.map((p) => p.name).sort(), [...poolNames].sort());
    // The server fills its inventory from the host after it comes online.
    const kept = await until('the VM made on N', minutes(3), async () => {
      const r = await api.call<VmDto>('GET', `/api/v1/vms/${vmId}`);
      return r.status === 200 ? r.body : undefined;
    });
    assert.equal(kept.name, vmName);
    console.log(`update time (upload → API on the new version): ${updateSeconds.toFixed(0)} s`);
  });

  await step('a bundle whose server cannot start: the appliance comes back on N+1 by itself', async () => {
    const up = await api.call<ApplianceUpdateDto>(
      'PUT',
      '/api/v1/appliance/update/bundle',
      await readFile(broken),
      minutes(10),
    );
    assert.equal(up.status, 200, JSON.stringify(up.body));
    const started = Date.now();
    const applied = await api.call<ApplianceUpdateDto>(
      'POST',
      '/api/v1/appliance/update/apply',
      undefined,
      minutes(10),
    );
    assert.equal(applied.status, 202, JSON.stringify(applied.body));
    // The trial boot's own messages go to tty0, not the serial console: the API tells the outcome.
    const back = await until('API back after the rollback', minutes(50), async () => {
      const fresh = new ApplianceClient(port, api.fingerprint);
      await fresh.login('admin', password);
      const s = await fresh.expect<ApplianceUpdateDto>(200, 'GET', '/api/v1/appliance/update');
      return s.lastAttempt?.result === 'rolled-back' ? s : undefined;
    });
    const rollbackSeconds = (Date.now() - started) / 1000;
    assert.equal(back.version, '99.0.0-next');
    assert.equal(back.slot, 'b');
    assert.equal(back.goodSlot, 'b');
    console.log(`rollback time (apply → API back on the previous version): ${rollbackSeconds.toFixed(0)} s`);
  });
});
