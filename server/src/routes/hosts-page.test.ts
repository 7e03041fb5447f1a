// GET /api/v1/hosts/page through a real server: three simulated hosts (FakeAgent, the scale fake —
// not real hosts) joined through the API; pages walked, sorts (VM count, join time, cluster),
// filters, the 400s naming each bad parameter, roles.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSelfSigned } from '@quantix/proto/tls/certificates.js';
import { FakeAgent } from '../bench/fake-agent.js';
import type { ErrorDto } from '../dto/common.js';
import type { ClusterDto, HostDto, HostPageDto } from '../dto/hosts.js';
import type { ApiClient } from '../test-support/api-client.js';
import { startTestServer } from '../test-support/test-server.js';

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function page(api: ApiClient, query: Record<string, string>): Promise<HostPageDto> {
  const r = await api.request<HostPageDto>('GET', `/api/v1/hosts/page?${new URLSearchParams(query)}`);
  assert.equal(r.status, 200, r.text);
  return r.json;
}

test('host pages through the API: every host once, sorts, filters, 400s, roles', async (t) => {
  const identity = await createSelfSigned({
    commonName: 'FakeAgent',
    ipAddresses: ['127.0.0.1'],
    days: 1,
    usages: ['server'],
  });
  // VM counts 3, 1, 2: sorting by VM count differs from sorting by name or by join order.
  const agents = [3, 1, 2].map((n, i) => new FakeAgent(identity, i, n));
  const s = await startTestServer();
  t.after(async () => {
    await s.stop();
    for (const a of agents) a.stop();
  });
  await Promise.all(agents.map((a) => a.start()));
  const api = s.admin;
  // Joined in the order sim-b, sim-c, sim-a (one after the other: join times differ).
  const names = ['sim-b', 'sim-c', 'sim-a'];
  for (const [i, a] of agents.entries()) {
    const address = `127.0.0.1:${a.port}`;
    const probe = await api.request<{ fingerprint: string }>('POST', '/api/v1/hosts/probe', { body: { address } });
    const added = await api.request('POST', '/api/v1/hosts', {
      body: { address, fingerprint: probe.json.fingerprint, joinToken: 'fake', name: names[i] },
    });
    assert.equal(added.status, 201, added.text);
    await new Promise((r) => setTimeout(r, 5)); // join times are in ms: keep them distinct
  }
  await until('every simulated host online with its VMs', async () => {
    const hosts = (await api.request<HostDto[]>('GET', '/api/v1/hosts')).json;
    const counts = new Map(hosts.map((h) => [h.name, h.status === 'online' ? h.vmCount : -1]));
    return counts.get('sim-b') === 3 && counts.get('sim-c') === 1 && counts.get('sim-a') === 2 ? true : undefined;
  });

  await t.test('pages of one walk every host once in name order', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const p = await page(api, { limit: '1', ...(cursor ? { cursor } : {}) });
      assert.equal(p.total, 3);
      assert.equal(p.statusCounts.online, 3);
      seen.push(...p.items.map((h) => h.name));
      cursor = p.nextCursor ?? undefined;
    } while (cursor);
    assert.deepEqual(seen, ['sim-a', 'sim-b', 'sim-c']);
  });

  await t.test('sorts: by VM count, by join time (newest first with desc), by cluster', async () => {
    const order = async (q: Record<string, string>) => (await page(api, q)).items.map((h) => h.name);
    assert.deepEqual(await order({ sort: 'vms' }), ['sim-c', 'sim-a', 'sim-b']);
    assert.deepEqual(await order({ sort: 'joined' }), ['sim-b', 'sim-c', 'sim-a']);
    assert.deepEqual(await order({ sort: 'joined', order: 'desc' }), ['sim-a', 'sim-c', 'sim-b']);
    const hosts = (await page(api, {})).items;
    const created = await api.request<ClusterDto>('POST', '/api/v1/clusters', {
      body: { name: 'rack-1', hostIds: [hosts.find((h) => h.name === 'sim-c')!.id] },
    });
    assert.equal(created.status, 201, created.text);
    assert.deepEqual(await order({ sort: 'cluster', order: 'desc' }), ['sim-c', 'sim-b', 'sim-a']);
    assert.deepEqual(await order({ clusterId: created.json.id }), ['sim-c']);
    assert.deepEqual(await order({ clusterId: 'none' }), ['sim-a', 'sim-b']);
    assert.deepEqual(await order({ search: 'SIM-B' }), ['sim-b']);
    assert.deepEqual(await order({ status: 'offline' }), []);
    assert.deepEqual(await order({ maintenance: 'false', status: 'online,connecting' }), ['sim-a', 'sim-b', 'sim-c']);
  });

  await t.test('bad parameters: 400 naming the parameter', async () => {
    const first = await page(api, { limit: '1' });
    const cases: [Record<string, string>, string][] = [
      [{ limit: '0' }, 'limit'],
      [{ limit: '5000' }, 'limit'],
      [{ sort: 'memory' }, 'sort'],
      [{ order: 'up' }, 'order'],
      [{ status: 'online,asleep' }, 'status'],
      [{ maintenance: 'yes' }, 'maintenance'],
      [{ cursor: 'not-a-cursor' }, 'cursor'],
      [{ cursor: first.nextCursor!, sort: 'vms' }, 'cursor'],
    ];
    for (const [query, field] of cases) {
      const r = await api.request<ErrorDto>('GET', `/api/v1/hosts/page?${new URLSearchParams(query)}`);
      assert.equal(r.status, 400, `${JSON.stringify(query)}: ${r.text}`);
      assert.equal(r.json.error.field, field, r.text);
    }
  });

  await t.test('a viewer pages; no session: 401; /hosts/:id still answers one host', async () => {
    const viewer = await s.userWithRole('viewer');
    assert.equal((await page(viewer, { limit: '2' })).items.length, 2);
    assert.equal((await s.client().request('GET', '/api/v1/hosts/page')).status, 401);
    const one = (await page(api, { limit: '1' })).items[0]!;
    assert.equal((await api.request<HostDto>('GET', `/api/v1/hosts/${one.id}`)).json.id, one.id);
  });
});
