// The boot order of the VM settings: every boot device as a row, the enabled ones first in their
// order, moved up and down and switched on or off; read back as the UpdateVmDto bootOrder. Pure.
import type { BootDevice } from '@dto/enums.js';

export interface BootRow {
  dev: BootDevice;
  on: boolean;
}

export const BOOT_LABELS: Record<BootDevice, string> = {
  disk: 'Hard disk',
  cdrom: 'CD-ROM',
  network: 'Network (PXE)',
};

/** Every boot device (the labels' keys: the type makes them complete; node tests cannot load @dto values). */
const BOOT_DEVICES = Object.keys(BOOT_LABELS) as BootDevice[];

/** The rows for a VM's boot order: its devices in order, then those it does not boot from. */
export function bootRows(order: readonly BootDevice[]): BootRow[] {
  const on = BOOT_DEVICES.filter((d) => order.includes(d)).sort((a, b) => order.indexOf(a) - order.indexOf(b));
  return [
    ...on.map((dev) => ({ dev, on: true })),
    ...BOOT_DEVICES.filter((d) => !on.includes(d)).map((dev) => ({ dev, on: false })),
  ];
}

/** Row `i` moved by `delta` (-1 up, +1 down); unchanged at either end. */
export function moveBootRow(rows: readonly BootRow[], i: number, delta: -1 | 1): BootRow[] {
  const j = i + delta;
  if (j < 0 || j >= rows.length) return [...rows];
  const next = [...rows];
  [next[i], next[j]] = [next[j]!, next[i]!];
  return next;
}

/** Row `i` switched on or off. */
export function toggleBootRow(rows: readonly BootRow[], i: number, on: boolean): BootRow[] {
  return rows.map((r, k) => (k === i ? { ...r, on } : r));
}

/** The boot order the rows say (the server boots from the disk when it is empty). */
export const bootOrderOf = (rows: readonly BootRow[]): BootDevice[] => rows.filter((r) => r.on).map((r) => r.dev);
