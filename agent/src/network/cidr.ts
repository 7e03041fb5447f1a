// IPv4 addresses and CIDR blocks as 32-bit integers: parsing, containment and overlap.
// Pure functions; every parse error names the field it came from.
import { invalidArgument } from '../errors.js';

export interface Cidr {
  /** Network address (host bits cleared). */
  network: number;
  prefix: number;
}

const OCTETS = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Parses a dotted-quad IPv4 address; throws INVALID_ARGUMENT naming `field`. */
export function parseIpv4(field: string, text: string): number {
  const m = OCTETS.exec(text ?? '');
  if (!m) throw invalidArgument(field, `"${text}" is not an IPv4 address`);
  const parts = m.slice(1).map(Number);
  if (parts.some((p, i) => p > 255 || (m[i + 1]!.length > 1 && m[i + 1]!.startsWith('0')))) {
    throw invalidArgument(field, `"${text}" is not an IPv4 address`);
  }
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

export function formatIpv4(ip: number): string {
  return [ip >>> 24, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255].join('.');
}

export function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** Parses "a.b.c.d/p". With `strict`, host bits must be zero ("10.0.0.1/24" is refused). */
export function parseCidr(field: string, text: string, strict = true): Cidr {
  const slash = (text ?? '').indexOf('/');
  if (slash < 0) throw invalidArgument(field, `"${text}" is not an IPv4 CIDR such as 10.77.0.0/24`);
  const ip = parseIpv4(field, text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  const prefix = Number(prefixText);
  if (!/^\d{1,2}$/.test(prefixText) || prefix > 32) {
    throw invalidArgument(field, `"${text}" has an invalid prefix length (0–32)`);
  }
  const network = (ip & maskOf(prefix)) >>> 0;
  if (strict && network !== ip) {
    throw invalidArgument(field, `"${text}" has host bits set; did you mean ${formatCidr({ network, prefix })}?`);
  }
  return { network, prefix };
}

export function formatCidr(c: Cidr): string {
  return `${formatIpv4(c.network)}/${c.prefix}`;
}

/** The block that an interface address with `prefix` belongs to. */
export function cidrOf(ip: number, prefix: number): Cidr {
  return { network: (ip & maskOf(prefix)) >>> 0, prefix };
}

export function broadcastOf(c: Cidr): number {
  return (c.network | ~maskOf(c.prefix)) >>> 0;
}

export function contains(c: Cidr, ip: number): boolean {
  return (ip & maskOf(c.prefix)) >>> 0 === c.network;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  const prefix = Math.min(a.prefix, b.prefix);
  return (a.network & maskOf(prefix)) >>> 0 === (b.network & maskOf(prefix)) >>> 0;
}
