// Routes: cluster networks (defined once, applied to every host of the cluster).
import type { ApplyClusterNetworkHostDto } from '../dto/cluster-networks.js';
import type { CreateNetworkDto } from '../dto/networks.js';
import type { Services } from '../compose.js';
import type { Handlers } from './handler.js';

export function clusterNetworkHandlers(s: Services): Handlers {
  return {
    listClusterNetworks: ({ params }) => s.clusterNetworks.list(params.id!),
    createClusterNetwork: ({ params, body }) => s.clusterNetworks.create(params.id!, body as CreateNetworkDto),
    getClusterNetwork: ({ params }) => s.clusterNetworks.get(params.id!, params.name!),
    applyClusterNetwork: ({ params }) => s.clusterNetworks.apply(params.id!, params.name!),
    applyClusterNetworkHost: ({ params, body }) =>
      s.clusterNetworks.applyOnHost(params.id!, params.name!, params.hostId!, body as ApplyClusterNetworkHostDto),
    deleteClusterNetwork: ({ params }) => s.clusterNetworks.delete(params.id!, params.name!),
  };
}
