// One page of the VM list (GET /api/v1/vms/page): filters, a sort and keyset paging over the live
// inventory (keyset-page.ts). Pure: vm-service.ts feeds it the rows.
import type { ListVmPageQuery, VmPageSort } from '../dto/vms.js';
import { keysetPage, type SortKey } from './keyset-page.js';

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

/** The sort key: the chosen field, then the name, then the id (unique: a total order). */
const keyOf: Record<VmPageSort, (r: VmRow) => SortKey> = {
  name: (r) => [r.name.toLowerCase(), r.id],
  state: (r) => [r.state, r.name.toLowerCase(), r.id],
  host: (r) => [r.hostName.toLowerCase(), r.name.toLowerCase(), r.id],
};

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

/** The page after `q.cursor` of the rows matching q's filters in q's order, items made by `toItem`. */
export function pageVms<R extends VmRow, T>(rows: readonly R[], q: ListVmPageQuery, toItem: (r: R) => T): Page<T> {
  const { counts, ...page } = keysetPage(
    rows,
    { limit: q.limit, cursor: q.cursor, sort: q.sort ?? 'name', order: q.order ?? 'asc' },
    { keyOf, matches: matcher(q), toItem, countBy: (r) => r.state },
  );
  return { ...page, stateCounts: counts };
}
