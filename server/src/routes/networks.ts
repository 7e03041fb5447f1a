// Routes: host networks and interfaces.
import type { Services } from '../compose.js';
import type { HandlersOf } from './handler.js';
import type { networkOperations } from '../dto/networks.js';

export function networkHandlers(s: Services): HandlersOf<typeof networkOperations> {
  return {
    listNetworks: ({ params }) => s.networks.list(params.hostId),
    createNetwork: ({ params, body }) => s.networks.create(params.hostId, body),
    getNetwork: ({ params }) => s.networks.get(params.hostId, params.name),
    deleteNetwork: ({ params }) => s.networks.delete(params.hostId, params.name),
    listHostInterfaces: ({ params }) => s.networks.interfaces(params.hostId),
  };
}
