// The runtime systemd-networkd .network files for a bridge the agent made over a NIC, and the parsers
// of networkd's own state that decide their contents. Pure: networkd-runtime.ts reads and writes.
// https://www.freedesktop.org/software/systemd/man/systemd.network.html
import type { IpRoute } from './uplink-batch.js';

/** How the host addresses the bridge once it took over the NIC's addresses. */
export interface BridgeAddressing {
  /** networkd's `DHCP=` value the NIC had ("yes", "ipv4", …), or "" for none. */
  dhcp: string;
  /** The DHCPv4 client identity the NIC's lease was taken with, so the bridge renews the same lease. */
  clientId?: DhcpClientId;
  /** Permanent (not DHCP/SLAAC) global addresses, "ip/prefix". */
  addresses: string[];
  /** Gateways of permanent default routes. */
  gateways: string[];
}

/** networkd's `ClientIdentifier=mac`, or `=duid` with the NIC's IAID (the DUID is per machine). */
export type DhcpClientId = { type: 'mac' } | { type: 'duid'; iaid: number };

/** A VLAN bridge carries no host address. */
export const NO_ADDRESSING: BridgeAddressing = { dhcp: '', addresses: [], gateways: [] };

/**
 * Names that sort before the appliance's own files (10-static-<nic>.network, 20-wired.network):
 * networkd applies the first file in lexical order that matches a link.
 */
export function networkdFileNames(bridge: string, port: string): { bridge: string; port: string } {
  return { bridge: `05-quantix-bridge-${bridge}.network`, port: `05-quantix-port-${port}.network` };
}

const IFNAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$/;
function checked(name: string): string {
  // A Name= value is a glob list: a name with "*", "?", "[" or a space would match other links.
  if (!IFNAME.test(name)) throw new Error(`networkd file: "${name}" is not an interface name`);
  return name;
}

/**
 * The port: networkd keeps managing the link (so it stops the DHCP client the catch-all file started
 * on it) but configures nothing and leaves its master alone. `Bridge=` is no option: it takes only
 * a bridge networkd made from a .netdev, and networkd frees a port whose file names no master.
 */
export function portNetworkFile(port: string, bridge: string): string {
  return [
    `# Written by the Quantix agent: ${checked(port)} is a port of bridge ${checked(bridge)} (a bridged network).`,
    '# Removed with the network; /run is empty after a reboot, until the agent restores the bridge.',
    '[Match]',
    `Name=${port}`,
    '',
    '[Link]',
    'RequiredForOnline=no',
    '',
    '[Network]',
    'KeepMaster=yes',
    'DHCP=no',
    'LinkLocalAddressing=no',
    'IPv6AcceptRA=no',
    '',
  ].join('\n');
}

/** The bridge: what the NIC had — DHCP with the same client identity, or its permanent addresses. */
export function bridgeNetworkFile(bridge: string, uplink: string, a: BridgeAddressing): string {
  const addressed = a.dhcp !== '' || a.addresses.length > 0;
  const lines = [
    `# Written by the Quantix agent: bridge ${checked(bridge)} of a bridged network over ${checked(uplink)},`,
    `# carrying what ${uplink} had. Removed with the network.`,
    '[Match]',
    `Name=${bridge}`,
    '',
    '[Network]',
    ...(a.dhcp ? [`DHCP=${a.dhcp}`] : []),
    ...a.addresses.map((x) => `Address=${x}`),
    ...a.gateways.map((g) => `Gateway=${g}`),
    ...(addressed ? ['LinkLocalAddressing=ipv6'] : ['LinkLocalAddressing=no', 'IPv6AcceptRA=no']),
    '',
  ];
  if (a.dhcp && a.clientId) {
    lines.push('[DHCPv4]');
    if (a.clientId.type === 'mac') lines.push('ClientIdentifier=mac');
    else lines.push('ClientIdentifier=duid', `IAID=${a.clientId.iaid}`);
    lines.push('');
  }
  return lines.join('\n');
}

/** KEY=VALUE lines of a networkd state file (/run/systemd/netif/links/<ifindex>, leases/<ifindex>). */
export function parseNetworkdState(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const at = line.indexOf('=');
    if (at > 0 && !line.startsWith('#')) m.set(line.slice(0, at).trim(), line.slice(at + 1).trim());
  }
  return m;
}

/** The `DHCP=` value of a .network file's [Network] section ("" when absent or off). */
export function networkFileDhcp(text: string): string {
  let section = '';
  let value = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('[')) section = line;
    else if (section === '[Network]') {
      const m = /^DHCP\s*=\s*(\S*)$/i.exec(line);
      if (m) value = m[1]!.toLowerCase(); // the last assignment wins, as in networkd
    }
  }
  return ['', 'no', 'false', 'off', '0'].includes(value) ? '' : value;
}

/** The client identifier of a networkd lease file: type 1 (MAC) or 255 (IAID + DUID, RFC 4361). */
export function parseLeaseClientId(leaseText: string): DhcpClientId | undefined {
  const hex = (parseNetworkdState(leaseText).get('CLIENTID') ?? '').toLowerCase();
  if (/^01[0-9a-f]{12}$/.test(hex)) return { type: 'mac' };
  if (/^ff[0-9a-f]{8}[0-9a-f]{4,}$/.test(hex)) return { type: 'duid', iaid: Number.parseInt(hex.slice(2, 10), 16) };
  return undefined;
}

/** One `ip -j addr` address entry (the fields read here). */
export interface IpAddrInfo {
  local: string;
  prefixlen: number;
  scope?: string;
  dynamic?: boolean;
  valid_life_time?: number;
}

const FOREVER = 4294967295;

/** What the bridge must carry, from the NIC's addresses and routes and networkd's DHCP setting for it. */
export function uplinkAddressing(input: {
  addrInfo: IpAddrInfo[];
  routes: IpRoute[];
  dhcp: string;
  clientId?: DhcpClientId;
}): BridgeAddressing {
  const permanent = input.addrInfo.filter(
    (a) => a.scope === 'global' && !a.dynamic && (a.valid_life_time ?? FOREVER) === FOREVER,
  );
  const gateways = input.routes
    .filter((r) => r.dst === 'default' && r.gateway && !['dhcp', 'ra', 'kernel'].includes(r.protocol ?? ''))
    .map((r) => r.gateway!);
  return {
    dhcp: input.dhcp,
    ...(input.dhcp && input.clientId ? { clientId: input.clientId } : {}),
    addresses: permanent.map((a) => `${a.local}/${a.prefixlen}`),
    gateways: [...new Set(gateways)],
  };
}
