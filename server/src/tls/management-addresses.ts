// The host's management addresses (the names the HTTPS certificate carries): every IPv4 address
// except those on VM network bridges. A VM network bridge is libvirt's own (virbr*, as the console
// status screen skips) or a bridge with no port but VM taps (the NAT/isolated/cluster networks'
// qx-… bridges); a bridged network's bridge has the host's NIC as a port and keeps its address.
// The primary one (other machines reach this one at it) is on the interface of the default route.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';

const VM_LINK = /^(virbr|vnet|docker)/;

/** Sorted, deduplicated IPv4 addresses outside VM network bridges. */
export function managementAddresses(interfaces = networkInterfaces(), sysNet = '/sys/class/net'): string[] {
  const out = new Set<string>();
  for (const [name, addrs] of Object.entries(interfaces)) {
    if (isVmNetworkBridge(name, sysNet)) continue;
    for (const a of addrs ?? []) if (a.family === 'IPv4') out.add(a.address);
  }
  return [...out].sort();
}

/** True for a libvirt-named link, or a bridge whose ports (if any) are all tap devices. */
export function isVmNetworkBridge(name: string, sysNet = '/sys/class/net'): boolean {
  if (VM_LINK.test(name)) return true;
  if (!existsSync(join(sysNet, name, 'bridge'))) return false;
  let ports: string[];
  try {
    ports = readdirSync(join(sysNet, name, 'brif'));
  } catch {
    return false;
  }
  return ports.every((port) => existsSync(join(sysNet, port, 'tun_flags')));
}

/**
 * The address other machines reach this one at: of its management addresses other than loopback,
 * one on the interface holding the default route (`preferred`), else the first.
 */
export function primaryManagementAddress(
  addresses = managementAddresses(),
  preferred = defaultRouteAddresses(),
): string | undefined {
  const candidates = addresses.filter((a) => !a.startsWith('127.'));
  return candidates.find((a) => preferred.includes(a)) ?? candidates[0];
}

/** The IPv4 addresses of the interface holding the default route (none without one). */
export function defaultRouteAddresses(interfaces = networkInterfaces(), routes = readRoutes()): string[] {
  const iface = defaultRouteInterface(routes);
  return iface ? (interfaces[iface] ?? []).filter((a) => a.family === 'IPv4').map((a) => a.address) : [];
}

// Flags of /proc/net/route (include/uapi/linux/route.h): the route is up.
const RTF_UP = 0x1;

/**
 * The interface of the IPv4 default route in /proc/net/route's text (destination and mask 0, up;
 * the lowest metric of several); undefined without one. Fields are hex, in host byte order.
 */
export function defaultRouteInterface(routes: string): string | undefined {
  let best: { iface: string; metric: number } | undefined;
  for (const line of routes.split('\n').slice(1)) {
    const [iface, destination, , flags, , , metric, mask] = line.trim().split(/\s+/);
    if (!iface || destination !== '00000000' || mask !== '00000000') continue;
    if (!(parseInt(flags ?? '0', 16) & RTF_UP)) continue;
    const m = Number(metric);
    if (!best || m < best.metric) best = { iface, metric: m };
  }
  return best?.iface;
}

function readRoutes(file = '/proc/net/route'): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
