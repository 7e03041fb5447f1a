// Remote hosts follow: a real agent (its own user and qemu:///session libvirt) on a directory laid
// out as an appliance root, joined to a real server. A live system and this server's own appliance
// are refused naming why. Once installed, the update runs as a task: maintenance first, then the
// bundle goes to the agent, which checks it with the host's OWN key — a bundle the server accepted
// but the host's key did not sign is refused and leaves nothing; a good one is written into slot b
// and armed (where the image's script reboots). The "reboot" (agent restarted on the armed slot)
// brings the host back reporting the new version, and the task takes it out of maintenance; a
// host that does not come back in time fails the task saying so. Only upgrades: "all hosts" skips a
// host newer than the bundle, naming why, and one host is downgraded only when asked.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keyPair, makeTestBundle } from '@quantix/proto/appliance/appliance-fixture.js';
import type { ApplianceUpdateDto, HostUpdatePlanDto } from '../dto/appliance-update.js';
import type { HostDto } from '../dto/hosts.js';
import type { TaskDto } from '../dto/tasks.js';
import type { ApiClient } from '../test-support/api-client.js';
import { startApplianceHost } from '../test-support/appliance-host.js';
import { eventually } from '../test-support/guest-pool.js';
import { startTestServer } from '../test-support/test-server.js';

async function putBundle(api: ApiClient, file: string) {
  const r = await api.request<ApplianceUpdateDto>('PUT', '/api/v1/appliance/update/bundle', {
    stream: createReadStream(file),
    headers: { 'Content-Length': String((await stat(file)).size), 'Content-Type': 'application/octet-stream' },
  });
  assert.equal(r.status, 200, r.text);
}

const finished = (api: ApiClient, id: string) =>
  eventually(
    `task ${id} to finish`,
    async () => {
      const r = (await api.request<TaskDto>('GET', `/api/v1/tasks/${id}`)).json;
      return r.status !== 'running' && r;
    },
    60_000,
  );

/** A test server and an appliance host joined to it; the server checks bundles with `serverKey`'s file. */
async function setUp(t: TestContext, installed: boolean) {
  const base = await mkdtemp(join(tmpdir(), 'qxt-srv-hostupd-'));
  const hostKey = keyPair();
  const forgedKey = keyPair();
  const serverKey = join(base, 'server-key.pem');
  // A compromised server: it accepts bundles signed with a key the host does not trust.
  await writeFile(serverKey, forgedKey.publicPem);
  const server = await startTestServer({
    QX_UPDATE_DIR: join(base, 'update'),
    QX_UPDATE_KEY: serverKey,
    QX_HOST_UPDATE_TIMEOUT_S: '60',
  });
  t.after(async () => {
    await server.stop();
    await rm(base, { recursive: true, force: true });
  });
  const h = await startApplianceHost(server, {
    user: 'qxt-srv-upd',
    name: 'qxt-srv-upd-host',
    version: '1.0.0',
    publicKeyPem: hostKey.publicPem,
    installed,
  });
  t.after(() => h.stop());
  const api = server.admin;
  const host = () => api.request<HostDto>('GET', `/api/v1/hosts/${h.id}`).then((r) => r.json);
  const update = (client = api) => client.request<TaskDto>('POST', `/api/v1/hosts/${h.id}/update`, { body: {} });
  await eventually('the host online', async () => (await host()).status === 'online');
  return { base, hostKey, forgedKey, serverKey, server, api, h, host, update };
}

test('qxt-srv host update: a live system and this server’s own appliance are refused naming why; admin only', async (t) => {
  const { base, forgedKey, server, api, host, update } = await setUp(t, false);
  assert.deepEqual((await host()).system, {
    installed: false,
    version: '1.0.0',
    slot: '',
    updateBlocker:
      'updates need an installed system: this appliance runs from the live image; install it to a disk first',
  });
  const none = await update();
  assert.equal(none.status, 409, none.text);
  assert.match(none.text, /no update bundle uploaded/);
  await putBundle(api, await makeTestBundle(base, 'forged', forgedKey.privatePem, '1.1.0'));
  const live = await update();
  assert.equal(live.status, 409, live.text);
  assert.match(live.text, /cannot be updated: updates need an installed system/);
  assert.equal((await update(await server.userWithRole('operator'))).status, 403);
  // This server's own appliance (as the pool tells) updates under Appliance › Updates, never here.
  server.services.inventory.ownAppliance = () => true;
  assert.match((await host()).system.updateBlocker, /own appliance: update it under Appliance › Updates/);
  const own = await update();
  assert.equal(own.status, 409, own.text);
  assert.match(own.text, /own appliance/);
});

