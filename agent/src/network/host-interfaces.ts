// The host's network interfaces from `ip -j -d addr` and its default routes from `ip -j route`:
// kind (physical/bridge/veth/virtual), addresses, bridge membership, and which NIC is management.
import type { HostInterface } from '@quantix/proto/v1/network.js';
import { run } from '../exec/run.js';

/** The subset of one `ip -j -d addr` entry the agent reads. */
export interface IpAddrEntry {
  ifname: string;
  address?: string;
  flags?: string[];
  link_type?: string;
  master?: string;
  parentbus?: string;
  linkinfo?: { info_kind?: string };
  addr_info?: { family: string; local: string; prefixlen: number; scope?: string }[];
}

export interface HostInterfaceState extends HostInterface {
  /** Bridge this interface is a port of, or "". */
  master: string;
  /** Global-scope addresses only, "ip/prefix" (what a bridge over this NIC must carry). */
  globalAddresses: string[];
}

/** Pure: combines `ip -j -d addr` with the devices that carry a default route. */
export function parseHostInterfaces(
  entries: IpAddrEntry[],
  defaultRouteDevs: ReadonlySet<string>,
): HostInterfaceState[] {
  return entries
    .filter((e) => e.link_type !== 'loopback')
    .map((e) => {
      const addrs = e.addr_info ?? [];
      const infoKind = e.linkinfo?.info_kind ?? '';
      const kind = infoKind === 'bridge' || infoKind === 'veth' ? infoKind : e.parentbus ? 'physical' : 'virtual';
      return {
        name: e.ifname,
        mac: (e.address ?? '').toLowerCase(),
        addresses: addrs.map((a) => `${a.local}/${a.prefixlen}`),
        globalAddresses: addrs.filter((a) => a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}`),
        up: (e.flags ?? []).includes('UP'),
        kind,
        management: defaultRouteDevs.has(e.ifname),
        master: e.master ?? '',
      };
    });
}

/** Reads every interface of the host (one `ip` call for links+addresses, two for default routes). */
export async function readHostInterfaces(): Promise<HostInterfaceState[]> {
  const [addr, v4, v6] = await Promise.all([
    run('ip', ['-j', '-d', 'addr', 'show']),
    run('ip', ['-j', '-4', 'route', 'show', 'default']),
    run('ip', ['-j', '-6', 'route', 'show', 'default']),
  ]);
  const devs = new Set<string>();
  for (const out of [v4.stdout, v6.stdout]) {
    for (const r of JSON.parse(out || '[]') as { dev?: string }[]) if (r.dev) devs.add(r.dev);
  }
  return parseHostInterfaces(JSON.parse(addr.stdout || '[]') as IpAddrEntry[], devs);
}

/** Public shape for ListHostInterfaces. */
export function toHostInterface(s: HostInterfaceState): HostInterface {
  return { name: s.name, mac: s.mac, addresses: s.addresses, up: s.up, kind: s.kind, management: s.management };
}
