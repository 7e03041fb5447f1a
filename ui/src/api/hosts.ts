// Hosts and clusters: inventory, add-host (probe → confirm fingerprint → join with token),
// maintenance, removal, host shell tickets. Shapes from server/src/dto/hosts.ts. No Lit imports.
import { apiGet, apiPost, apiPatch, apiDelete } from './client.js';
import type { ConsoleTicketDto } from './vms.js';

export interface HostMetricsDto {
  at: string;
  cpuPercent: number;
  memoryTotalBytes: number;
  memoryUsedBytes: number;
  load1: number;
  netRxBytes: number;
  netTxBytes: number;
}

export interface HostDto {
  id: string;
  name: string;
  address: string;
  local: boolean;
  status: 'online' | 'offline' | 'connecting';
  statusMessage: string;
  lastSeenAt: string | null;
  clusterId: string | null;
  maintenance: boolean;
  fingerprint: string;
  hostname: string;
  cpuModel: string;
  cpuCount: number;
  memoryTotalBytes: number;
  memoryFreeBytes: number;
  domainType: string;
  libvirtVersion: string;
  qemuVersion: string;
  agentVersion: string;
  osRelease: string;
  kernel: string;
  addresses: string[];
  vmCount: number;
  metrics: HostMetricsDto | null;
  joinedAt: string;
}

export interface ClusterDto {
  id: string;
  name: string;
  hostIds: string[];
  createdAt: string;
}

export interface HostProbeDto {
  address: string;
  fingerprint: string;
  subject: string;
  validTo: string;
}

const hostPath = (id: string) => `/hosts/${encodeURIComponent(id)}`;

export const fetchHosts = (signal?: AbortSignal) => apiGet<HostDto[]>('/hosts', { signal });
export const fetchHost = (id: string, signal?: AbortSignal) => apiGet<HostDto>(hostPath(id), { signal });
/** Step 1 of add-host: TLS handshake with the address, returns the fingerprint to confirm. */
export const probeHost = (address: string) => apiPost<HostProbeDto>('/hosts/probe', { address });
/** Step 2: join with the confirmed fingerprint and the host's one-time token. */
export const addHost = (req: { address: string; fingerprint: string; joinToken: string; name?: string; clusterId?: string | null }) =>
  apiPost<HostDto>('/hosts', req);
export const updateHost = (id: string, patch: { name?: string; clusterId?: string | null; maintenance?: boolean }) =>
  apiPatch<HostDto>(hostPath(id), patch);
/** What removing a host did: `agentReleased` false when its agent could not be told to leave. */
export interface RemovedHostDto {
  id: string;
  agentReleased: boolean;
  message: string;
}
export const removeHost = (id: string) => apiDelete<RemovedHostDto>(hostPath(id));
export const createShellTicket = (id: string) => apiPost<ConsoleTicketDto>(`${hostPath(id)}/shell-ticket`);

export const fetchClusters = (signal?: AbortSignal) => apiGet<ClusterDto[]>('/clusters', { signal });
export const createCluster = (name: string) => apiPost<ClusterDto>('/clusters', { name });
export const updateCluster = (id: string, patch: { name?: string; hostIds?: string[] }) =>
  apiPatch<ClusterDto>(`/clusters/${encodeURIComponent(id)}`, patch);
export const deleteCluster = (id: string) => apiDelete<void>(`/clusters/${encodeURIComponent(id)}`);
