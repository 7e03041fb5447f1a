// Cluster networks: a network defined once per cluster (like a simplified vSphere port group) and
// applied to every host in it, with the outcome per host (applied, or failed with the reason).
import { arr, bool, named, obj, oneOf, opt, str, int } from '../schema/schema.js';
import type { Infer } from '../schema/schema.js';
import type { Operation } from './operation.js';
import { CreateNetworkDto } from './networks.js';
import { CLUSTER_NETWORK_HOST_STATES, NETWORK_KINDS } from './enums.js';
import { timestamp } from './common.js';

export const ClusterNetworkHostDto = named(
  'ClusterNetworkHostDto',
  obj({
    hostId: str(),
    hostName: str(),
    state: oneOf(CLUSTER_NETWORK_HOST_STATES),
    reason: str({ description: 'why it failed (the agent\'s sentence), or "" when applied' }),
    needsConfirmation: bool({
      description:
        "failed because the uplink carries this host's management address: apply it on this host with confirmManagementMove",
    }),
    updatedAt: timestamp(),
  }),
);
export type ClusterNetworkHostDto = Infer<typeof ClusterNetworkHostDto>;

export const ApplyClusterNetworkHostDto = named(
  'ApplyClusterNetworkHostDto',
  obj({
    confirmManagementMove: opt(
      bool({ description: "move this host's management address to the bridge (for this host, this time only)" }),
    ),
  }),
);
export type ApplyClusterNetworkHostDto = Infer<typeof ApplyClusterNetworkHostDto>;

export const ClusterNetworkDto = named(
  'ClusterNetworkDto',
  obj({
    clusterId: str(),
    name: str(),
    kind: oneOf(NETWORK_KINDS),
    subnet: str(),
    dhcpStart: str(),
    dhcpEnd: str(),
    bridge: str(),
    uplink: str(),
    vlanId: int(),
    createdAt: timestamp(),
    hosts: arr(ClusterNetworkHostDto, { description: 'one entry per host of the cluster' }),
  }),
);
export type ClusterNetworkDto = Infer<typeof ClusterNetworkDto>;

const base = '/api/v1/clusters/:id/networks';
export const clusterNetworkOperations = [
  {
    id: 'listClusterNetworks',
    method: 'GET',
    path: base,
    tag: 'clusters',
    role: 'viewer',
    status: 200,
    response: arr(ClusterNetworkDto),
    summary: 'Networks of a cluster with their per-host status',
  },
  {
    id: 'createClusterNetwork',
    method: 'POST',
    path: base,
    tag: 'clusters',
    role: 'admin',
    body: CreateNetworkDto,
    status: 201,
    response: ClusterNetworkDto,
    summary:
      'Define a network for the whole cluster (same body as a host network) and apply it to every host (failures are reported per host, not as an error)',
  },
  {
    id: 'getClusterNetwork',
    method: 'GET',
    path: `${base}/:name`,
    tag: 'clusters',
    role: 'viewer',
    status: 200,
    response: ClusterNetworkDto,
    summary: 'One cluster network',
  },
  {
    id: 'applyClusterNetwork',
    method: 'POST',
    path: `${base}/:name/apply`,
    tag: 'clusters',
    role: 'admin',
    status: 200,
    response: ClusterNetworkDto,
    summary:
      'Apply again to every host where it is not applied (after fixing the reason); never moves a management address',
  },
  {
    id: 'applyClusterNetworkHost',
    method: 'POST',
    path: `${base}/:name/hosts/:hostId/apply`,
    tag: 'clusters',
    role: 'admin',
    body: ApplyClusterNetworkHostDto,
    status: 200,
    response: ClusterNetworkDto,
    summary:
      "Apply on one member host; with confirmManagementMove the host's management address moves to the bridge (the confirmation given at creation covers only the hosts of that moment)",
  },
  {
    id: 'deleteClusterNetwork',
    method: 'DELETE',
    path: `${base}/:name`,
    tag: 'clusters',
    role: 'admin',
    status: 204,
    summary: 'Remove from every host, then forget it (409 naming the hosts that refused, e.g. VMs still use it)',
  },
] as const satisfies readonly Operation[];
