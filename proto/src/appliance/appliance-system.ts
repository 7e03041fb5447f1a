// The system an appliance runs, read from its root (the server's and the agent's one reading):
// installed or live (kernel command line, grubenv on the install medium), the booted slot, the
// slot GRUB falls back to, and the versions (etc/quantix-release, each slot's quantix-release).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export type Slot = 'a' | 'b';

export interface ApplianceSystem {
  /** false on a live (not installed) system or on no appliance at all: notice says which. */
  installed: boolean;
  notice?: string;
  version: string;
  slot?: Slot;
  goodSlot?: Slot;
  otherSlot?: { slot: Slot; version?: string };
}

/** Where the install medium (QX-ROOT: slot-a/, slot-b/, boot/grub/grubenv) is mounted. */
export const MEDIUM = 'run/live/medium';
/** The A/B script of the image (appliance/quantix-update): prepare, arm, abort. */
export const UPDATE_SCRIPT = 'usr/lib/quantix/quantix-update';

export const NOT_AN_APPLIANCE = 'this host is not a Quantix-vDC appliance';
export const LIVE_SYSTEM =
  'updates need an installed system: this appliance runs from the live image; install it to a disk first';

export const isSlot = (s: string | undefined): s is Slot => s === 'a' || s === 'b';
export const otherSlot = (s: Slot): Slot => (s === 'a' ? 'b' : 'a');

/** `key=value` lines (grubenv, quantix-release, attempt.env); comments and other lines ignored. */
export function parseKeyValues(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z_][\w]*)=(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

export const readText = (file: string) => readFile(file, 'utf8').catch(() => undefined);

/**
 * The system below `root` ("/" on an appliance; undefined: not an appliance). `fallbackVersion` is
 * reported when the root has no etc/quantix-release (a development run).
 */
export async function readApplianceSystem(root: string | undefined, fallbackVersion: string): Promise<ApplianceSystem> {
  const release = parseKeyValues((await readText(join(root ?? '/', 'etc/quantix-release'))) ?? '');
  const version = release.QUANTIX_VERSION ?? fallbackVersion;
  if (!root) return { installed: false, notice: NOT_AN_APPLIANCE, version };
  const cmdline = (await readText(join(root, 'proc/cmdline'))) ?? '';
  const slot = /(?:^|\s)quantix\.slot=([ab])(?:\s|$)/.exec(cmdline)?.[1];
  const env = await readText(join(root, MEDIUM, 'boot/grub/grubenv'));
  if (!isSlot(slot) || env === undefined) return { installed: false, notice: LIVE_SYSTEM, version };
  const good = parseKeyValues(env).good_slot;
  const other = otherSlot(slot);
  const otherRelease = await readText(join(root, MEDIUM, `slot-${other}/live/quantix-release`));
  const otherVersion = otherRelease && parseKeyValues(otherRelease).QUANTIX_VERSION;
  return {
    installed: true,
    version,
    slot,
    ...(isSlot(good) ? { goodSlot: good } : {}),
    otherSlot: otherVersion ? { slot: other, version: otherVersion } : { slot: other },
  };
}
