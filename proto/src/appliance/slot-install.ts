// Installs a verified update bundle into the other system slot of an installed appliance, through
// the image's own script (appliance/quantix-update): prepare (refuses a slot still on trial), write
// the parts and the slot's quantix-release, arm a one-shot boot of it (the script then reboots);
// abort after a failed write. Only upgrades, unless a downgrade is asked for (version.ts). Shared
// by the server (its own appliance) and the agent (a host).
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { writeFileAtomic } from '../fs/atomic-file.js';
import { type ApplianceSystem, type Slot, UPDATE_SCRIPT } from './appliance-system.js';
import { type VerifiedBundle, writeSlot } from './update-bundle.js';
import { updateRefusal } from './version.js';

const SCRIPT_TIMEOUT_MS = 60_000;

/**
 * The system cannot take an update now. `status`/`expose` make the server answer 409 with the
 * message (middleware/error.ts); the agent maps it to FAILED_PRECONDITION.
 */
export class UpdateRefused extends Error {
  override readonly name = 'UpdateRefused';
  readonly status = 409;
  readonly expose = true;
}

/** Why `system` cannot be updated now (live, not an appliance, a slot on trial); undefined: it can. */
export function updateBlocker(system: ApplianceSystem): string | undefined {
  if (!system.installed) return system.notice ?? 'updates need an installed system';
  if (system.goodSlot && system.slot !== system.goodSlot)
    return `slot ${system.slot} is still on trial; wait until it is marked good`;
  return undefined;
}

/**
 * Writes `verified` (the bundle in `bundleFile`) into the other slot of `system` below `root` and
 * arms it; resolves once quantix-update armed the reboot. Throws UpdateRefused when the system
 * cannot be updated, the bundle is not newer than it (an older one goes with `allowDowngrade`) or
 * the script refuses.
 */
export async function installIntoOtherSlot(o: {
  root: string;
  system: ApplianceSystem;
  bundleFile: string;
  verified: VerifiedBundle;
  /** Names the system in refusals ("this appliance", "this host"). */
  subject: string;
  allowDowngrade?: boolean;
}): Promise<{ slot: Slot; version: string }> {
  const blocker = updateBlocker(o.system);
  if (blocker) throw new UpdateRefused(blocker);
  const refusal = updateRefusal(o.subject, o.system.version, o.verified.manifest.version, o.allowDowngrade);
  if (refusal) throw new UpdateRefused(refusal);
  const to = o.system.otherSlot!.slot;
  const script = join(o.root, UPDATE_SCRIPT);
  const run = (args: string[]) => promisify(execFile)(script, args, { timeout: SCRIPT_TIMEOUT_MS }).catch(scriptError);
  const slotDir = (await run(['prepare'])).stdout.trim();
  if (!slotDir.endsWith(`/slot-${to}/live`)) throw new Error(`quantix-update prepare named ${slotDir}, not slot ${to}`);
  const { version, build } = o.verified.manifest;
  try {
    await writeSlot(o.bundleFile, o.verified, slotDir);
    await writeFileAtomic(
      join(slotDir, 'quantix-release'),
      `QUANTIX_VERSION=${version}\nQUANTIX_BUILD=${build}\n`,
      0o644,
    );
  } catch (err) {
    await run(['abort']).catch(() => undefined);
    throw err;
  }
  await run(['arm', to, o.system.version, version]);
  return { slot: to, version };
}

/** quantix-update says why it refused on stderr (e.g. the slot is still on trial). */
function scriptError(err: Error & { stderr?: string }): never {
  const why = err.stderr?.trim().replace(/^quantix-update: /, '');
  throw new UpdateRefused(why || `quantix-update failed: ${err.message}`);
}
