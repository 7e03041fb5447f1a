// Host networks (NAT, isolated, bridged over a NIC) and host interfaces.
// Shapes are the server's (server/src/dto/networks.ts, cluster-networks.ts). No Lit imports.
import type { ApplyClusterNetworkHostDto, ClusterNetworkDto } from '@dto/cluster-networks.js';
import type { CreateNetworkDto, HostInterfaceDto, NetworkDto } from '@dto/networks.js';
import { apiGet, apiPost, apiDelete } from './client.js';

const base = (hostId: string) => `/hosts/${encodeURIComponent(hostId)}`;

export const fetchNetworks = (hostId: string, signal?: AbortSignal) =>
  apiGet<NetworkDto[]>(`${base(hostId)}/networks`, { signal });
export const fetchNetwork = (hostId: string, name: string, signal?: AbortSignal) =>
  apiGet<NetworkDto>(`${base(hostId)}/networks/${encodeURIComponent(name)}`, { signal });
/** The host's NICs (uplink choices of a bridged network). */
export const fetchHostInterfaces = (hostId: string, signal?: AbortSignal) =>
  apiGet<HostInterfaceDto[]>(`${base(hostId)}/interfaces`, { signal });
export const createNetwork = (hostId: string, req: CreateNetworkDto) =>
  apiPost<NetworkDto>(`${base(hostId)}/networks`, req);
export const deleteNetwork = (hostId: string, name: string) =>
  apiDelete<void>(`${base(hostId)}/networks/${encodeURIComponent(name)}`);
/** Networks of every given host, each list tagged with its host (hosts that fail are skipped). */
export async function fetchAllNetworks(hostIds: string[], signal?: AbortSignal): Promise<NetworkDto[]> {
  const lists = await Promise.all(hostIds.map((h) => fetchNetworks(h, signal).catch(() => [] as NetworkDto[])));
  return lists.flat();
}

const cbase = (clusterId: string) => `/clusters/${encodeURIComponent(clusterId)}/networks`;

export const fetchClusterNetworks = (clusterId: string, signal?: AbortSignal) =>
  apiGet<ClusterNetworkDto[]>(cbase(clusterId), { signal });
export const fetchClusterNetwork = (clusterId: string, name: string, signal?: AbortSignal) =>
  apiGet<ClusterNetworkDto>(`${cbase(clusterId)}/${encodeURIComponent(name)}`, { signal });
/** Defines the network for the whole cluster; per-host failures come back in `hosts`, not as an error. */
export const createClusterNetwork = (clusterId: string, req: CreateNetworkDto) =>
  apiPost<ClusterNetworkDto>(cbase(clusterId), req);
export const applyClusterNetwork = (clusterId: string, name: string) =>
  apiPost<ClusterNetworkDto>(`${cbase(clusterId)}/${encodeURIComponent(name)}/apply`);
/** Applies on one host; with confirmManagementMove that host's management address moves to the bridge. */
export const applyClusterNetworkOnHost = (
  clusterId: string,
  name: string,
  hostId: string,
  req: ApplyClusterNetworkHostDto,
) =>
  apiPost<ClusterNetworkDto>(
    `${cbase(clusterId)}/${encodeURIComponent(name)}/hosts/${encodeURIComponent(hostId)}/apply`,
    req,
  );
export const deleteClusterNetwork = (clusterId: string, name: string) =>
  apiDelete<void>(`${cbase(clusterId)}/${encodeURIComponent(name)}`);

/** Cluster networks of every given cluster (clusters that fail are skipped). */
export async function fetchAllClusterNetworks(
  clusterIds: string[],
  signal?: AbortSignal,
): Promise<ClusterNetworkDto[]> {
  const lists = await Promise.all(
    clusterIds.map((c) => fetchClusterNetworks(c, signal).catch(() => [] as ClusterNetworkDto[])),
  );
  return lists.flat();
}
