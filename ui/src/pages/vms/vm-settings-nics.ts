// The NIC list of the VM settings tab: rows re-pointed, added and removed (the server only takes
// them while the VM is shut off), and the UpdateVmDto nics they become, each with its MAC. Pure;
// unit-tested without a browser.
import type { NicDto, UpdateVmDto } from '@dto/vms.js';
import type { NicModel } from '@dto/enums.js';

/** One NIC as edited; `mac` is '' for a NIC added here (it gets a new MAC when saved). */
export type NicRow = NicDto;

/** At most this many NICs (UpdateVmDto). */
export const MAX_NICS = 8;

/** Model of an added NIC, as in the create wizard: every guest has an e1000 driver. */
export const NEW_NIC_MODEL: NicModel = 'e1000';

/** "kind:source", the value of a row's network choice ("network:lan", "user:"). */
export const sourceKey = (n: Pick<NicRow, 'kind' | 'source'>) => `${n.kind}:${n.source}`;

/** The network choices of a row: its current source first, then every network of the host. */
export function sourceOptions(row: NicRow, networks: readonly { name: string }[]): string[] {
  return [...new Set([sourceKey(row), ...networks.map((n) => `network:${n.name}`)])];
}

/** `rows` plus a new NIC on network `network`. */
export function addNicRow(rows: readonly NicRow[], network: string, model: NicModel = NEW_NIC_MODEL): NicRow[] {
  return [...rows, { kind: 'network', source: network, model, mac: '' }];
}

/** `rows` without row `index`. */
export const removeNicRow = (rows: readonly NicRow[], index: number): NicRow[] => rows.filter((_, i) => i !== index);

/** `rows` with row `index` changed. */
export function changeNicRow(
  rows: readonly NicRow[],
  index: number,
  change: { key?: string; model?: NicModel },
): NicRow[] {
  return rows.map((r, i) => {
    if (i !== index) return r;
    const [kind, ...rest] = (change.key ?? sourceKey(r)).split(':');
    return { ...r, kind: kind as NicRow['kind'], source: rest.join(':'), model: change.model ?? r.model };
  });
}

/** A random MAC in QEMU's locally administered 52:54:00 range (the one libvirt uses). */
export function randomMac(): string {
  return `52:54:00:${[...crypto.getRandomValues(new Uint8Array(3))].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
}

/**
 * The whole NIC list for the update: kept NICs with their MAC, added ones with a new MAC (sent
 * without one, the server would give an added NIC the MAC of a removed NIC at its position).
 */
export function nicsPatch(rows: readonly NicRow[], fresh = randomMac): NonNullable<UpdateVmDto['nics']> {
  const taken = new Set(rows.map((r) => r.mac.toLowerCase()));
  return rows.map((r) => {
    let mac = r.mac;
    if (!mac) {
      do mac = fresh();
      while (taken.has(mac));
      taken.add(mac);
    }
    return { kind: r.kind, source: r.source, model: r.model, mac };
  });
}
