// PagedListController: what each page request carries as the user pages forward and back, sorts,
// filters and searches (each of those back on the first page), and the search fetched only once
// typing pauses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PagedListController, SEARCH_DELAY_MS, type ListPage, type ListPageRequest } from './paged-list-controller.js';

const host = () => ({
  addController() {},
  removeController() {},
  requestUpdate() {},
  updateComplete: Promise.resolve(true),
});

type Sort = 'name' | 'state';

function list() {
  const requests: ListPageRequest<Sort>[] = [];
  let firstPages = 0;
  const c = new PagedListController<ListPage, Sort>(host(), {
    sort: 'name',
    noun: 'VMs',
    listName: 'VM list',
    fetch: async (r) => {
      requests.push(r);
      const n = requests.length;
      return { items: [n], nextCursor: `after-${n}`, total: 250 };
    },
    onFirstPage: () => firstPages++,
  });
  return { c, requests, firstPages: () => firstPages };
}

test('pages forward and back by the cursors the server gave; sort, filter and search start over', async () => {
  const { c, requests, firstPages } = list();
  await c.page.reload();
  assert.deepEqual(requests[0], {
    limit: '100',
    sort: 'name',
    order: 'asc',
    search: undefined,
    filter: undefined,
    cursor: undefined,
  });
  c.turnPage(true);
  c.turnPage(false);
  await c.page.reload();
  assert.equal(requests[1]!.cursor, 'after-1', 'next page: the cursor of the page shown');
  assert.equal(requests.at(-1)!.cursor, undefined, 'previous page: back to the first');

  await c.page.reload();
  c.turnPage(true);
  await c.page.reload();
  c.toggleSort('name');
  await c.page.reload();
  assert.equal(c.desc, true, 'the same column again turns the order round');
  assert.deepEqual(
    { sort: requests.at(-1)!.sort, order: requests.at(-1)!.order, cursor: requests.at(-1)!.cursor },
    { sort: 'name', order: 'desc', cursor: undefined },
  );
  c.toggleSort('state');
  assert.equal(c.desc, false, 'another column sorts ascending');

  const before = firstPages();
  c.turnPage(true);
  c.setFilter('running');
  await c.page.reload();
  assert.deepEqual(
    { filter: requests.at(-1)!.filter, cursor: requests.at(-1)!.cursor },
    { filter: 'running', cursor: undefined },
  );
  assert.equal(firstPages(), before + 1, 'the owner hears of the new first page (it clears its selection)');
  assert.equal(c.narrowed, true);
});

test('a search is fetched once typing pauses, trimmed, from the first page', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { c, requests } = list();
  c.search('w');
  c.search('we');
  c.search(' web ');
  assert.equal(c.query, ' web ', 'the box shows what was typed at once');
  assert.equal(requests.length, 0, 'nothing fetched while typing');
  t.mock.timers.tick(SEARCH_DELAY_MS);
  await c.page.reload();
  assert.equal(requests.length, 2, 'one fetch for the pause (and the reload above)');
  assert.equal(requests[0]!.search, 'web');
  c.search('');
  c.hostDisconnected();
  t.mock.timers.tick(SEARCH_DELAY_MS);
  assert.equal(requests.length, 2, 'a page that went away fetches nothing');
  assert.equal(c.narrowed, false);
});
