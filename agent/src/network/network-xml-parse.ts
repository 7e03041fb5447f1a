// Parses `virsh net-dumpxml` into the fields the agent reports and checks against. Pure.
// Networks the agent did not make (e.g. libvirt's "default") are read from forward mode and <ip>.
import { XMLParser } from 'fast-xml-parser';
import { cidrOf, formatCidr, parseIpv4, type Cidr } from './cidr.js';

export interface ParsedNetwork {
  name: string;
  /** "nat" | "isolated" | "bridged", or libvirt's own forward mode ("route", "open", …). */
  kind: string;
  bridge: string;
  /** IPv4 block of the first <ip> element, when there is one. */
  subnet?: Cidr;
  subnetText: string;
  dhcpStart: string;
  dhcpEnd: string;
  uplink: string;
  vlanId: number;
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  processEntities: true,
  isArray: (name) => name === 'ip' || name === 'range',
});

type Node = Record<string, unknown>;
const str = (v: unknown): string => (v === undefined || v === null ? '' : String(v));

export function parseNetworkXml(xml: string): ParsedNetwork {
  const net = ((parser.parse(xml) as Node).network ?? {}) as Node;
  const meta = ((net.metadata as Node | undefined)?.network ?? {}) as Node;
  const forward = str((net.forward as Node | undefined)?.['@_mode']);
  const kind = str(meta.kind) || (forward === '' ? 'isolated' : forward);
  const ipv4 = ((net.ip ?? []) as Node[]).find((ip) => str(ip['@_family']) !== 'ipv6' && ip['@_address']);
  let subnet: Cidr | undefined;
  let dhcpStart = '';
  let dhcpEnd = '';
  if (ipv4) {
    const address = parseIpv4('ip.address', str(ipv4['@_address']));
    const prefix = ipv4['@_prefix'] !== undefined ? Number(ipv4['@_prefix']) : prefixOfNetmask(str(ipv4['@_netmask']));
    subnet = cidrOf(address, prefix);
    const range = ((ipv4.dhcp as Node | undefined)?.range as Node[] | undefined)?.[0];
    dhcpStart = str(range?.['@_start']);
    dhcpEnd = str(range?.['@_end']);
  }
  return {
    name: str(net.name),
    kind,
    bridge: str((net.bridge as Node | undefined)?.['@_name']),
    subnet,
    subnetText: subnet ? formatCidr(subnet) : '',
    dhcpStart,
    dhcpEnd,
    uplink: str(meta.uplink),
    vlanId: Number(meta.vlan ?? 0) || 0,
  };
}

function prefixOfNetmask(mask: string): number {
  if (!mask) return 24;
  const bits = parseIpv4('ip.netmask', mask);
  return bits.toString(2).replace(/0+$/, '').length;
}
