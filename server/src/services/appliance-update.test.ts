// Appliance updates through the REST API of a real server on an appliance root laid out as an
// installed system (slot a, grubenv) or a live one: status, bundle upload (verified, a bad one
// refused and not kept), admin only, and a live system answering that it needs to be installed;
// apply only upgrades, and downgrades when explicitly allowed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { keyPair, makeApplianceRoot, makeTestBundle } from '@quantix/proto/appliance/appliance-fixture.js';
import type { ApplianceUpdateDto } from '../dto/appliance-update.js';
import { startTestServer } from '../test-support/test-server.js';
import type { ApiClient } from '../test-support/api-client.js';

const makeBundle = resolve(import.meta.dirname, '../../../build/iso/make-bundle.mjs');

function pem() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }) as string,
  };
}

async function putBundle(api: ApiClient, file: string) {
  return api.request<ApplianceUpdateDto>('PUT', '/api/v1/appliance/update/bundle', {
    stream: createReadStream(file),
    headers: { 'Content-Length': String((await stat(file)).size), 'Content-Type': 'application/octet-stream' },
  });
}

test('qxt-srv appliance update: installed slots, a verified bundle kept, a bad one refused, admin only', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'qxt-upd-'));
  const root = join(dir, 'root');
  const key = pem();
  await mkdir(join(root, 'proc'), { recursive: true });
  await writeFile(join(root, 'proc/cmdline'), 'boot=live live-media-path=/slot-a/live quantix.slot=a quiet\n');
  await mkdir(join(root, 'etc'));
  await writeFile(join(root, 'etc/quantix-release'), 'QUANTIX_VERSION=1.0.0\nQUANTIX_BUILD=abc\n');
  await mkdir(join(root, 'run/live/medium/boot/grub'), { recursive: true });
  await writeFile(join(root, 'run/live/medium/boot/grub/grubenv'), '# GRUB Environment Block\ngood_slot=a\n###\n');
  await writeFile(join(dir, 'key.pem'), key.publicPem);
  const parts = join(dir, 'parts');
  await mkdir(parts);
  for (const name of ['vmlinuz', 'initrd.img', '00-base.squashfs', 'filesystem.module']) {
    await writeFile(join(parts, name), `${name} contents`);
  }
  const bundle = async (name: string, privatePem: string) => {
    await writeFile(join(dir, `${name}.pem`), privatePem);
    const out = join(dir, `${name}.qxu`);
    const files = ['vmlinuz', 'initrd.img', '00-base.squashfs', 'filesystem.module'].map((n) => join(parts, n));
    const args = [makeBundle, '--key', join(dir, `${name}.pem`), '--version', '1.1.0', '--out', out, ...files];
    await promisify(execFile)(process.execPath, args);
    return out;
  };
  const updateDir = join(dir, 'update');
  const s = await startTestServer({
    QX_APPLIANCE_ROOT: root,
    QX_UPDATE_DIR: updateDir,
    QX_UPDATE_KEY: join(dir, 'key.pem'),
  });
  t.after(async () => {
    await s.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const first = await s.admin.request<ApplianceUpdateDto>('GET', '/api/v1/appliance/update');
  assert.equal(first.status, 200, first.text);
  assert.deepEqual(first.json, {
    installed: true,
    version: '1.0.0',
    slot: 'a',
    goodSlot: 'a',
    otherSlot: { slot: 'b' },
  });

  const operator = await s.userWithRole('operator');
  assert.equal((await operator.request('GET', '/api/v1/appliance/update')).status, 403);
  assert.equal((await putBundle(operator, await bundle('good', key.privatePem))).status, 403);

  const forged = await putBundle(s.admin, await bundle('forged', pem().privatePem));
  assert.equal(forged.status, 422, forged.text);
  assert.match(forged.text, /bad signature/);
  assert.deepEqual(await readdir(updateDir), []);

  const good = await putBundle(s.admin, join(dir, 'good.qxu'));
  assert.equal(good.status, 200, good.text);
  assert.equal(good.json.bundle?.version, '1.1.0');
  assert.equal(good.json.bundle?.sizeBytes, (await stat(join(dir, 'good.qxu'))).size);
  assert.deepEqual((await readdir(updateDir)).sort(), ['bundle.json', 'bundle.qxu']);

  // A refused upload leaves the bundle uploaded before it in place.
  await writeFile(join(dir, 'cut.qxu'), (await readFile(join(dir, 'good.qxu'))).subarray(0, 1500));
  const cut = await putBundle(s.admin, join(dir, 'cut.qxu'));
  assert.equal(cut.status, 422, cut.text);
  assert.match(cut.text, /truncated/);
  const after = await s.admin.request<ApplianceUpdateDto>('GET', '/api/v1/appliance/update');
  assert.equal(after.json.bundle?.version, '1.1.0');

  // A rolled-back attempt says why, as the trial slot recorded it (appliance/quantix-update health).
  const why = 'its server failed 5 times; the server said: cannot open db.json';
  await writeFile(
    join(updateDir, 'attempt.env'),
    `from_slot=a\nto_slot=b\nfrom_version=1.0.0\nto_version=1.1.0\nstarted=2026-12-07T10:00:00Z\nresult=rolled-back\nreason=${why}\nfinished=2026-12-07T10:09:00Z\n`,
  );
  const rolledBack = await s.admin.request<ApplianceUpdateDto>('GET', '/api/v1/appliance/update');
  assert.deepEqual(rolledBack.json.lastAttempt, {
    fromSlot: 'a',
    toSlot: 'b',
    fromVersion: '1.0.0',
    toVersion: '1.1.0',
    started: '2026-12-07T10:00:00Z',
    finished: '2026-12-07T10:09:00Z',
    result: 'rolled-back',
    reason: why,
  });
});

