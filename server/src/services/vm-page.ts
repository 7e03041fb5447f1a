// One page of the VM list (GET /api/v1/vms/page): filters, a sort and keyset paging over the live
// inventory. The cursor is opaque to clients: the sort key and id of the last VM sent, so a page
// boundary holds while VMs come and go (no offsets). Pure: vm-service.ts feeds it the rows.
import { badRequest } from '../errors.js';
import type { ListVmPageQuery, VmPageSort } from '../dto/vms.js';

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

/** What the filters and sorts look at. */
export interface VmRow {
  id: string;
  name: string;
  state: string;
  hostId: string;
  hostName: string;
  clusterId: string | null;
  tags: readonly string[];
  ipAddresses: readonly string[];
}

export interface Page<T> {
  items: T[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
  /** VMs matching the filters, on every page. */
  total: number;
  /** The same by state. */
  stateCounts: Record<string, number>;
}

type Key = string[];

/** The sort key: the chosen field, then the name, then the id (unique: a total order). */
const keyOf: Record<VmPageSort, (r: VmRow) => Key> = {
  name: (r) => [r.name.toLowerCase(), r.id],
  state: (r) => [r.state, r.name.toLowerCase(), r.id],
  host: (r) => [r.hostName.toLowerCase(), r.name.toLowerCase(), r.id],
};

const KEY_WIDTH: Record<VmPageSort, number> = { name: 2, state: 3, host: 3 };

function compareKeys(a: Key, b: Key): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  return 0;
}

interface CursorBody {
  s: VmPageSort;
  o: 'asc' | 'desc';
  k: Key;
}

function encodeCursor(c: CursorBody): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

/** The cursor's key; 400 naming `cursor` when it is not one of ours or was made for another sort. */
function decodeCursor(cursor: string, sort: VmPageSort, order: 'asc' | 'desc'): Key {
  let c: Partial<CursorBody> | null = null;
  try {
    c = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as Partial<CursorBody> | null;
  } catch {
    // not JSON: not ours
  }
  const notOurs = () => badRequest('cursor: not a cursor this server handed out (pass nextCursor unchanged)', 'cursor');
  if (typeof c !== 'object' || c === null || !Array.isArray(c.k) || !c.k.every((x) => typeof x === 'string'))
    throw notOurs();
  if (c.s !== sort || c.o !== order)
    throw badRequest(
      `cursor: made for sort=${String(c.s)} order=${String(c.o)}; after changing the sort, start again without a cursor`,
      'cursor',
    );
  if (c.k.length !== KEY_WIDTH[sort]) throw notOurs();
  return c.k;
}

/** The page size from the query: 1–1000, default 100 (400 naming `limit` otherwise). */
export function pageSize(limit: string | undefined): number {
  if (limit === undefined) return DEFAULT_PAGE_SIZE;
  const n = Number(limit);
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE_SIZE)
    throw badRequest(`limit: must be a whole number from 1 to ${MAX_PAGE_SIZE}`, 'limit');
  return n;
}

function matcher(q: ListVmPageQuery): (r: VmRow) => boolean {
  const states = q.state ? new Set(q.state.split(',')) : undefined;
  const name = q.name?.toLowerCase();
  const tag = q.tag?.toLowerCase();
  const search = q.search?.trim().toLowerCase();
  return (r) =>
    (!q.hostId || r.hostId === q.hostId) &&
    (!q.clusterId || r.clusterId === q.clusterId) &&
    (!states || states.has(r.state)) &&
    (!name || r.name.toLowerCase().includes(name)) &&
    (!tag || r.tags.some((t) => t.toLowerCase() === tag)) &&
    (!search || [r.name, r.hostName, ...r.ipAddresses].some((s) => s.toLowerCase().includes(search)));
}

/**
 * The page after `q.cursor` of the rows matching q's filters in q's order, each made a reply item
 * by `toItem`. One pass over the rows that keeps only the `limit` first ones (no full sort): a
 * first page of 10,000 VMs costs a scan, and items are made for that page only.
 */
export function pageVms<R extends VmRow, T>(rows: readonly R[], q: ListVmPageQuery, toItem: (r: R) => T): Page<T> {
  const limit = pageSize(q.limit);
  const sort = q.sort ?? 'name';
  const order = q.order ?? 'asc';
  const dir = order === 'desc' ? -1 : 1;
  const after = q.cursor === undefined ? undefined : decodeCursor(q.cursor, sort, order);
  const matches = matcher(q);
  const cmp = (a: Key, b: Key) => dir * compareKeys(a, b);
  /** The first `limit` rows after the cursor, in order (insertion into a short sorted array). */
  const best: { key: Key; row: R }[] = [];
  let total = 0;
  let rest = 0;
  const stateCounts: Record<string, number> = {};
  for (const row of rows) {
    if (!matches(row)) continue;
    total++;
    stateCounts[row.state] = (stateCounts[row.state] ?? 0) + 1;
    const key = keyOf[sort](row);
    if (after && cmp(key, after) <= 0) continue;
    rest++;
    if (best.length === limit && cmp(key, best[limit - 1]!.key) >= 0) continue;
    let lo = 0;
    let hi = best.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cmp(best[mid]!.key, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    best.splice(lo, 0, { key, row });
    if (best.length > limit) best.pop();
  }
  const last = best.at(-1);
  return {
    items: best.map((b) => toItem(b.row)),
    nextCursor: rest > limit && last ? encodeCursor({ s: sort, o: order, k: last.key }) : null,
    total,
    stateCounts,
  };
}
