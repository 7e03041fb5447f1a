// Validates a NetworkSpec into a NetworkPlan: everything needed to build the libvirt XML and,
// for bridged networks, the Linux bridge. Pure: checks against the host (overlaps, NICs) live in
// network-checks.ts.
import type { NetworkSpec } from '@quantix/proto/v1/network.js';
import { networkKindNames } from '../enum-names.js';
import { invalidArgument } from '../errors.js';
import { validateName } from '../validate/name.js';
import { broadcastOf, contains, formatCidr, formatIpv4, parseCidr, parseIpv4, type Cidr } from './cidr.js';
import { deriveBridgeName, validateInterfaceName } from './interface-name.js';

export type NetworkPlanKind = 'nat' | 'isolated' | 'bridged';

export interface RoutedPlan {
  kind: 'nat' | 'isolated';
  name: string;
  bridge: string;
  subnet: Cidr;
  /** The host's address on the bridge: the first address of the subnet. */
  hostAddress: string;
  dhcpStart: string;
  dhcpEnd: string;
}

export interface BridgedPlan {
  kind: 'bridged';
  name: string;
  bridge: string;
  uplink: string;
  /** 0 = untagged. */
  vlanId: number;
  confirmManagementMove: boolean;
}

export type NetworkPlan = RoutedPlan | BridgedPlan;

/** Checks every field of `spec` (field names as in the proto, prefixed "spec."). */
export function planNetwork(spec: NetworkSpec): NetworkPlan {
  const name = validateName('spec.name', spec.name);
  const kind = networkKindNames.name(spec.kind);
  if (!kind) throw invalidArgument('spec.kind', 'must be NAT, ISOLATED or BRIDGED');
  const bridge = spec.bridge ? validateInterfaceName('spec.bridge', spec.bridge) : deriveBridgeName(name);
  if (kind === 'bridged') return planBridged(spec, name, bridge);
  if (spec.uplink) throw invalidArgument('spec.uplink', `only applies to bridged networks, not ${kind}`);
  if (spec.vlanId) throw invalidArgument('spec.vlan_id', `only applies to bridged networks, not ${kind}`);
  return planRouted(spec, kind, name, bridge);
}

function planBridged(spec: NetworkSpec, name: string, bridge: string): BridgedPlan {
  for (const [field, value] of [
    ['spec.subnet', spec.subnet],
    ['spec.dhcp_start', spec.dhcpStart],
    ['spec.dhcp_end', spec.dhcpEnd],
  ] as const) {
    if (value) throw invalidArgument(field, 'does not apply to bridged networks (addresses come from the uplink LAN)');
  }
  const uplink = validateInterfaceName('spec.uplink', spec.uplink);
  if (uplink === bridge) throw invalidArgument('spec.bridge', `must differ from the uplink "${uplink}"`);
  const vlanId = spec.vlanId ?? 0;
  if (!Number.isInteger(vlanId) || vlanId < 0 || vlanId > 4094) {
    throw invalidArgument('spec.vlan_id', `${vlanId} is out of range (1–4094, 0 = untagged)`);
  }
  return { kind: 'bridged', name, bridge, uplink, vlanId, confirmManagementMove: spec.confirmManagementMove };
}

function planRouted(spec: NetworkSpec, kind: 'nat' | 'isolated', name: string, bridge: string): RoutedPlan {
  if (!spec.subnet) throw invalidArgument('spec.subnet', `is required for ${kind} networks, e.g. 10.77.0.0/24`);
  const subnet = parseCidr('spec.subnet', spec.subnet);
  if (subnet.prefix < 8 || subnet.prefix > 29) {
    throw invalidArgument('spec.subnet', `${formatCidr(subnet)}: prefix length must be between /8 and /29`);
  }
  const host = subnet.network + 1;
  const last = broadcastOf(subnet) - 1;
  if (Boolean(spec.dhcpStart) !== Boolean(spec.dhcpEnd)) {
    const missing = spec.dhcpStart ? 'spec.dhcp_end' : 'spec.dhcp_start';
    throw invalidArgument(missing, 'is required when the other end of the DHCP range is given');
  }
  const start = spec.dhcpStart ? parseIpv4('spec.dhcp_start', spec.dhcpStart) : host + 1;
  const end = spec.dhcpEnd ? parseIpv4('spec.dhcp_end', spec.dhcpEnd) : last;
  for (const [field, ip] of [
    ['spec.dhcp_start', start],
    ['spec.dhcp_end', end],
  ] as const) {
    if (!contains(subnet, ip) || ip <= host || ip > last) {
      throw invalidArgument(
        field,
        `${formatIpv4(ip)} is outside the usable DHCP addresses of ${formatCidr(subnet)} ` +
          `(${formatIpv4(host + 1)}–${formatIpv4(last)}; ${formatIpv4(host)} is the host's)`,
      );
    }
  }
  if (start > end) {
    throw invalidArgument('spec.dhcp_end', `${formatIpv4(end)} comes before dhcp_start ${formatIpv4(start)}`);
  }
  return {
    kind,
    name,
    bridge,
    subnet,
    hostAddress: formatIpv4(host),
    dhcpStart: formatIpv4(start),
    dhcpEnd: formatIpv4(end),
  };
}
