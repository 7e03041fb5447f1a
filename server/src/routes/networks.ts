// Routes: host networks and interfaces.
import type { CreateNetworkDto } from '../dto/networks.js';
import type { Services } from '../compose.js';
import type { Handlers } from './handler.js';

export function networkHandlers(s: Services): Handlers {
  return {
    listNetworks: ({ params }) => s.networks.list(params.hostId!),
    createNetwork: ({ params, body }) => s.networks.create(params.hostId!, body as CreateNetworkDto),
    getNetwork: ({ params }) => s.networks.get(params.hostId!, params.name!),
    deleteNetwork: ({ params }) => s.networks.delete(params.hostId!, params.name!),
    listHostInterfaces: ({ params }) => s.networks.interfaces(params.hostId!),
  };
}