test('qxt-srv host update: maintenance, bundle checked by the host, reboot, back on the new version', async (t) => {
  const { base, hostKey, forgedKey, serverKey, server, api, h, host, update } = await setUp(t, true);
  const { id, appliance, dataDir } = h;
  assert.deepEqual((await host()).system, { installed: true, version: '1.0.0', slot: 'a', updateBlocker: '' });
  await putBundle(api, await makeTestBundle(base, 'forged', forgedKey.privatePem, '1.1.0'));

  // The host's own key decides: the server's bundle is refused after maintenance, nothing kept.
  const forged = await update();
  assert.equal(forged.status, 202, forged.text);
  const refused = await finished(api, forged.json.id);
  assert.equal(refused.status, 'failed');
  assert.match(refused.error ?? '', /bad signature/);
  assert.equal((await host()).maintenance, true, 'a failed update leaves the host in maintenance');
  assert.deepEqual(await readdir(join(dataDir, 'update')), []);
  assert.equal(existsSync(join(appliance.root, 'run/live/medium/slot-b')), false);
  assert.deepEqual(await appliance.calls(), []);
  const off = await api.request('PATCH', `/api/v1/hosts/${id}`, { body: { maintenance: false } });
  assert.equal(off.status, 200, off.text);

  // A bundle the host's key signed: maintenance, sent, armed; the host reboots onto it.
  await writeFile(serverKey, hostKey.publicPem);
  await putBundle(api, await makeTestBundle(base, 'good', hostKey.privatePem, '1.1.0'));
  const started = await update();
  assert.equal(started.status, 202, started.text);
  assert.equal(started.json.kind, 'host.update');
  const twice = await update();
  assert.equal(twice.status, 409, twice.text);
  assert.match(twice.text, /is being updated already/);
  const armed = await eventually('the slot armed', async () => (await appliance.calls()).length === 2);
  assert.ok(armed);
  const calls = await appliance.calls();
  assert.deepEqual(
    calls.map((c) => c.replace(/^\d+ /, '')),
    ['prepare', 'arm b 1.0.0 1.1.0'],
  );
  const during = await host();
  assert.equal(during.maintenance, true);
  const evacuation = (await api.request<TaskDto>('GET', `/api/v1/tasks/${during.evacuationTaskId}`)).json;
  assert.ok(
    Date.parse(evacuation.finishedAt!) <= Number(calls[0]!.split(' ')[0]),
    'the host was emptied before the bundle was installed',
  );
  assert.equal(await readFile(join(appliance.root, 'run/live/medium/slot-b/live/vmlinuz'), 'utf8'), 'vmlinuz of 1.1.0');
  await appliance.rebootIntoArmed();
  await h.boot();
  const done = await finished(api, started.json.id);
  assert.equal(done.status, 'succeeded', done.error ?? '');
  assert.deepEqual(done.result, { hosts: [{ id, name: 'qxt-srv-upd-host', version: '1.1.0' }] });
  const after = await host();
  assert.deepEqual(after.system, { installed: true, version: '1.1.0', slot: 'b', updateBlocker: '' });
  assert.equal(after.maintenance, false, 'back in service');
  assert.match(
    done.log.map((l) => l.message).join('\n'),
    /in maintenance; sending the 1\.1\.0 bundle[\s\S]*armed slot b[\s\S]*back, running 1\.1\.0/,
  );

  // Already there: nothing to do. "All hosts" with a newer bundle: a host that does not come back
  // on it in time fails the task saying so.
  assert.equal((await update()).status, 409);
  const none = await api.request('POST', '/api/v1/appliance/update/hosts', { body: {} });
  assert.equal(none.status, 409, none.text);
  assert.match(none.text, /none is behind/);
  await putBundle(api, await makeTestBundle(base, 'next', hostKey.privatePem, '1.2.0'));
  server.services.config.hostUpdate.onlineTimeoutMs = 2_000;
  const all = await api.request<TaskDto>('POST', '/api/v1/appliance/update/hosts', { body: {} });
  assert.equal(all.status, 202, all.text);
  const late = await finished(api, all.json.id);
  assert.equal(late.kind, 'hosts.update');
  assert.equal(late.status, 'failed');
  assert.match(
    late.error ?? '',
    /did not come back running 1\.2\.0 within 2 s \(it is online, still reporting 1\.1\.0/,
  );
  assert.equal((await appliance.calls()).length, 4, 'the slot was armed before the wait');
});

test('qxt-srv host update: only upgrades; "all hosts" skips a host newer than the bundle, naming why; one host is downgraded only when asked', async (t) => {
  const { base, hostKey, serverKey, server, api, h } = await setUp(t, true);
  const newer = await startApplianceHost(server, {
    user: 'qxt-srv-upd2',
    name: 'qxt-srv-upd-newer',
    version: '1.2.0',
    publicKeyPem: hostKey.publicPem,
  });
  t.after(() => newer.stop());
  await eventually('the newer host online', async () => {
    const r = await api.request<HostDto>('GET', `/api/v1/hosts/${newer.id}`);
    return r.json.status === 'online';
  });
  await writeFile(serverKey, hostKey.publicPem);
  await putBundle(api, await makeTestBundle(base, 'mid', hostKey.privatePem, '1.1.0'));
  const updateOne = (id: string, body: object = {}) =>
    api.request<TaskDto>('POST', `/api/v1/hosts/${id}/update`, { body });

  const down = await updateOne(newer.id);
  assert.equal(down.status, 409, down.text);
  assert.match(down.text, /the bundle's version 1\.1\.0 is older than 1\.2\.0, which host qxt-srv-upd-newer runs/);

  const plan = await api.request<HostUpdatePlanDto>('GET', '/api/v1/appliance/update/hosts');
  assert.equal(plan.status, 200, plan.text);
  const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
  assert.equal(plan.json.bundleVersion, '1.1.0');
  assert.deepEqual(plan.json.hosts.sort(byName), [
    { id: h.id, name: 'qxt-srv-upd-host', update: true, reason: '' },
    {
      id: newer.id,
      name: 'qxt-srv-upd-newer',
      update: false,
      reason:
        "the bundle's version 1.1.0 is older than 1.2.0, which host qxt-srv-upd-newer runs: a downgrade needs allowDowngrade",
    },
  ]);

  // "All hosts": the older one only; the newer one listed as skipped with its reason.
  const all = await api.request<TaskDto>('POST', '/api/v1/appliance/update/hosts', { body: {} });
  assert.equal(all.status, 202, all.text);
  // Armed once its stand-in quantix-update wrote what the reboot boots (after recording the call).
  const armed = (x: typeof h) => existsSync(join(x.appliance.root, 'next-release'));
  await eventually('the older host armed', async () => armed(h));
  assert.deepEqual(await newer.appliance.calls(), [], 'the newer host is left alone');
  await h.appliance.rebootIntoArmed();
  await h.boot();
  const done = await finished(api, all.json.id);
  assert.equal(done.status, 'succeeded', done.error ?? '');
  const newerSkipped = {
    id: newer.id,
    name: 'qxt-srv-upd-newer',
    reason:
      "the bundle's version 1.1.0 is older than 1.2.0, which host qxt-srv-upd-newer runs: a downgrade needs allowDowngrade",
  };
  assert.deepEqual(done.result, {
    hosts: [{ id: h.id, name: 'qxt-srv-upd-host', version: '1.1.0' }],
    skipped: [newerSkipped],
  });
  assert.match(
    done.log.map((l) => l.message).join('\n'),
    /skipped qxt-srv-upd-newer: the bundle's version 1\.1\.0 is older/,
  );

  // Nothing behind any more: 409 naming each host's reason.
  const none = await api.request('POST', '/api/v1/appliance/update/hosts', { body: {} });
  assert.equal(none.status, 409, none.text);
  assert.match(
    none.text,
    /none is behind \(host qxt-srv-upd-host already runs 1\.1\.0; the bundle's version 1\.1\.0 is older than 1\.2\.0/,
  );

  // Asked for: the server passes it through, and the host's agent (which checks too) installs it.
  const allowed = await updateOne(newer.id, { allowDowngrade: true });
  assert.equal(allowed.status, 202, allowed.text);
  await eventually('the newer host armed', async () => armed(newer));
  assert.deepEqual(
    (await newer.appliance.calls()).map((c) => c.replace(/^\d+ /, '')),
    ['prepare', 'arm b 1.2.0 1.1.0'],
  );
  await newer.appliance.rebootIntoArmed();
  await newer.boot();
  assert.equal((await finished(api, allowed.json.id)).status, 'succeeded');
});
