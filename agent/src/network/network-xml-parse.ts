// Parses `virsh net-dumpxml` into the fields the agent reports and checks against. Pure.
// Networks the agent did not make (e.g. libvirt's "default") are read from forward mode and <ip>.
import { xmlReader } from '../libvirt/xml/parser.js';
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

const read = xmlReader(['ip', 'range']);

type Node = Record<string, unknown>;
const str = (v: unknown): string => (v === undefined || v === null ? '' : String(v));

export function parseNetworkXml(xml: string): ParsedNetwork {
  const net = ((read(xml) as Node).network ?? {}) as Node;
  const meta = ((net.metadata as Node | undefined)?.network ?? {}) as Node;
  const forward = str((net.forward as Node | undefined)?.['@mode']);
  const kind = str(meta.kind) || (forward === '' ? 'isolated' : forward);
  const ipv4 = ((net.ip ?? []) as Node[]).find((ip) => str(ip['@family']) !== 'ipv6' && ip['@address']);
  let subnet: Cidr | undefined;
  let dhcpStart = '';
  let dhcpEnd = '';
  if (ipv4) {
    const address = parseIpv4('ip.address', str(ipv4['@address']));
    const prefix = ipv4['@prefix'] !== undefined ? Number(ipv4['@prefix']) : prefixOfNetmask(str(ipv4['@netmask']));
    subnet = cidrOf(address, prefix);
    const range = ((ipv4.dhcp as Node | undefined)?.range as Node[] | undefined)?.[0];
    dhcpStart = str(range?.['@start']);
    dhcpEnd = str(range?.['@end']);
  }
  return {
    name: str(net.name),
    kind,
    bridge: str((net.bridge as Node | undefined)?.['@name']),
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
