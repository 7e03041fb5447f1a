// VM list paging (pure): every VM once across pages while VMs come and go, each sort in both
// orders, the filters and total, and the 400s naming the parameter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HttpError } from '../errors.js';
import type { ListVmPageQuery, VmPageSort } from '../dto/vms.js';
import { pageVms as pageOf, type VmRow } from './vm-page.js';

const pageVms = (rows: VmRow[], q: ListVmPageQuery) => pageOf(rows, q, (r) => r.id);

const STATES = ['running', 'shutoff', 'paused'];

let serial = 0;
function row(i: number, over: Partial<VmRow> = {}): VmRow {
  const id = `id-${String(++serial).padStart(5, '0')}`;
  return {
    id,
    // Names repeat across hosts and differ in case: the id breaks ties, the sort ignores case.
    name: `${i % 2 ? 'Web' : 'db'}-${i % 17}`,
    state: STATES[i % 3]!,
    hostId: `h${i % 4}`,
    hostName: `host-${i % 4}`,
    clusterId: i % 4 < 2 ? 'c1' : null,
    tags: i % 5 === 0 ? ['Prod'] : [],
    ipAddresses: [`10.0.${i % 4}.${i}`],
    ...over,
  };
}

function badRequestField(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof HttpError && err.status === 400, String(err));
    return err.field;
  }
  assert.fail('expected a 400');
}

for (const sort of ['name', 'state', 'host'] as VmPageSort[]) {
  for (const order of ['asc', 'desc'] as const) {
    test(`sort=${sort} order=${order}: every VM present throughout comes exactly once while VMs are added and removed`, () => {
      const vms = Array.from({ length: 60 }, (_, i) => row(i));
      const stable = new Set(vms.map((v) => v.id));
      const seen: string[] = [];
      let cursor: string | undefined;
      for (let page = 0; ; page++) {
        const q: ListVmPageQuery = { limit: '7', sort, order, ...(cursor ? { cursor } : {}) };
        const r = pageVms(vms, q);
        assert.ok(r.items.length <= 7);
        assert.equal(r.total, vms.length, 'total counts every VM matching, on each page');
        seen.push(...r.items);
        if (!r.nextCursor) break;
        cursor = r.nextCursor;
        // Between pages: one VM added, one already sent removed, one not yet sent removed.
        vms.push(row(1000 + page));
        for (const gone of [vms.find((v) => seen.includes(v.id)), vms.find((v) => !seen.includes(v.id))]) {
          if (!gone) continue;
          vms.splice(vms.indexOf(gone), 1);
          stable.delete(gone.id);
        }
      }
      assert.equal(new Set(seen).size, seen.length, 'no VM twice');
      for (const id of stable) assert.ok(seen.includes(id), `${id} was on no page`);
    });
  }
}

test('pages follow the sort: by state, then name (any case), then id; desc reverses it', () => {
  const vms = [
    row(0, { name: 'b', state: 'shutoff' }),
    row(0, { name: 'B', state: 'running' }),
    row(0, { name: 'a', state: 'running' }),
    row(0, { name: 'c', state: 'paused' }),
  ];
  const names = (order: 'asc' | 'desc') =>
    pageVms(vms, { sort: 'state', order, limit: '2' }).items.concat(
      pageVms(vms, {
        sort: 'state',
        order,
        limit: '2',
        cursor: pageVms(vms, { sort: 'state', order, limit: '2' }).nextCursor!,
      }).items,
    );
  const byId = new Map(vms.map((v) => [v.id, `${v.state}/${v.name}`]));
  assert.deepEqual(
    names('asc').map((id) => byId.get(id)),
    ['paused/c', 'running/a', 'running/B', 'shutoff/b'],
  );
  assert.deepEqual(
    names('desc').map((id) => byId.get(id)),
    ['shutoff/b', 'running/B', 'running/a', 'paused/c'],
  );
});

test('filters: host, cluster, states, name contains, tag, search; total is the matching count', () => {
  const vms = Array.from({ length: 40 }, (_, i) => row(i));
  const all = (q: ListVmPageQuery) => pageVms(vms, { ...q, limit: '1000' });
  const check = (q: ListVmPageQuery, want: (v: VmRow) => boolean) => {
    const expected = vms.filter(want).map((v) => v.id);
    assert.ok(expected.length > 0 && expected.length < vms.length, `a filter that tells: ${JSON.stringify(q)}`);
    const r = all(q);
    assert.deepEqual([...r.items].sort(), expected.sort(), JSON.stringify(q));
    assert.equal(r.total, expected.length);
    assert.equal(pageVms(vms, { ...q, limit: '1' }).total, expected.length, 'total is over all pages');
  };
  check({ hostId: 'h1' }, (v) => v.hostId === 'h1');
  check({ clusterId: 'c1' }, (v) => v.clusterId === 'c1');
  check({ state: 'running,paused' }, (v) => v.state !== 'shutoff');
  check({ name: 'WEB-1' }, (v) => v.name.startsWith('Web-1'));
  check({ tag: 'prod' }, (v) => v.tags.includes('Prod'));
  check({ search: '10.0.2.' }, (v) => v.ipAddresses[0]!.startsWith('10.0.2.'));
  check({ search: 'HOST-3' }, (v) => v.hostName === 'host-3');
  check({ hostId: 'h1', state: 'running' }, (v) => v.hostId === 'h1' && v.state === 'running');
  const onH2 = vms.filter((v) => v.hostId === 'h2');
  assert.deepEqual(
    pageVms(vms, { hostId: 'h2', limit: '1' }).stateCounts,
    Object.fromEntries(STATES.map((st) => [st, onH2.filter((v) => v.state === st).length]).filter(([, n]) => n)),
    'counts by state over every page',
  );
  const none = all({ name: 'no-such-vm' });
  assert.deepEqual(none, { items: [], nextCursor: null, total: 0, stateCounts: {} });
});

test('only the VMs on the page are turned into reply items', () => {
  let built = 0;
  const vms = Array.from({ length: 500 }, (_, i) => row(i));
  const r = pageOf(vms, { limit: '10', sort: 'host', order: 'desc' }, (v) => (built++, v.id));
  assert.equal(r.items.length, 10);
  assert.equal(built, 10);
  assert.equal(pageVms(vms, { limit: '10' }).total, 500);
});

test('bad parameters: 400 naming limit or cursor', () => {
  const vms = Array.from({ length: 5 }, (_, i) => row(i));
  assert.equal(
    badRequestField(() => pageVms(vms, { limit: '0' })),
    'limit',
  );
  assert.equal(
    badRequestField(() => pageVms(vms, { limit: '1001' })),
    'limit',
  );
  for (const cursor of ['garbage', Buffer.from('{"k":[1,2]}').toString('base64url'), '']) {
    assert.equal(
      badRequestField(() => pageVms(vms, { cursor })),
      'cursor',
      cursor,
    );
  }
  const byName = pageVms(vms, { limit: '2' }).nextCursor!;
  assert.equal(
    badRequestField(() => pageVms(vms, { limit: '2', cursor: byName, sort: 'host' })),
    'cursor',
  );
  assert.equal(
    badRequestField(() => pageVms(vms, { limit: '2', cursor: byName, order: 'desc' })),
    'cursor',
  );
  assert.equal(pageVms(vms, { limit: '2', cursor: byName }).items.length, 2, 'the same sort goes on');
});
