// What the create wizard fills in by itself on a fresh appliance: the only pool there is, and the
// NAT network (the appliance's default "vm-nat", or the only NAT one offered). Pure; unit-tested.
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

/** The network to preselect among `choices`: the sole one, else the default NAT, else the only NAT. */
export function defaultNetwork(
  choices: readonly NetworkChoice[],
  networks: readonly Pick<NetworkDto, 'name' | 'kind'>[],
): string {
  if (choices.length === 1) return choices[0]!.name;
  const nat = new Set(networks.filter((n) => n.kind === 'nat').map((n) => n.name));
  const natChoices = choices.filter((c) => nat.has(c.name));
  if (natChoices.some((c) => c.name === DEFAULT_NAT_NETWORK)) return DEFAULT_NAT_NETWORK;
  return natChoices.length === 1 ? natChoices[0]!.name : '';
}
