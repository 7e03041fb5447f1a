// The local host over the agent's private Unix socket (no TLS): joined and online through it with
// the agent's own fingerprint, socket 0600 in a 0700 directory; an impostor socket with a loose mode
// or a foreign owner at the same path is refused without a single connection, and the real agent
// restarted there is taken back. Probing a `unix:` address through the API is a 400.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, chown, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fingerprintOf } from '@quantix/proto/tls/certificates.js';
import type { HostDto } from '../dto/hosts.js';
import { freePort, spawnAgent, type Child } from '../test-support/spawn.js';
import { startTestServer } from '../test-support/test-server.js';
import { eventually } from '../test-support/guest-pool.js';

async function impostor(path: string, mode: number, uid: number): Promise<{ server: Server; accepted: () => number }> {
  let accepted = 0;
  const server = createServer((s) => {
    accepted++;
    s.destroy();
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  await chmod(path, mode);
  await chown(path, uid, uid);
  return { server, accepted: () => accepted };
}

test('qxt-srv local agent over its private Unix socket; impostor sockets refused', async (t) => {
  const agentDir = await mkdtemp(join(tmpdir(), 'qxt-srv-sock-'));
  const socket = join(agentDir, 'local', 'agent.sock');
  const port = await freePort();
  let agent: Child = await spawnAgent(agentDir, port);
  const s = await startTestServer({ QX_LOCAL_AGENT_ADDRESS: `unix:${socket}`, QX_LOCAL_AGENT_DATA_DIR: agentDir });
  t.after(async () => {
    await s.stop();
    await agent.kill('SIGKILL');
    await rm(agentDir, { recursive: true, force: true });
  });
  assert.equal((await stat(socket)).mode & 0o777, 0o600);
  assert.equal((await stat(join(agentDir, 'local'))).mode & 0o777, 0o700);

  const api = s.admin;
  const hostNow = async () =>
    (await api.request<HostDto[]>('GET', '/api/v1/hosts')).json.find((h) => h.local) ?? undefined;
  const host = await eventually('the local host online over the socket', async () => {
    const h = await hostNow();
    return h?.status === 'online' && h.cpuCount > 0 && h;
  });
  assert.equal(host.address, `unix:${socket}`);
  const certPem = await readFile(join(agentDir, 'identity', 'agent.crt'), 'utf8');
  assert.equal(host.fingerprint, fingerprintOf(certPem), 'the fingerprint shown is still the agent certificate');
  const pools = await api.request('GET', `/api/v1/hosts/${host.id}/pools`);
  assert.equal(pools.status, 200, pools.text);

  const probe = await api.request('POST', '/api/v1/hosts/probe', { body: { address: `unix:${socket}` } });
  assert.equal(probe.status, 400, probe.text);

  // The agent dies; someone else's socket appears at its path: refused before connecting.
  await agent.kill('SIGKILL');
  await rm(socket, { force: true });
  for (const [mode, uid, why] of [
    [0o666, 0, 'has mode 666'],
    [0o600, 65534, 'owned by uid 65534'],
  ] as const) {
    const fake = await impostor(socket, mode, uid);
    const refused = await eventually(`the socket refused (${why})`, async () => {
      const h = await hostNow();
      return h?.status === 'offline' && h.statusMessage.includes(why) && h;
    });
    assert.match(refused.statusMessage, /refusing the local agent socket/);
    assert.equal(fake.accepted(), 0, 'no connection was made to the impostor');
    await new Promise<void>((resolve) => fake.server.close(() => resolve()));
    await rm(socket, { force: true });
  }

  agent = await spawnAgent(agentDir, port);
  await eventually('the local host back online', async () => (await hostNow())?.status === 'online');
});
