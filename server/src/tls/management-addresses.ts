// The host's management addresses (the names the HTTPS certificate carries): every IPv4 address
// except those on VM network bridges. A VM network bridge is libvirt's own (virbr*, as the console
// status screen skips) or a bridge with no port but VM taps (the NAT/isolated/cluster networks'
// qx-… bridges); a bridged network's bridge has the host's NIC as a port and keeps its address.
import { existsSync, readdirSync } from 'node:fs';
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

/** The address other machines reach this one at: its first management address other than loopback. */
export function firstManagementAddress(addresses = managementAddresses()): string | undefined {
  return addresses.find((a) => !a.startsWith('127.'));
}
