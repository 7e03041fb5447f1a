// Host list paging (pure): every host once across pages while hosts join and leave, each sort in
// both orders (joined = join time), the filters, total and counts by status.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HostPageSort, ListHostPageQuery } from '../dto/hosts.js';
import { HOST_PAGE_SORTS } from '../dto/hosts.js';
import { pageHosts as pageOf, type HostRow } from './host-page.js';

const pageHosts = (rows: HostRow[], q: ListHostPageQuery) => pageOf(rows, q, (r) => r.id);
const STATUSES = ['online', 'offline', 'connecting'];

let serial = 0;
function row(i: number, over: Partial<HostRow> = {}): HostRow {
  const id = `h-${String(++serial).padStart(5, '0')}`;
  const clusterId = i % 3 === 0 ? null : `c${i % 3}`;
  return {
    id,
    // Names repeat and differ in case: the id breaks ties, the sort ignores case.
    name: `${i % 2 ? 'Node' : 'kvm'}-${i % 13}`,
    status: STATUSES[i % 3]!,
    address: `10.1.${i % 5}.${i}:9443`,
    hostname: `box${i}.lab`,
    clusterId,
    clusterName: clusterId ? `Cluster ${clusterId}` : '',
    maintenance: i % 4 === 0,
    vmCount: (i * 7) % 11,
    joinedMs: 1_700_000_000_000 + (i % 9) * 60_000,
    ...over,
  };
}

for (const sort of HOST_PAGE_SORTS) {
  for (const order of ['asc', 'desc'] as const) {
    test(`sort=${sort} order=${order}: every host present throughout comes once, in order, while hosts come and go`, () => {
      const hosts = Array.from({ length: 40 }, (_, i) => row(i));
      const stable = new Set(hosts.map((h) => h.id));
      const seen: string[] = [];
      let cursor: string | undefined;
      for (let page = 0; ; page++) {
        const r = pageHosts(hosts, { limit: '6', sort, order, ...(cursor ? { cursor } : {}) });
        assert.ok(r.items.length <= 6);
        assert.equal(r.total, hosts.length);
        seen.push(...r.items);
        if (!r.nextCursor) break;
        cursor = r.nextCursor;
        hosts.push(row(500 + page));
        const gone = hosts.find((h) => !seen.includes(h.id));
        if (gone) {
          hosts.splice(hosts.indexOf(gone), 1);
          stable.delete(gone.id);
        }
      }
      assert.equal(new Set(seen).size, seen.length, 'no host twice');
      for (const id of stable) assert.ok(seen.includes(id), `${id} was on no page`);
    });
  }
}

test('sort orders: joined oldest first, vms by count (not as text), cluster by name; desc reverses', () => {
  const hosts = [
    row(0, { name: 'c', joinedMs: 3000, vmCount: 10, clusterName: 'beta' }),
    row(0, { name: 'a', joinedMs: 1000, vmCount: 9, clusterName: '' }),
    row(0, { name: 'b', joinedMs: 2000, vmCount: 100, clusterName: 'Alpha' }),
  ];
  const nameOf = new Map(hosts.map((h) => [h.id, h.name]));
  const names = (sort: HostPageSort, order: 'asc' | 'desc' = 'asc') =>
    pageHosts(hosts, { sort, order }).items.map((id) => nameOf.get(id));
  assert.deepEqual(names('joined'), ['a', 'b', 'c']);
  assert.deepEqual(names('joined', 'desc'), ['c', 'b', 'a']);
  assert.deepEqual(names('vms'), ['a', 'c', 'b']);
  assert.deepEqual(names('cluster'), ['a', 'b', 'c']);
});

test('filters: cluster (and "none"), statuses, maintenance, search; total and counts by status', () => {
  const hosts = Array.from({ length: 30 }, (_, i) => row(i));
  const check = (q: ListHostPageQuery, want: (h: HostRow) => boolean) => {
    const expected = hosts.filter(want).map((h) => h.id);
    assert.ok(expected.length > 0 && expected.length < hosts.length, `a filter that tells: ${JSON.stringify(q)}`);
    const r = pageHosts(hosts, { ...q, limit: '1000' });
    assert.deepEqual([...r.items].sort(), expected.sort(), JSON.stringify(q));
    assert.equal(pageHosts(hosts, { ...q, limit: '1' }).total, expected.length, 'total is over all pages');
  };
  check({ clusterId: 'c1' }, (h) => h.clusterId === 'c1');
  check({ clusterId: 'none' }, (h) => h.clusterId === null);
  check({ status: 'online,offline' }, (h) => h.status !== 'connecting');
  check({ maintenance: 'true' }, (h) => h.maintenance);
  check({ maintenance: 'false', status: 'online' }, (h) => !h.maintenance && h.status === 'online');
  check({ search: 'NODE-1' }, (h) => h.name.startsWith('Node-1'));
  check({ search: '10.1.2.' }, (h) => h.address.startsWith('10.1.2.'));
  check({ search: 'box7.' }, (h) => h.hostname === 'box7.lab');
  const inC2 = hosts.filter((h) => h.clusterId === 'c2');
  assert.deepEqual(
    pageOf(hosts, { clusterId: 'c2', limit: '1' }, (h) => h.id).statusCounts,
    Object.fromEntries(STATUSES.map((s) => [s, inC2.filter((h) => h.status === s).length]).filter(([, n]) => n)),
  );
});
