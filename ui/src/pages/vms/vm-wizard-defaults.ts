// What the create wizard fills in by itself on a fresh appliance: the only pool there is, and the
// appliance's default NAT network "vm-nat". Pure; unit-tested.
import type { NetworkDto } from '@dto/networks.js';
import type { PoolDto } from '@dto/storage.js';
import type { NetworkChoice } from './vm-network-choices.js';

/** The name of the NAT network the local agent makes on first start (agent network-startup.ts). */
export const DEFAULT_NAT_NETWORK = 'vm-nat';

/** The pool to preselect: the one name when every pool shares it (one per host counts as one). */
export function defaultPool(pools: readonly Pick<PoolDto, 'name' | 'state'>[]): string {
  const names = new Set(pools.filter((p) => p.state === 'active').map((p) => p.name));
  return names.size === 1 ? [...names][0]! : '';
}

/**
 * The network to preselect among `choices`: the appliance's default NAT network when it is offered
 * and active. Never another one: a network the operator made is theirs to choose.
 */
export function defaultNetwork(
  choices: readonly NetworkChoice[],
  networks: readonly Pick<NetworkDto, 'name' | 'kind' | 'active'>[],
): string {
  const nat = networks.find((n) => n.name === DEFAULT_NAT_NETWORK && n.kind === 'nat' && n.active);
  return nat && choices.some((c) => c.name === DEFAULT_NAT_NETWORK) ? DEFAULT_NAT_NETWORK : '';
}
