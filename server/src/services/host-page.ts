// One page of the host list (GET /api/v1/hosts/page): filters, a sort and keyset paging over the
// connected hosts (keyset-page.ts), as the VM list pages. Pure: host-service.ts feeds it the rows.
import type { HostPageSort, ListHostPageQuery } from '../dto/hosts.js';
import { keysetPage, timeKey, type SortKey } from './keyset-page.js';

/** What the filters and sorts look at. */
export interface HostRow {
  id: string;
  name: string;
  status: string;
  address: string;
  hostname: string;
  clusterId: string | null;
  /** '' when in no cluster. */
  clusterName: string;
  maintenance: boolean;
  vmCount: number;
  /** When the host joined this vDC (ms since the epoch). */
  joinedMs: number;
}

export interface HostPage<T> {
  items: T[];
  nextCursor: string | null;
  total: number;
  statusCounts: Record<string, number>;
}

/** VM counts as a key part that sorts as the number does. */
const countKey = (n: number) => String(n).padStart(10, '0');

/** The sort key: the chosen field, then the name, then the id (unique: a total order). */
const keyOf: Record<HostPageSort, (r: HostRow) => SortKey> = {
  name: (r) => [r.name.toLowerCase(), r.id],
  status: (r) => [r.status, r.name.toLowerCase(), r.id],
  cluster: (r) => [r.clusterName.toLowerCase(), r.name.toLowerCase(), r.id],
  vms: (r) => [countKey(r.vmCount), r.name.toLowerCase(), r.id],
  joined: (r) => [timeKey(r.joinedMs), r.name.toLowerCase(), r.id],
};

function matcher(q: ListHostPageQuery): (r: HostRow) => boolean {
  const statuses = q.status ? new Set(q.status.split(',')) : undefined;
  const search = q.search?.trim().toLowerCase();
  const cluster = q.clusterId === 'none' ? null : q.clusterId;
  return (r) =>
    (cluster === undefined || r.clusterId === cluster) &&
    (!statuses || statuses.has(r.status)) &&
    (q.maintenance === undefined || r.maintenance === (q.maintenance === 'true')) &&
    (!search || [r.name, r.address, r.hostname].some((s) => s.toLowerCase().includes(search)));
}

/** The page after `q.cursor` of the hosts matching q's filters in q's order, items made by `toItem`. */
export function pageHosts<R extends HostRow, T>(
  rows: readonly R[],
  q: ListHostPageQuery,
  toItem: (r: R) => T,
): HostPage<T> {
  const { counts, ...page } = keysetPage(
    rows,
    { limit: q.limit, cursor: q.cursor, sort: q.sort ?? 'name', order: q.order ?? 'asc' },
    { keyOf, matches: matcher(q), toItem, countBy: (r) => r.status },
  );
  return { ...page, statusCounts: counts };
}
