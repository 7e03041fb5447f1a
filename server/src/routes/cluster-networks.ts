// Routes: cluster networks (defined once, applied to every host of the cluster).
import type { Services } from '../compose.js';
import type { HandlersOf } from './handler.js';
import type { clusterNetworkOperations } from '../dto/cluster-networks.js';

export function clusterNetworkHandlers(s: Services): HandlersOf<typeof clusterNetworkOperations> {
  return {
    listClusterNetworks: ({ params }) => s.clusterNetworks.list(params.id),
    createClusterNetwork: ({ params, body }) => s.clusterNetworks.create(params.id, body),
    getClusterNetwork: ({ params }) => s.clusterNetworks.get(params.id, params.name),
    applyClusterNetwork: ({ params }) => s.clusterNetworks.apply(params.id, params.name),
    applyClusterNetworkHost: ({ params, body }) =>
      s.clusterNetworks.applyOnHost(params.id, params.name, params.hostId, body),
    deleteClusterNetwork: ({ params }) => s.clusterNetworks.delete(params.id, params.name),
  };
}
