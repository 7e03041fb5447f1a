// What keeps a volume from being deleted: any defined VM (running or not) whose disk it is, and
// any volume in any pool (or VM disk file elsewhere, such as a backup's overlay) whose backing file it is. The
// caller holds the pool lock, so no clone or attach can slip in between this check and the delete.
import { readdir, realpath } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { DiskUse } from './disk-usage.js';
import type { PoolRecord } from './storage-kind.js';
import { recordedVolumeFormat } from './volume-formats.js';
import { probeFile } from './volume-probe.js';

/** A volume to check: its pool, name and path. */
export interface HeldVolume {
  pool: PoolRecord;
  name: string;
  path: string;
}

/** A file that may have a backing file: where it is and how to name it in a message. */
interface Candidate {
  dir: string;
  name: string;
  label: string;
}

async function canonical(path: string): Promise<string> {
  return realpath(path).catch(() => resolve(path));
}

/**
 * The absolute backing file of `dir/name`, as QEMU would open it: the agent's record wins
 * (a recorded raw or ISO volume has none, whatever header its guest wrote), else the qcow2 header.
 * Protocol or json: backing names are no file of ours and are skipped.
 */
export async function backingPathOf(dir: string, name: string): Promise<string | undefined> {
  const record = await recordedVolumeFormat(dir, name).catch(() => undefined);
  let backing: string | undefined;
  if (record) backing = record.backing;
  else backing = (await probeFile(join(dir, name)).catch(() => undefined))?.backingFile;
  if (!backing || /^[a-z][a-z0-9+.-]*:/i.test(backing)) return undefined;
  return isAbsolute(backing) ? backing : resolve(dir, backing);
}

/** Domains (names, once each) with a disk that is `volume`. */
export async function usersOf(volume: HeldVolume, uses: readonly DiskUse[]): Promise<string[]> {
  const target = await canonical(volume.path);
  const users: string[] = [];
  for (const u of uses) {
    const hit = u.file
      ? u.file === volume.path || (await canonical(u.file)) === target
      : u.pool === volume.pool.name && u.volume === volume.name;
    if (hit && !users.includes(u.domain)) users.push(u.domain);
  }
  return users;
}

/**
 * Everything whose backing file is `volume`: files in every pool of `pools` (labelled pool/name)
 * and VM disk files outside them (labelled with their VM).
 */
export async function dependantsOf(
  volume: HeldVolume,
  pools: readonly PoolRecord[],
  uses: readonly DiskUse[],
): Promise<string[]> {
  const target = await canonical(volume.path);
  const candidates: Candidate[] = [];
  for (const pool of pools) {
    const entries = await readdir(pool.path, { withFileTypes: true }).catch(() => []);
    for (const e of entries)
      if (e.isFile()) candidates.push({ dir: pool.path, name: e.name, label: `${pool.name}/${e.name}` });
  }
  // A disk file that is not a pool's own entry: outside the pools, or in a dir inside one (the
  // overlay a running VM's full backup puts it on, whose backing file is the VM's own volume).
  for (const u of uses) {
    if (!u.file || pools.some((p) => dirname(u.file!) === p.path)) continue;
    candidates.push({
      dir: dirname(u.file),
      name: u.file.slice(dirname(u.file).length + 1),
      label: `${u.file} (disk of VM ${u.domain})`,
    });
  }
  const out: string[] = [];
  for (const c of candidates) {
    if (join(c.dir, c.name) === volume.path) continue;
    const backing = await backingPathOf(c.dir, c.name);
    if (backing && (backing === volume.path || (await canonical(backing)) === target) && !out.includes(c.label))
      out.push(c.label);
  }
  return out;
}

/** Why `volume` must stay (each reason a phrase), or an empty list when nothing holds it. */
export async function holdsOn(
  volume: HeldVolume,
  pools: readonly PoolRecord[],
  uses: readonly DiskUse[],
): Promise<string[]> {
  const reasons: string[] = [];
  const users = await usersOf(volume, uses);
  if (users.length) reasons.push(`used by VM(s) ${users.join(', ')}`);
  const dependants = await dependantsOf(volume, pools, uses);
  if (dependants.length) reasons.push(`the backing file of linked clone(s) ${dependants.join(', ')}`);
  return reasons;
}
