// GET /api/v1/vms/page through a real server: three simulated hosts (FakeAgent, the scale fake —
// not real hosts) joined through the API; pages walked while VMs are defined and undefined on the
// hosts, server-side filters and sorts, the 400s naming each bad parameter, roles.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSelfSigned } from '@quantix/proto/tls/certificates.js';
import { FakeAgent } from '../bench/fake-agent.js';
import type { ErrorDto } from '../dto/common.js';
import type { VmDto, VmPageDto } from '../dto/vms.js';
import type { ApiClient } from '../test-support/api-client.js';
import { startTestServer } from '../test-support/test-server.js';

const PER_HOST = 12;

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const listAll = async (api: ApiClient) => (await api.request<VmDto[]>('GET', '/api/v1/vms')).json;

async function page(api: ApiClient, query: Record<string, string>): Promise<VmPageDto> {
  const r = await api.request<VmPageDto>('GET', `/api/v1/vms/page?${new URLSearchParams(query)}`);
  assert.equal(r.status, 200, r.text);
  return r.json;
}

test('VM pages through the API: every VM once while VMs come and go, filters, sorts, 400s', async (t) => {
  const identity = await createSelfSigned({
    commonName: 'FakeAgent',
    ipAddresses: ['127.0.0.1'],
    days: 1,
    usages: ['server'],
  });
  const agents = [0, 1, 2].map((i) => new FakeAgent(identity, i, PER_HOST));
  const s = await startTestServer();
  t.after(async () => {
    await s.stop();
    for (const a of agents) a.stop();
  });
  await Promise.all(agents.map((a) => a.start()));
  const api = s.admin;
  for (const a of agents) {
    const address = `127.0.0.1:${a.port}`;
    const probe = await api.request<{ fingerprint: string }>('POST', '/api/v1/hosts/probe', { body: { address } });
    const added = await api.request('POST', '/api/v1/hosts', {
      body: { address, fingerprint: probe.json.fingerprint, joinToken: 'fake', name: `sim-${a.index}` },
    });
    assert.equal(added.status, 201, added.text);
  }
  await until('every simulated VM listed', async () =>
    (await listAll(api)).length === 3 * PER_HOST ? true : undefined,
  );
  const hostIdOf = new Map((await listAll(api)).map((v) => [v.hostName, v.hostId]));

  await t.test('walking pages while VMs are added and removed: each VM present throughout, once', async () => {
    const stable = new Set((await listAll(api)).map((v) => v.id));
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    for (;;) {
      const p = await page(api, { limit: '5', sort: 'host', ...(cursor ? { cursor } : {}) });
      seen.push(...p.items.map((v) => v.id));
      pages++;
      if (!p.nextCursor) break;
      cursor = p.nextCursor;
      // Between pages: a VM defined on host 0, one of host 1 undefined (sent or not yet sent).
      const added = agents[0]!.addVm();
      const gone = agents[1]!.vms[pages % 2 ? 0 : agents[1]!.vms.length - 1]!;
      agents[1]!.removeVm(gone.spec!.uuid);
      stable.delete(gone.spec!.uuid);
      await until('the server to see the change', async () => {
        const ids = new Set((await listAll(api)).map((v) => v.id));
        return ids.has(added.spec!.uuid) && !ids.has(gone.spec!.uuid) ? true : undefined;
      });
    }
    assert.ok(pages >= 4, `${pages} pages`);
    assert.equal(new Set(seen).size, seen.length, 'no VM on two pages');
    for (const id of stable) assert.ok(seen.includes(id), `VM ${id} was on no page`);
  });

  await t.test('filters and sorts run on the server; total counts every match', async () => {
    const all = await listAll(api);
    const host1 = hostIdOf.get('sim-1')!;
    const byHost = await page(api, { hostId: host1, limit: '1000' });
    assert.deepEqual(
      byHost.items.map((v) => v.id).sort(),
      all
        .filter((v) => v.hostId === host1)
        .map((v) => v.id)
        .sort(),
    );
    const shutoff = await page(api, { state: 'shutoff', limit: '2' });
    assert.equal(shutoff.total, all.filter((v) => v.state === 'shutoff').length);
    assert.deepEqual(shutoff.stateCounts, { shutoff: shutoff.total });
    const counts = (await page(api, { limit: '1' })).stateCounts;
    assert.equal(counts.running, all.filter((v) => v.state === 'running').length);
    assert.ok(shutoff.items.every((v) => v.state === 'shutoff') && shutoff.items.length === 2);
    const named = await page(api, { name: 'FAKE-2-VM-1' });
    assert.deepEqual(
      named.items.map((v) => v.name),
      all
        .filter((v) => v.name.startsWith('fake-2-vm-1'))
        .map((v) => v.name)
        .sort(),
    );
    agents[2]!.addVm({ name: 'tagged-one', tags: ['db', 'prod'] });
    const tagged = await until('the tagged VM', async () => {
      const p = await page(api, { tag: 'PROD' });
      return p.total === 1 ? p : undefined;
    });
    assert.equal(tagged.items[0]!.name, 'tagged-one');
    const desc = await page(api, { sort: 'name', order: 'desc', limit: '3' });
    const names = (await listAll(api)).map((v) => v.name.toLowerCase()).sort();
    assert.deepEqual(
      desc.items.map((v) => v.name.toLowerCase()),
      names.reverse().slice(0, 3),
    );
  });

  await t.test('bad parameters: 400 naming the parameter', async () => {
    const first = await page(api, { limit: '2' });
    const cases: [Record<string, string>, string][] = [
      [{ limit: '0' }, 'limit'],
      [{ limit: '5000' }, 'limit'],
      [{ limit: 'ten' }, 'limit'],
      [{ sort: 'memory' }, 'sort'],
      [{ order: 'up' }, 'order'],
      [{ state: 'running,sleeping' }, 'state'],
      [{ cursor: 'not-a-cursor' }, 'cursor'],
      [{ cursor: first.nextCursor!, sort: 'state' }, 'cursor'],
      [{ offset: '100' }, 'offset'],
    ];
    for (const [query, field] of cases) {
      const r = await api.request<ErrorDto>('GET', `/api/v1/vms/page?${new URLSearchParams(query)}`);
      assert.equal(r.status, 400, `${JSON.stringify(query)}: ${r.text}`);
      assert.equal(r.json.error.field, field, r.text);
      assert.match(r.json.error.message, new RegExp(`^${field}: `));
    }
  });

  await t.test('a viewer pages; no session: 401; /vms/:id still answers one VM', async () => {
    const viewer = await s.userWithRole('viewer');
    assert.equal((await page(viewer, { limit: '1' })).items.length, 1);
    assert.equal((await s.client().request('GET', '/api/v1/vms/page')).status, 401);
    const one = (await listAll(api))[0]!;
    const got = await api.request<VmDto>('GET', `/api/v1/vms/${one.id}`);
    assert.equal(got.json.id, one.id);
  });
});
