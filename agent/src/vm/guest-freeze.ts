// A guest's filesystems frozen through its agent (qemu-ga) for the instant of a snapshot or a
// backup's point in time, then thawed. A Linux guest agent never thaws by itself: an agent process
// killed between the two would leave the guest with every write blocked for good. So each freeze
// leaves a mark naming the VM and this process (pid and start time) until its thaw, and an agent
// starting up thaws the VMs whose mark's process is gone (recoverFrozenGuests). The marks live in
// /run: after a reboot no guest is frozen.
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AgentError, ErrorCode } from '../errors.js';
import { isOtherLiveProcess, parseIdentity, thisProcess } from '../exec/process-identity.js';
import { DOMAIN_NOT_FOUND } from '../libvirt/domain.js';
import { Virsh } from '../libvirt/virsh.js';
import { log } from '../log.js';

export const FREEZE_MARK_DIR = '/run/quantix/frozen-guests';
const markOf = (uuid: string) => join(FREEZE_MARK_DIR, `${uuid}.json`);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Freezes every guest filesystem; returns how many the agent froze. 0: it found none it can freeze
 * (a guest on tmpfs alone), the guest is not frozen and needs no thaw, and what is taken is only
 * crash-consistent.
 */
export async function guestFsFreeze(virsh: Virsh, uuid: string, vmName: string): Promise<number> {
  // The mark goes first: a kill between the freeze and the mark must not leave an unmarked freeze.
  await mkdir(FREEZE_MARK_DIR, { recursive: true, mode: 0o755 });
  await writeFile(markOf(uuid), JSON.stringify(await thisProcess()), { mode: 0o644 });
  try {
    const out = await virsh.exec(['domfsfreeze', uuid], { timeoutMs: 60_000, messages: true });
    // "Froze N filesystem(s)"; should virsh ever say it otherwise, count it frozen: a thaw is harmless.
    const said = /(\d+)/.exec(out);
    const frozen = said ? Number(said[1]) : 1;
    if (frozen === 0) await rm(markOf(uuid), { force: true });
    return frozen;
  } catch (err) {
    // It may have frozen some before failing: thawing an unfrozen guest is harmless.
    await guestFsThaw(virsh, uuid);
    throw new AgentError(
      ErrorCode.FailedPrecondition,
      `VM ${vmName}: the guest agent could not freeze the filesystems: ${Virsh.message(err)}`,
    );
  }
}

/**
 * Thaws the guest filesystems; a failure is returned (the caller reports it), never thrown. The
 * mark stays on failure: the next start of an agent tries again.
 */
export async function guestFsThaw(virsh: Virsh, uuid: string): Promise<Error | undefined> {
  try {
    await virsh.exec(['domfsthaw', uuid], { timeoutMs: 60_000 });
  } catch (err) {
    return err as Error;
  }
  await rm(markOf(uuid), { force: true });
  return undefined;
}

/**
 * At agent start: thaws every guest an agent process that is gone left frozen (killed between
 * freeze and thaw); returns the UUIDs thawed. A VM that went meanwhile loses its mark; a thaw that
 * fails is logged and its mark kept.
 */
export async function recoverFrozenGuests(virsh: Virsh): Promise<string[]> {
  const names = await readdir(FREEZE_MARK_DIR).catch(() => [] as string[]);
  const thawed: string[] = [];
  for (const name of names) {
    const uuid = name.replace(/\.json$/, '');
    if (!UUID.test(uuid)) continue;
    const owner = parseIdentity(await readFile(markOf(uuid), 'utf8').catch(() => undefined));
    if (owner && (await isOtherLiveProcess(owner))) continue;
    // This process's own marks are of freezes it is in the middle of.
    if (owner?.pid === process.pid) continue;
    const failed = await guestFsThaw(virsh, uuid);
    if (!failed) {
      log.warn('a guest left frozen by a stopped agent is thawed', { vm: uuid });
      thawed.push(uuid);
    } else if (DOMAIN_NOT_FOUND.test(Virsh.message(failed)) || /not running/i.test(Virsh.message(failed))) {
      await rm(markOf(uuid), { force: true });
    } else log.error('a guest left frozen by a stopped agent could not be thawed', { vm: uuid, err: String(failed) });
  }
  return thawed;
}
