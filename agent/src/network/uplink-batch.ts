// The `ip -batch` scripts that put a NIC's addresses and routes onto a new bridge and back.
// Pure: input is what `ip -j` reported, output is one command per line (no shell involved).

/** A route as `ip -j route show dev X` reports it. */
export interface IpRoute {
  dst: string;
  gateway?: string;
  protocol?: string;
  scope?: string;
  prefsrc?: string;
  metric?: number;
  flags?: string[];
  family?: 4 | 6;
}

export interface UplinkState {
  uplink: string;
  bridge: string;
  /** Global addresses "ip/prefix" to move. */
  addresses: string[];
  routes: IpRoute[];
  uplinkUp: boolean;
}

/** Routes the kernel re-creates by itself (from addresses, router adverts) are not carried over. */
export function movableRoutes(routes: IpRoute[]): IpRoute[] {
  return routes.filter((r) => r.protocol !== 'kernel' && r.protocol !== 'ra' && !r.dst.startsWith('fe80:'));
}

function routeLine(verb: 'replace', r: IpRoute, dev: string): string {
  const dst = r.dst === 'default' && r.family === 6 ? '::/0' : r.dst;
  const parts = ['route', verb, dst];
  if (r.gateway) parts.push('via', r.gateway);
  parts.push('dev', dev);
  if (r.protocol) parts.push('proto', r.protocol);
  if (r.scope && r.scope !== 'global' && r.scope !== 'universe') parts.push('scope', r.scope);
  if (r.prefsrc) parts.push('src', r.prefsrc);
  if (r.metric !== undefined) parts.push('metric', String(r.metric));
  if (r.flags?.includes('onlink')) parts.push('onlink');
  return parts.join(' ');
}

/**
 * `ip` arguments creating an empty bridge; with `mac`, the bridge has that MAC from its first moment.
 * Set later, udev's MACAddressPolicy=persistent (99-default.link) can overwrite it: udev reads
 * addr_assign_type when it handles the new link and leaves only a MAC set at creation alone. A
 * bridge over a NIC must keep the NIC's MAC, or its DHCP lease (and the management address) changes.
 */
export function createBridgeArgs(bridge: string, mac = ''): string[] {
  return ['link', 'add', 'name', bridge, ...(mac ? ['address', mac] : []), 'type', 'bridge'];
}

/**
 * Enslaves the NIC to the (just created, empty) bridge and moves addresses then routes. The bridge
 * is created by a separate call first, so a rollback never removes a bridge it did not make.
 */
export function moveToBridgeBatch(s: UplinkState): string[] {
  return [
    `link set dev ${s.bridge} up`,
    `link set dev ${s.uplink} master ${s.bridge}`,
    ...(s.uplinkUp ? [] : [`link set dev ${s.uplink} up`]),
    `address flush dev ${s.uplink} scope global`,
    ...s.addresses.map((a) => `address add ${a} dev ${s.bridge}`),
    ...movableRoutes(s.routes).map((r) => routeLine('replace', r, s.bridge)),
  ];
}

/** Undoes moveToBridgeBatch (also after a partial run): run with `ip -force` so every line is tried. */
export function restoreUplinkBatch(s: UplinkState): string[] {
  return [
    `link set dev ${s.uplink} nomaster`,
    `link del dev ${s.bridge}`,
    ...s.addresses.map((a) => `address replace ${a} dev ${s.uplink}`),
    ...(s.uplinkUp ? [`link set dev ${s.uplink} up`] : [`link set dev ${s.uplink} down`]),
    ...movableRoutes(s.routes).map((r) => routeLine('replace', r, s.uplink)),
  ];
}