test('qxt-srv appliance update: a live system says updates need an installed one', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'qxt-upd-live-'));
  await mkdir(join(root, 'proc'));
  await writeFile(join(root, 'proc/cmdline'), 'boot=live components quiet\n');
  const s = await startTestServer({ QX_APPLIANCE_ROOT: root, QX_UPDATE_DIR: join(root, 'update') });
  t.after(async () => {
    await s.stop();
    await rm(root, { recursive: true, force: true });
  });
  const status = await s.admin.request<ApplianceUpdateDto>('GET', '/api/v1/appliance/update');
  assert.equal(status.json.installed, false);
  assert.match(status.json.notice ?? '', /updates need an installed system/);
  const apply = await s.admin.request('POST', '/api/v1/appliance/update/apply', { body: {} });
  assert.equal(apply.status, 409, apply.text);
  assert.match(apply.text, /updates need an installed system/);
});

test('qxt-srv appliance update: only an upgrade is applied; the running version and a downgrade are refused naming both, a downgrade goes when allowed', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'qxt-upd-order-'));
  const key = keyPair();
  const appliance = await makeApplianceRoot(join(dir, 'root'), { version: '1.0.0', publicKeyPem: key.publicPem });
  const s = await startTestServer({ QX_APPLIANCE_ROOT: appliance.root, QX_UPDATE_DIR: join(dir, 'update') });
  t.after(async () => {
    await s.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const apply = (body: object = {}) => s.admin.request('POST', '/api/v1/appliance/update/apply', { body });
  const upload = async (version: string) => {
    const r = await putBundle(s.admin, await makeTestBundle(dir, version, key.privatePem, version));
    assert.equal(r.status, 200, r.text);
  };

  await upload('1.0.0');
  const same = await apply({ allowDowngrade: true });
  assert.equal(same.status, 409, same.text);
  assert.match(same.text, /this appliance already runs 1\.0\.0/);
  await upload('0.9.0');
  const older = await apply();
  assert.equal(older.status, 409, older.text);
  assert.match(older.text, /the bundle's version 0\.9\.0 is older than 1\.0\.0, which this appliance runs/);
  assert.equal((await apply({ allowDowngrade: false })).status, 409);
  assert.equal((await apply({ allowDowngrade: 'yes' })).status, 400);
  assert.equal(
    (
      await (
        await s.userWithRole('operator')
      ).request('POST', '/api/v1/appliance/update/apply', { body: { allowDowngrade: true } })
    ).status,
    403,
  );
  assert.deepEqual(await appliance.calls(), [], 'nothing was written or armed');
  const allowed = await apply({ allowDowngrade: true });
  assert.equal(allowed.status, 202, allowed.text);
  assert.deepEqual(
    (await appliance.calls()).map((c) => c.replace(/^\d+ /, '')),
    ['prepare', 'arm b 1.0.0 0.9.0'],
  );
  await appliance.rebootIntoArmed();
  await upload('1.1.0-rc.1');
  const upgrade = await apply();
  assert.equal(upgrade.status, 202, upgrade.text);
  assert.equal((await appliance.calls()).at(-1)?.replace(/^\d+ /, ''), 'arm a 0.9.0 1.1.0-rc.1');
});
