// A/B update of an installed appliance in QEMU (#25): install version N to a disk (admin, a user,
// the default pool), apply an N+1 bundle (the ISO's layers plus a layer with another release
// string, signed with the build's key) and come back on it with the data intact, then apply a
// bundle whose server cannot start and see the appliance come back on the version it ran, by
// itself. Prints the update time (upload → API on the new version) and the rollback time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../../agent/src/exec/run.js';
import type { ApplianceUpdateDto } from '../../server/src/dto/appliance-update.js';
import type { PoolDto } from '../../server/src/dto/storage.js';
import type { HostDto } from '../../server/src/dto/hosts.js';
import { applianceIso, blankDisk, bootAppliance, extractBootFiles, repoRoot, waitForHttps } from './appliance-boot.js';
import { ApplianceClient } from './appliance-client.js';
import type { QemuMachine } from './qemu-machine.js';

const workDir = join(repoRoot, 'test/output/appliance-update');
const port = 19443 + (process.pid % 1000);
const password = `qxt-Upd-${process.pid}-pw`;
const minutes = (n: number) => n * 60_000;
const user = 'qxt-upd-operator';

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
  const data = { ...(await blankDisk(join(workDir, 'data.img'), 8)), serial: 'qx-data' };
  const target = { ...(await blankDisk(join(workDir, 'target.img'), 12)), serial: 'qx-target' };
  let vm: QemuMachine | undefined;
  t.after(async () => {
    await vm?.stop();
    await rm(workDir, { recursive: true, force: true });
  });
  const next = await layeredBundle('next', '99.0.0-next', release('99.0.0-next'));
  const broken = await layeredBundle('broken', '99.0.1-broken', {
    ...release('99.0.1-broken'),
    'usr/lib/quantix/quantix-server-start': {
      text: '#!/bin/sh\necho "quantix-server-start: broken on purpose by the update test" >&2\nexit 1\n',
      mode: 0o755,
    },
  });

  const client = async () => new ApplianceClient(port, await waitForHttps(vm!, port, minutes(8)));
  let poolNames: string[] = [];

  await t.test('version N: live boot with a data disk, a user, then installed to a disk', async () => {
    try {
      vm = bootAppliance(
        {
          name: 'live',
          workDir,
          iso,
          cmdline: `quantix.data_disk=/dev/disk/by-id/virtio-qx-data quantix.admin_password=${password}`,
          disks: [data],
          httpsPort: port,
        },
        bootFiles,
      );
      const api = await client();
      await api.login('admin', password);
      await api.expect(201, 'POST', '/api/v1/users', { username: user, password, role: 'operator' });
      const host = await until('local host online', minutes(5), async () =>
        (await api.expect<HostDto[]>(200, 'GET', '/api/v1/hosts')).find((h) => h.local && h.status === 'online'),
      );
      poolNames = await until('the default pool', minutes(5), async () => {
        const pools = await api.expect<PoolDto[]>(200, 'GET', `/api/v1/hosts/${host.id}/pools`);
        return pools.length ? pools.map((p) => p.name) : undefined;
      });
      const live = await api.expect<ApplianceUpdateDto>(200, 'GET', '/api/v1/appliance/update');
      assert.equal(live.installed, false);
      assert.match(live.notice ?? '', /updates need an installed system/);
      await vm.powerdown();
      await vm.waitForExit(minutes(3));
      await vm.stop();
      vm = bootAppliance(
        {
          name: 'install',
          workDir,
          iso,
          cmdline: 'quantix.install_disk=/dev/disk/by-id/virtio-qx-target',
          disks: [data, target],
          httpsPort: port,
        },
        bootFiles,
      );
      await vm.waitForExit(minutes(15));
      assert.match(vm.serial, /quantix-install: installed on \/dev\/vd/);
      await vm.stop();
    } catch (err) {
      reportFailure(vm, err);
    }
  });

  let api: ApplianceClient;
  let before: ApplianceUpdateDto;

  await t.test('N+1: uploaded, verified, applied; back on N+1 from slot b with users and pools', async () => {
    try {
      vm = bootAppliance({ name: 'installed', workDir, disks: [target], httpsPort: port });
      api = await client();
      await api.login('admin', password);
      before = await api.expect<ApplianceUpdateDto>(200, 'GET', '/api/v1/appliance/update');
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
      const after = await until('API on N+1', minutes(15), async () => {
        const fresh = new ApplianceClient(port, api.fingerprint);
        await fresh.login('admin', password);
        const s = await fresh.expect<ApplianceUpdateDto>(200, 'GET', '/api/v1/appliance/update');
        if (s.version !== '99.0.0-next') return undefined;
        api = fresh;
        return s;
      });
      const updateSeconds = (Date.now() - started) / 1000;
      assert.equal(after.slot, 'b');
      const good = await until('slot b marked good', minutes(6), async () => {
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
      const host = await until('local host online', minutes(5), async () =>
        (await api.expect<HostDto[]>(200, 'GET', '/api/v1/hosts')).find((h) => h.local && h.status === 'online'),
      );
      const pools = await api.expect<PoolDto[]>(200, 'GET', `/api/v1/hosts/${host.id}/pools`);
      assert.deepEqual(pools.map((p) => p.name).sort(), [...poolNames].sort());
      console.log(`update time (upload → API on the new version): ${updateSeconds.toFixed(0)} s`);
    } catch (err) {
      reportFailure(vm, err);
    }
  });

  await t.test('a bundle whose server cannot start: the appliance comes back on N+1 by itself', async () => {
    try {
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
      await vm!.waitForSerial(/quantix-update: slot a is not healthy: rebooting into slot b/, minutes(20));
      const back = await until('API back after the rollback', minutes(15), async () => {
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
    } catch (err) {
      reportFailure(vm, err);
    }
  });
});
