// Appliance settings through the API into a temp root: the OS files written (hostname, hosts,
// resolv.conf, timesyncd drop-in, localtime link, timezone), bad values refused naming the field,
// admin only, kept in the data dir and written again at the next start (the appliance's /etc is in RAM).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readlink, rm, access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApplianceSettingsDto } from '../dto/appliance.js';
import type { ErrorDto } from '../dto/common.js';
import { ADMIN_PASSWORD, startTestServer } from '../test-support/test-server.js';
import { validHostname } from './appliance-settings.js';

test('hostnames follow RFC 1123', () => {
  for (const ok of ['quantix', 'vdc-1', 'vdc1.example.org', 'a', '9lives', `${'a'.repeat(63)}.b`])
    assert.ok(validHostname(ok), ok);
  for (const bad of [
    '',
    '-vdc',
    'vdc-',
    'vd_c',
    'vdc..x',
    '.vdc',
    `${'a'.repeat(64)}`,
    '1.2.3.4',
    'vdc example',
    'vdc/x',
  ])
    assert.ok(!validHostname(bad), bad);
});

test('qxt-srv appliance settings: applied under the root, validated, admin only, kept across restarts', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'qxt-srv-appl-'));
  const root = await mkdtemp(join(tmpdir(), 'qxt-appl-root-'));
  let s = await startTestServer({ QX_APPLIANCE_ROOT: root }, { dataDir });
  t.after(async () => {
    await s.stop();
    await rm(dataDir, { recursive: true, force: true });
    await rm(root, { recursive: true, force: true });
  });
  const api = s.admin;
  const first = await api.request<ApplianceSettingsDto>('GET', '/api/v1/appliance/settings');
  assert.deepEqual(first.json, { hostname: 'quantix', dnsServers: [], ntpServers: [], timeZone: 'UTC', applied: true });

  const zones = (await api.request<string[]>('GET', '/api/v1/appliance/time-zones')).json;
  assert.ok(zones.includes('Europe/Berlin') && zones.includes('UTC') && zones.includes('America/Argentina/Salta'));
  assert.ok(!zones.some((z) => z.startsWith('posix') || z.startsWith('right') || z.endsWith('.tab')));

  const body = {
    hostname: 'VDC1.example.org',
    dnsServers: ['192.0.2.53', '2001:db8::53'],
    ntpServers: ['ntp.example.org', '192.0.2.123'],
    timeZone: 'Europe/Berlin',
  };
  const put = await api.request<ApplianceSettingsDto>('PUT', '/api/v1/appliance/settings', { body });
  assert.equal(put.status, 200, put.text);
  assert.equal(put.json.hostname, 'vdc1.example.org');
  const file = (f: string) => readFile(join(root, f), 'utf8');
  assert.equal(await file('etc/hostname'), 'vdc1.example.org\n');
  assert.match(await file('etc/hosts'), /^127\.0\.1\.1\tvdc1\.example\.org vdc1$/m);
  assert.match(await file('etc/hosts'), /^127\.0\.0\.1\tlocalhost$/m);
  assert.match(await file('etc/resolv.conf'), /^nameserver 192\.0\.2\.53\nnameserver 2001:db8::53\n$/m);
  assert.equal(await file('etc/systemd/timesyncd.conf.d/quantix.conf'), '[Time]\nNTP=ntp.example.org 192.0.2.123\n');
  assert.equal(await readlink(join(root, 'etc/localtime')), '/usr/share/zoneinfo/Europe/Berlin');
  assert.equal(await file('etc/timezone'), 'Europe/Berlin\n');

  // Refusals name the field; nothing is written.
  const refuse = async (patch: Partial<typeof body>, field: string) => {
    const r = await api.request<ErrorDto>('PUT', '/api/v1/appliance/settings', { body: { ...body, ...patch } });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error.field, field, r.text);
  };
  await refuse({ hostname: 'bad_name' }, 'hostname');
  await refuse({ hostname: '-x' }, 'hostname');
  await refuse({ dnsServers: ['192.0.2.1', 'dns.example.org'] }, 'dnsServers[1]');
  await refuse({ dnsServers: ['300.1.1.1'] }, 'dnsServers[0]');
  await refuse({ ntpServers: ['ntp example'] }, 'ntpServers[0]');
  await refuse({ timeZone: 'Mars/Olympus_Mons' }, 'timeZone');
  await refuse({ timeZone: '../../etc/passwd' }, 'timeZone');
  await refuse({ timeZone: 'posix/Europe/Berlin' }, 'timeZone');
  await refuse({ timeZone: 'Europe' }, 'timeZone');
  assert.equal(await file('etc/hostname'), 'vdc1.example.org\n');

  // Admin only: an operator can neither read nor change them.
  const operator = await s.userWithRole('operator');
  assert.equal((await operator.request('GET', '/api/v1/appliance/settings')).status, 403);
  assert.equal((await operator.request('PUT', '/api/v1/appliance/settings', { body })).status, 403);

  // No NTP servers: the drop-in goes (timesyncd's default pool); no DNS: resolv.conf is left alone.
  const again = await api.request('PUT', '/api/v1/appliance/settings', {
    body: { ...body, ntpServers: [], dnsServers: [] },
  });
  assert.equal(again.status, 200, again.text);
  await assert.rejects(access(join(root, 'etc/systemd/timesyncd.conf.d/quantix.conf')));
  assert.match(await file('etc/resolv.conf'), /nameserver 192\.0\.2\.53/);

  // A reboot: /etc starts afresh (a new root) and the server writes the kept settings again.
  await s.stop();
  await rm(root, { recursive: true, force: true });
  s = await startTestServer({ QX_APPLIANCE_ROOT: root }, { dataDir, setup: false });
  await s.admin.login('admin', ADMIN_PASSWORD);
  assert.equal(await file('etc/hostname'), 'vdc1.example.org\n');
  assert.equal(await readlink(join(root, 'etc/localtime')), '/usr/share/zoneinfo/Europe/Berlin');
  assert.equal(
    (await s.admin.request<ApplianceSettingsDto>('GET', '/api/v1/appliance/settings')).json.timeZone,
    'Europe/Berlin',
  );
});

test('qxt-srv appliance settings without QX_APPLIANCE_ROOT are kept, not applied', async (t) => {
  const s = await startTestServer();
  t.after(() => s.stop());
  const get = await s.admin.request<ApplianceSettingsDto>('GET', '/api/v1/appliance/settings');
  assert.equal(get.json.applied, false);
  const put = await s.admin.request<ApplianceSettingsDto>('PUT', '/api/v1/appliance/settings', {
    body: { hostname: 'dev', dnsServers: [], ntpServers: [], timeZone: 'UTC' },
  });
  assert.equal(put.status, 200, put.text);
  assert.equal(put.json.hostname, 'dev');
});
