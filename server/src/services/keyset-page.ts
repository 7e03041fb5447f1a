// Keyset paging of an in-memory list (the VM and host pages): filter, one sort with ties broken
// down to the id, and an opaque cursor holding the last row's sort key, so a page boundary holds
// while rows come and go (no offsets). Pure; the callers say what the keys and filters are.
import { badRequest } from '../errors.js';

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

/** A sort key: strings compared in turn, the last one unique (the id): a total order. */
export type SortKey = string[];

export interface KeysetPage<T> {
  items: T[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
  /** Rows matching the filters, on every page. */
  total: number;
  /** The same by `countBy` (e.g. by state). */
  counts: Record<string, number>;
}

export interface KeysetRequest<S extends string> {
  limit?: string | undefined;
  cursor?: string | undefined;
  sort: S;
  order: 'asc' | 'desc';
}

export interface KeysetRules<R, T, S extends string> {
  /** The sort key of a row for each sort. */
  keyOf: Record<S, (r: R) => SortKey>;
  matches: (r: R) => boolean;
  toItem: (r: R) => T;
  countBy?: (r: R) => string;
}

/** A creation or join time as a key part that sorts as the time does (unknown times first). */
export function timeKey(ms: number): string {
  return String(Math.max(0, Math.trunc(ms))).padStart(16, '0');
}

function compareKeys(a: SortKey, b: SortKey): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  return 0;
}

interface CursorBody {
  s: string;
  o: 'asc' | 'desc';
  k: SortKey;
}

function encodeCursor(c: CursorBody): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

/** The cursor's key; 400 naming `cursor` when it is not one of ours or was made for another sort. */
function decodeCursor(cursor: string, sort: string, order: 'asc' | 'desc'): SortKey {
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

/**
 * The page after `req.cursor` of the rows matching in `req`'s order, each made a reply item by
 * `toItem`. One pass over the rows that keeps only the `limit` first ones (no full sort): a
 * first page of 10,000 rows costs a scan, and items are made for that page only.
 */
export function keysetPage<R, T, S extends string>(
  rows: Iterable<R>,
  req: KeysetRequest<S>,
  rules: KeysetRules<R, T, S>,
): KeysetPage<T> {
  const limit = pageSize(req.limit);
  const { sort, order } = req;
  const dir = order === 'desc' ? -1 : 1;
  const keyOf = rules.keyOf[sort];
  const after = req.cursor === undefined ? undefined : decodeCursor(req.cursor, sort, order);
  const cmp = (a: SortKey, b: SortKey) => dir * compareKeys(a, b);
  /** The first `limit` rows after the cursor, in order (insertion into a short sorted array). */
  const best: { key: SortKey; row: R }[] = [];
  let total = 0;
  let rest = 0;
  const counts: Record<string, number> = {};
  for (const row of rows) {
    if (!rules.matches(row)) continue;
    total++;
    if (rules.countBy) {
      const c = rules.countBy(row);
      counts[c] = (counts[c] ?? 0) + 1;
    }
    const key = keyOf(row);
    if (after) {
      if (after.length !== key.length)
        throw badRequest('cursor: not a cursor this server handed out (pass nextCursor unchanged)', 'cursor');
      if (cmp(key, after) <= 0) continue;
    }
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
    items: best.map((b) => rules.toItem(b.row)),
    nextCursor: rest > limit && last ? encodeCursor({ s: sort, o: order, k: last.key }) : null,
    total,
    counts,
  };
}
