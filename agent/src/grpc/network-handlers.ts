// NetworkService: host networks (NAT, isolated, bridged) and host interfaces; logic in network/.
import type { NetworkServiceServer } from '@quantix/proto/v1/network.js';
import type { AgentContext } from '../context.js';
import { createNetwork, deleteNetwork, getNetwork, listNetworks } from '../network/host-networks.js';
import { readHostInterfaces, toHostInterface } from '../network/host-interfaces.js';
import { unary } from './unary.js';

export function networkHandlers(ctx: AgentContext): NetworkServiceServer {
  return {
    createNetwork: unary((spec) => createNetwork(ctx, spec)),
    listNetworks: unary(async () => ({ networks: await listNetworks(ctx) })),
    getNetwork: unary((ref) => getNetwork(ctx, ref.name)),
    deleteNetwork: unary(async (ref) => {
      await deleteNetwork(ctx, ref.name);
      return {};
    }),
    listHostInterfaces: unary(async () => ({ interfaces: (await readHostInterfaces()).map(toHostInterface) })),
  };
}
