// Host networks (NAT, isolated, bridged over a NIC) and host interfaces.
// Shapes from server/src/dto/networks.ts. No Lit imports.
import { apiGet, apiPost, apiDelete } from './client.js';

export const NETWORK_KINDS = ['nat', 'isolated', 'bridged'] as const;
export type NetworkKind = (typeof NETWORK_KINDS)[number];

export interface NetworkDto {
  hostId: string;
  name: string;
  kind: NetworkKind | 'unknown';
  subnet: string;
  dhcpStart: string;
  dhcpEnd: string;
  bridge: string;
  uplink: string;
  vlanId: number;
  active: boolean;
  leases: { mac: string; ip: string; hostname: string; expiryMs: number }[];
  usedBy: string[];
  error: string;
}

export interface CreateNetworkRequest {
  name: string;
  kind: NetworkKind;
  subnet?: string;
  dhcpStart?: string;
  dhcpEnd?: string;
  bridge?: string;
  uplink?: string;
  vlanId?: number;
  confirmManagementMove?: boolean;
}

const base = (hostId: string) => `/hosts/${encodeURIComponent(hostId)}`;

export const fetchNetworks = (hostId: string, signal?: AbortSignal) => apiGet<NetworkDto[]>(`${base(hostId)}/networks`, { signal });
export const createNetwork = (hostId: string, req: CreateNetworkRequest) => apiPost<NetworkDto>(`${base(hostId)}/networks`, req);
export const deleteNetwork = (hostId: string, name: string) => apiDelete<void>(`${base(hostId)}/networks/${encodeURIComponent(name)}`);
/** Networks of every given host, each list tagged with its host (hosts that fail are skipped). */
export async function fetchAllNetworks(hostIds: string[], signal?: AbortSignal): Promise<NetworkDto[]> {
  const lists = await Promise.all(hostIds.map((h) => fetchNetworks(h, signal).catch(() => [] as NetworkDto[])));
  return lists.flat();
}

/** Per-host outcome of a cluster network. */
export interface ClusterNetworkHostDto {
  hostId: string;
  hostName: string;
  state: 'applied' | 'failed' | 'pending';
  reason: string;
  /** Failed because the uplink carries this host's management address: applyClusterNetworkOnHost with the confirmation. */
  needsConfirmation: boolean;
  updatedAt: string;
}

/** A network defined once for a cluster and applied to every host in it. */
export interface ClusterNetworkDto {
  clusterId: string;
  name: string;
  kind: NetworkKind;
  subnet: string;
  dhcpStart: string;
  dhcpEnd: string;
  bridge: string;
  uplink: string;
  vlanId: number;
  createdAt: string;
  hosts: ClusterNetworkHostDto[];
}

const cbase = (clusterId: string) => `/clusters/${encodeURIComponent(clusterId)}/networks`;

export const fetchClusterNetworks = (clusterId: string, signal?: AbortSignal) => apiGet<ClusterNetworkDto[]>(cbase(clusterId), { signal });
/** Defines the network for the whole cluster; per-host failures come back in `hosts`, not as an error. */
export const createClusterNetwork = (clusterId: string, req: CreateNetworkRequest) => apiPost<ClusterNetworkDto>(cbase(clusterId), req);
export const applyClusterNetwork = (clusterId: string, name: string) => apiPost<ClusterNetworkDto>(`${cbase(clusterId)}/${encodeURIComponent(name)}/apply`);
/** Applies on one host; with confirmManagementMove that host's management address moves to the bridge. */
export const applyClusterNetworkOnHost = (clusterId: string, name: string, hostId: string, req: { confirmManagementMove?: boolean }) =>
  apiPost<ClusterNetworkDto>(`${cbase(clusterId)}/${encodeURIComponent(name)}/hosts/${encodeURIComponent(hostId)}/apply`, req);
export const deleteClusterNetwork = (clusterId: string, name: string) => apiDelete<void>(`${cbase(clusterId)}/${encodeURIComponent(name)}`);

/** Cluster networks of every given cluster (clusters that fail are skipped). */
export async function fetchAllClusterNetworks(clusterIds: string[], signal?: AbortSignal): Promise<ClusterNetworkDto[]> {
  const lists = await Promise.all(clusterIds.map((c) => fetchClusterNetworks(c, signal).catch(() => [] as ClusterNetworkDto[])));
  return lists.flat();
}
