// Configuration: defaults, environment over the config file, the admin password from the kernel
// command line; the control-plane member's address from the environment, the kernel command line
// or the config file, in that order, with the setting that gave it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cmdlineValue, loadServerConfig } from './config.js';

test('config: file, environment and kernel command line', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'qxt-srv-config-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const appliance = loadServerConfig(
    { QX_SERVER_DATA_DIR: dir },
    'BOOT_IMAGE=/vmlinuz quantix.admin_password=from-the-cmdline quiet',
  );
  assert.equal(appliance.listenHost, '0.0.0.0');
  assert.equal(appliance.listenPort, 443);
  assert.equal(appliance.adminPassword, 'from-the-cmdline');
  assert.equal(appliance.localAgent, undefined);
  assert.deepEqual(
    appliance.httpListen,
    { host: '0.0.0.0', port: 80 },
    'the appliance redirects plain HTTP by default',
  );
  assert.equal(loadServerConfig({ QX_SERVER_DATA_DIR: dir, QX_SERVER_HTTP_LISTEN: 'off' }, '').httpListen, undefined);

  await writeFile(
    join(dir, 'config.json'),
    JSON.stringify({
      listen: '127.0.0.1:9000',
      httpListen: '127.0.0.1:9080',
      localAgentAddress: '127.0.0.1:9443',
      localAgentDataDir: '/a',
    }),
  );
  const fromFile = loadServerConfig(
    { QX_SERVER_DATA_DIR: dir, QX_SERVER_LISTEN: '127.0.0.1:8443', QX_ADMIN_PASSWORD: 'from-the-env-var' },
    'quantix.admin_password=ignored',
  );
  assert.equal(fromFile.listenPort, 8443, 'environment wins over the file');
  assert.deepEqual(fromFile.httpListen, { host: '127.0.0.1', port: 9080 });
  assert.deepEqual(fromFile.localAgent, { address: '127.0.0.1:9443', dataDir: '/a' });
  assert.deepEqual(
    loadServerConfig(
      {
        QX_SERVER_DATA_DIR: dir,
        QX_LOCAL_AGENT_ADDRESS: 'unix:/run/a.sock',
        QX_LOCAL_AGENT_DATA_DIR: '/a',
        QX_LOCAL_AGENT_NETWORK_ADDRESS: ':9443',
      },
      '',
    ).localAgent,
    { address: 'unix:/run/a.sock', dataDir: '/a', networkAddress: ':9443' },
  );
  assert.throws(
    () => loadServerConfig({ QX_SERVER_DATA_DIR: dir, QX_LOCAL_AGENT_NETWORK_ADDRESS: 'nowhere' }, ''),
    /QX_LOCAL_AGENT_NETWORK_ADDRESS: expected host:port/,
  );
  assert.equal(fromFile.adminPassword, 'from-the-env-var');

  assert.throws(
    () => loadServerConfig({ QX_SERVER_DATA_DIR: dir, QX_SERVER_LISTEN: 'nonsense' }, ''),
    /QX_SERVER_LISTEN: expected host:port/,
  );
  assert.equal(cmdlineValue('a=1 quantix.admin_password= b', 'quantix.admin_password'), undefined);
});

test('config: connection bounds, with env overrides in seconds and refused bad values', () => {
  const defaults = loadServerConfig({ QX_SERVER_DATA_DIR: '/nonexistent-qxt' }, '').bounds;
  assert.deepEqual(defaults, {
    headersTimeoutMs: 20_000,
    requestTimeoutMs: 60_000,
    idleTimeoutMs: 60_000,
    handshakeTimeoutMs: 10_000,
    maxConnectionsPerAddress: 64,
    sseBufferBytes: 1024 * 1024,
    wsBufferBytes: 4 * 1024 * 1024,
  });
  const short = loadServerConfig(
    {
      QX_SERVER_DATA_DIR: '/nonexistent-qxt',
      QX_SERVER_HEADERS_TIMEOUT: '0.5',
      QX_SERVER_MAX_CONNECTIONS_PER_ADDRESS: '4',
    },
    '',
  ).bounds;
  assert.equal(short.headersTimeoutMs, 500);
  assert.equal(short.maxConnectionsPerAddress, 4);
  assert.throws(
    () => loadServerConfig({ QX_SERVER_DATA_DIR: '/nonexistent-qxt', QX_SERVER_IDLE_TIMEOUT: '0' }, ''),
    /QX_SERVER_IDLE_TIMEOUT: expected a positive number, got "0"/,
  );
  assert.throws(
    () =>
      loadServerConfig({ QX_SERVER_DATA_DIR: '/nonexistent-qxt', QX_SERVER_MAX_CONNECTIONS_PER_ADDRESS: '2.5' }, ''),
    /QX_SERVER_MAX_CONNECTIONS_PER_ADDRESS: expected a positive integer/,
  );
});

test('config: the control-plane address from QX_CONTROLPLANE_ADDRESS, quantix.controlplane_address= or config.json', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'qxt-srv-config-cp-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const member = (env: Record<string, string>, cmdline: string) => {
    const { address, addressSetting } = loadServerConfig({ QX_SERVER_DATA_DIR: dir, ...env }, cmdline).controlPlane;
    return { address, addressSetting };
  };
  assert.deepEqual(member({}, 'quiet'), { address: undefined, addressSetting: undefined }, 'unset: picked at use');
  await writeFile(join(dir, 'config.json'), JSON.stringify({ controlplaneAddress: '192.0.2.9' }));
  assert.deepEqual(member({}, 'quiet'), {
    address: '192.0.2.9',
    addressSetting: `controlplaneAddress in ${join(dir, 'config.json')}`,
  });
  const cmdline = 'boot=live quantix.controlplane_address=192.0.2.8 quantix.controlplane=form';
  assert.deepEqual(member({}, cmdline), { address: '192.0.2.8', addressSetting: 'quantix.controlplane_address=' });
  assert.deepEqual(member({ QX_CONTROLPLANE_ADDRESS: '127.0.0.2' }, cmdline), {
    address: '127.0.0.2',
    addressSetting: 'QX_CONTROLPLANE_ADDRESS',
  });
  assert.equal(loadServerConfig({ QX_SERVER_DATA_DIR: dir }, cmdline).controlPlaneBoot, 'form');
});
