// Parses `virsh -q net-dhcp-leases <net>` (a fixed-column table, no machine format exists).
// Pure. Columns: expiry date, expiry time, MAC, protocol, IP/prefix, hostname, client id.
import type { Lease } from '@quantix/proto/v1/network.js';

export function parseLeases(text: string): Lease[] {
  const leases: Lease[] = [];
  for (const line of text.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 5 || !/^\d{4}-\d{2}-\d{2}$/.test(cols[0]!)) continue;
    const [date, time, mac, protocol, ipWithPrefix, hostname] = cols;
    if (protocol !== 'ipv4' && protocol !== 'ipv6') continue;
    const expiry = Date.parse(`${date}T${time}`);
    leases.push({
      mac: mac!.toLowerCase(),
      ip: ipWithPrefix!.replace(/\/\d+$/, ''),
      hostname: hostname && hostname !== '-' ? hostname : '',
      expiryMs: Number.isNaN(expiry) ? 0 : expiry,
    });
  }
  return leases;
}
