// Hosts and clusters: inventory, add-host (probe → confirm fingerprint → join with token),
// maintenance, removal, host shell tickets. Shapes are the server's (server/src/dto/hosts.ts).
// No Lit imports.
import type { ConsoleTicketDto } from '@dto/vms.js';
import type {
  AddHostDto,
  ClusterDto,
  CreateClusterDto,
  HostDto,
  HostPageDto,
  HostProbeDto,
  ListHostPageQuery,
  PlacementDto,
  RemovedHostDto,
  UpdateClusterDto,
  UpdateHostDto,
} from '@dto/hosts.js';
import { apiGet, apiPost, apiPatch, apiDelete } from './client.js';

const hostPath = (id: string) => `/hosts/${encodeURIComponent(id)}`;

export const fetchHosts = (signal?: AbortSignal) => apiGet<HostDto[]>('/hosts', { signal });
/**
 * One page of the host list, filtered and sorted by the server; pass the reply's nextCursor back,
 * with the same sort and filters, for the next page.
 */
export const fetchHostPage = (query: ListHostPageQuery, signal?: AbortSignal) => {
  const q = Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== '');
  return apiGet<HostPageDto>(`/hosts/page?${new URLSearchParams(q).toString()}`, { signal });
};
export const fetchHost = (id: string, signal?: AbortSignal) => apiGet<HostDto>(hostPath(id), { signal });
/** Step 1 of add-host: TLS handshake with the address, returns the fingerprint to confirm. */
export const probeHost = (address: string) => apiPost<HostProbeDto>('/hosts/probe', { address });
/** Step 2: join with the confirmed fingerprint and the host's one-time token. */
export const addHost = (req: AddHostDto) => apiPost<HostDto>('/hosts', req);
export const updateHost = (id: string, patch: UpdateHostDto) => apiPatch<HostDto>(hostPath(id), patch);
/** Forgets a host; `agentReleased` is false when its agent could not be told to leave. */
export const removeHost = (id: string) => apiDelete<RemovedHostDto>(hostPath(id));
export const createShellTicket = (id: string) => apiPost<ConsoleTicketDto>(`${hostPath(id)}/shell-ticket`);

export const fetchClusters = (signal?: AbortSignal) => apiGet<ClusterDto[]>('/clusters', { signal });
export const fetchCluster = (id: string, signal?: AbortSignal) =>
  apiGet<ClusterDto>(`/clusters/${encodeURIComponent(id)}`, { signal });
/** Where a new VM with disks on `pool` would go in the cluster, and why the other hosts would not. */
export const fetchPlacement = (id: string, pool: string, memoryMib: number, signal?: AbortSignal) =>
  apiGet<PlacementDto>(
    `/clusters/${encodeURIComponent(id)}/placement?${new URLSearchParams({ pool, memoryMib: String(memoryMib) }).toString()}`,
    { signal },
  );
export const createCluster = (req: CreateClusterDto) => apiPost<ClusterDto>('/clusters', req);
export const updateCluster = (id: string, patch: UpdateClusterDto) =>
  apiPatch<ClusterDto>(`/clusters/${encodeURIComponent(id)}`, patch);
export const deleteCluster = (id: string) => apiDelete<void>(`/clusters/${encodeURIComponent(id)}`);
