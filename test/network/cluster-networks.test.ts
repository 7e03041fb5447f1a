// Cluster networks through the real server and two real agents: host A in the root network
// namespace, host B in a netns of the test's own (reached over a veth pair). A bridged cluster network
// over a NIC that only A has: B fails and says why, A (joining later) gets it. One over B's management
// NIC, created with the confirmation while B was not a member: B joins, is not moved, says why, and
// moves on its own confirmation. Prefix qxt-netc-.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../agent/src/exec/run.js';
import { takeRunLock } from './run-lock.js';
import { startTestServer } from '../../server/src/test-support/test-server.js';
import { freePort, listening, spawnAgent, spawnNode, type Child } from '../../server/src/test-support/spawn.js';
import type { ApiClient } from '../../server/src/test-support/api-client.js';
import type { ClusterNetworkDto } from '../../server/src/dto/cluster-networks.js';

const NS = 'qxt-netc-hb';
const B_ADDR = '10.213.70.2';
const ip = (...args: string[]) => run('ip', args);
const virsh = (...args: string[]) => run('virsh', ['-q', '-c', 'qemu:///system', ...args]);

async function cleanUp(): Promise<void> {
  for (const n of (await virsh('net-list', '--all', '--name')).stdout.split('\n').map((l) => l.trim())) {
    if (!n.startsWith('qxt-netc-cl')) continue;
    await virsh('net-destroy', n).catch(() => undefined);
    await virsh('net-undefine', n).catch(() => undefined);
  }
  for (const link of ['qxt-netc-clb', 'qxt-netc-clm', 'qxt-netc-up', 'qxt-netc-hr'])
    await ip('link', 'del', 'dev', link).catch(() => undefined);
  await ip('netns', 'del', NS).catch(() => undefined);
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function expect<T>(api: ApiClient, status: number, method: string, path: string, body?: unknown): Promise<T> {
  const r = await api.request<T>(method as 'GET', path, body === undefined ? {} : { body });
  assert.equal(r.status, status, `${method} ${path}: ${r.text}`);
  return r.json;
}

async function joinHost(api: ApiClient, address: string, dataDir: string, name: string): Promise<string> {
  const probe = await expect<{ fingerprint: string }>(api, 200, 'POST', '/api/v1/hosts/probe', { address });
  const joinToken = (await readFile(`${dataDir}/join-token`, 'utf8')).trim();
  const host = await expect<{ id: string }>(api, 201, 'POST', '/api/v1/hosts', {
    address,
    fingerprint: probe.fingerprint,
    joinToken,
    name,
  });
  await until(`${name} online`, async () => {
    const h = await expect<{ status: string }>(api, 200, 'GET', `/api/v1/hosts/${host.id}`);
    return h.status === 'online' ? true : undefined;
  });
  return host.id;
}

test(
  'a cluster network is applied per host and reports why a host failed',
  { timeout: 300_000 },
  async (t: TestContext) => {
    const release = await takeRunLock('/tmp/qxt-netc-cluster-networks.lock');
    await cleanUp();
    const children: Child[] = [];
    const dirs: string[] = [];
    t.after(async () => {
      for (const c of children) await c.kill();
      await cleanUp();
      for (const d of dirs) await rm(d, { recursive: true, force: true });
      await release();
    });

    // Host B's network namespace, reachable from the root namespace over a /30.
    await ip('netns', 'add', NS);
    await ip('link', 'add', 'qxt-netc-hr', 'type', 'veth', 'peer', 'name', 'qxt-netc-hn');
    await ip('link', 'set', 'qxt-netc-hn', 'netns', NS);
    await ip('addr', 'add', '10.213.70.1/30', 'dev', 'qxt-netc-hr');
    await ip('link', 'set', 'qxt-netc-hr', 'up');
    await ip('-n', NS, 'addr', 'add', `${B_ADDR}/30`, 'dev', 'qxt-netc-hn');
    await ip('-n', NS, 'link', 'set', 'qxt-netc-hn', 'up');
    await ip('-n', NS, 'link', 'set', 'lo', 'up');
    // The uplink NIC exists on host A only (B's namespace has no such interface).
    await ip('link', 'add', 'qxt-netc-up', 'type', 'veth', 'peer', 'name', 'qxt-netc-upp');

    const server = await startTestServer();
    t.after(() => server.stop());
    const api = server.admin;

    const dirA = await mkdtemp(join(tmpdir(), 'qxt-netc-agent-a-'));
    const dirB = await mkdtemp(join(tmpdir(), 'qxt-netc-agent-b-'));
    dirs.push(dirA, dirB);
    const portA = await freePort();
    children.push(await spawnAgent(dirA, portA));
    children.push(
      await spawnNode(
        'agent/src/main.ts',
        { QX_AGENT_DATA_DIR: dirB, QX_AGENT_LISTEN: `${B_ADDR}:9443` },
        async () => existsSync(`${dirB}/join-token`) && (await listening(9443, B_ADDR)),
        { command: ['ip', 'netns', 'exec', NS] },
      ),
    );
    const hostA = await joinHost(api, `127.0.0.1:${portA}`, dirA, 'qxt-netc-host-a');
    const hostB = await joinHost(api, `${B_ADDR}:9443`, dirB, 'qxt-netc-host-b');

    const cluster = await expect<{ id: string }>(api, 201, 'POST', '/api/v1/clusters', {
      name: 'qxt-netc-cluster',
      hostIds: [hostB],
    });
    const base = `/api/v1/clusters/${cluster.id}/networks`;
    await expect(api, 400, 'POST', base, { name: 'qxt-netc-cl', kind: 'nat', subnet: '10.213.72.0/28', bogus: 1 });

    const created = await expect<ClusterNetworkDto>(api, 201, 'POST', base, {
      name: 'qxt-netc-cl',
      kind: 'bridged',
      uplink: 'qxt-netc-up',
      bridge: 'qxt-netc-clb',
    });
    assert.deepEqual(
      created.hosts.map((h) => [h.hostName, h.state]),
      [['qxt-netc-host-b', 'failed']],
    );
    assert.match(created.hosts[0]!.reason, /host interface "qxt-netc-up" does not exist/);
    await expect(api, 409, 'POST', base, { name: 'qxt-netc-cl', kind: 'nat', subnet: '10.213.72.0/28' });

    // Host A joins the cluster and gets the network without being asked.
    await expect(api, 200, 'PATCH', `/api/v1/clusters/${cluster.id}`, { hostIds: [hostA, hostB] });
    const applied = await until('the network on host A', async () => {
      const n = await expect<ClusterNetworkDto>(api, 200, 'GET', `${base}/qxt-netc-cl`);
      return n.hosts.find((h) => h.hostId === hostA)?.state === 'applied' ? n : undefined;
    });
    assert.equal(applied.hosts.find((h) => h.hostId === hostB)?.state, 'failed');
    const onA = await expect<{ kind: string; active: boolean; uplink: string }>(
      api,
      200,
      'GET',
      `/api/v1/hosts/${hostA}/networks/qxt-netc-cl`,
    );
    assert.deepEqual([onA.kind, onA.active, onA.uplink], ['bridged', true, 'qxt-netc-up']);
    assert.equal(JSON.parse((await ip('-j', 'link', 'show', 'dev', 'qxt-netc-up')).stdout)[0].master, 'qxt-netc-clb');

    // Placement's question: which hosts have the VM's networks?
    assert.equal(server.services.clusterNetworks.placementProblem(hostA, ['qxt-netc-cl']), '');
    assert.match(
      server.services.clusterNetworks.placementProblem(hostB, ['qxt-netc-cl']),
      /not applied here \(.*does not exist/,
    );
    assert.deepEqual(
      (await expect<ClusterNetworkDto[]>(api, 200, 'GET', base)).map((n) => n.name),
      ['qxt-netc-cl'],
    );

    await expect(api, 204, 'DELETE', `${base}/qxt-netc-cl`);
    await expect(api, 404, 'GET', `${base}/qxt-netc-cl`);
    assert.equal(JSON.parse((await ip('-j', 'link', 'show', 'dev', 'qxt-netc-up')).stdout)[0].master, undefined);
    assert.doesNotMatch((await virsh('net-list', '--all', '--name')).stdout, /qxt-netc-cl/);
    const links = JSON.parse((await ip('-j', 'link', 'show')).stdout) as { ifname: string }[];
    assert.ok(!links.some((l) => l.ifname === 'qxt-netc-clb'), 'bridge removed from host A');

    // The confirmation given at creation covers the members of that moment, not a host that joins later.
    // qxt-netc-hn carries B's default route (its management address); A has no NIC of that name.
    await expect(api, 200, 'PATCH', `/api/v1/clusters/${cluster.id}`, { hostIds: [hostA] });
    await ip('-n', NS, 'route', 'add', 'default', 'via', '10.213.70.1');
    const bLink = async () =>
      JSON.parse((await ip('-n', NS, '-j', 'addr', 'show', 'dev', 'qxt-netc-hn')).stdout)[0] as {
        master?: string;
        addr_info: { local: string }[];
      };
    const mgmt = { name: 'qxt-netc-clm', kind: 'bridged', uplink: 'qxt-netc-hn', bridge: 'qxt-netc-clm' };
    const made = await expect<ClusterNetworkDto>(api, 201, 'POST', base, { ...mgmt, confirmManagementMove: true });
    assert.deepEqual(
      made.hosts.map((h) => [h.hostName, h.state, h.needsConfirmation]),
      [['qxt-netc-host-a', 'failed', false]],
    );
    await expect(api, 200, 'PATCH', `/api/v1/clusters/${cluster.id}`, { hostIds: [hostA, hostB] });
    const refused = await until('host B to refuse the move', async () => {
      const n = await expect<ClusterNetworkDto>(api, 200, 'GET', `${base}/qxt-netc-clm`);
      const b = n.hosts.find((h) => h.hostId === hostB);
      return b?.state === 'failed' ? b : undefined;
    });
    assert.equal(refused.needsConfirmation, true);
    assert.match(
      refused.reason,
      /^needs confirmation: NIC qxt-netc-hn carries the management address of host qxt-netc-host-b/,
    );
    assert.equal((await bLink()).master, undefined, "B's NIC was not moved");
    assert.match(
      server.services.clusterNetworks.placementProblem(hostB, ['qxt-netc-clm']),
      /not applied here \(needs confirmation/,
    );
    // "Apply again" is no confirmation either.
    const again = await expect<ClusterNetworkDto>(api, 200, 'POST', `${base}/qxt-netc-clm/apply`);
    assert.equal(again.hosts.find((h) => h.hostId === hostB)?.needsConfirmation, true);
    assert.equal((await bLink()).master, undefined);

    // The per-host confirmation: admins only, CSRF like every change, members only.
    const hostApply = `${base}/qxt-netc-clm/hosts/${hostB}/apply`;
    const operator = await server.userWithRole('operator');
    await expect(operator, 403, 'POST', hostApply, { confirmManagementMove: true });
    const r = await api.request('POST', hostApply, { body: { confirmManagementMove: true }, noCsrf: true });
    assert.equal(r.status, 403, r.text);
    await expect(api, 400, 'POST', hostApply, { confirmManagementMove: 'yes' });
    await expect(api, 404, 'POST', `${base}/qxt-netc-clm/hosts/no-such-host/apply`, { confirmManagementMove: true });
    assert.equal((await bLink()).master, undefined);
    const confirmed = await expect<ClusterNetworkDto>(api, 200, 'POST', hostApply, { confirmManagementMove: true });
    const stateOf = (n: ClusterNetworkDto, id: string) => {
      const h = n.hosts.find((x) => x.hostId === id);
      return [h?.state, h?.needsConfirmation];
    };
    assert.deepEqual(stateOf(confirmed, hostB), ['applied', false]);
    assert.deepEqual(stateOf(confirmed, hostA), ['failed', false], 'only host B was applied again');
    assert.equal((await bLink()).master, 'qxt-netc-clm', "B's NIC is a port of the bridge now");
    assert.ok(!(await bLink()).addr_info.some((a) => a.local === B_ADDR), 'the address moved off the NIC');
    // B stays reachable: its address moved to the bridge.
    const onB = await expect<{ kind: string; active: boolean }>(
      api,
      200,
      'GET',
      `/api/v1/hosts/${hostB}/networks/qxt-netc-clm`,
    );
    assert.deepEqual([onB.kind, onB.active], ['bridged', true]);
    assert.equal(server.services.clusterNetworks.placementProblem(hostB, ['qxt-netc-clm']), '');

    await expect(api, 204, 'DELETE', `${base}/qxt-netc-clm`);
    assert.equal((await bLink()).master, undefined);
    assert.ok(
      (await bLink()).addr_info.some((a) => a.local === B_ADDR),
      "B's address is back on its NIC",
    );
  },
);
