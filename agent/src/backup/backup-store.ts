// Stored backups in a pool: backups/<vm-uuid>/<backup-id>/ holding domain.xml, one qcow2 per
// disk (an incremental one backed by the same disk of its parent, relative path) and
// manifest.json. A backup is written under .tmp-<id> (a point copied from another host under
// .copy-<id>) and renamed into place when complete, so only directories with a manifest are
// backups; list, delete (chain-aware) and verify live here.
import { createHash } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { BackupConsistency, BackupKind, type Backup, type VerifyBackupResponse } from '@quantix/proto/v1/backup.js';
import type { FirmwareState } from '@quantix/proto/v1/vm.js';
import { failedPrecondition, invalidArgument, notFound } from '../errors.js';
import { log } from '../log.js';
import { syncDir, writeFileDurably } from '../storage/durable-file.js';
import type { PoolRecord } from '../storage/storage-kind.js';
import type { PulledDisk } from './backup-pull.js';
import { chunkSums, differingChunks, CHUNK_BYTES, type ChunkHash } from './chunk-sums.js';

export const MANIFEST = 'manifest.json';
/** What new backups write: their disks' chunks checksummed with CHUNK_HASH. */
export const MANIFEST_FORMAT = 2;
export const DOMAIN_XML = 'domain.xml';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ID = /^\d{8}T\d{6}Z-[0-9a-f]{6}$/;
const DEV = /^[a-z]{2,3}[a-z0-9]{0,6}$/;

export type ManifestKind = 'full' | 'incremental';
export type ManifestConsistency = 'application' | 'crash' | 'stopped';

export interface ManifestDisk {
  target: string;
  file: string;
  capacityBytes: number;
  storedBytes: number;
  chunkBytes: number;
  /** Format 2: the XXH3-128 of each chunk (chunk-sums.ts). */
  xxh128?: string[];
  /** Format 1: the SHA-256 of each chunk. */
  sha256?: string[];
}

/** A new backup's entry for the disk it wrote as `<target>.qcow2`. */
export function newManifestDisk(target: string, d: PulledDisk): ManifestDisk {
  return {
    target,
    file: `${target}.qcow2`,
    capacityBytes: d.capacityBytes,
    storedBytes: d.storedBytes,
    chunkBytes: CHUNK_BYTES,
    xxh128: d.sums, // CHUNK_HASH
  };
}

/** UEFI variables and TPM state: whole small files, one checksum each. */
export const FIRMWARE_FILES = { nvram: 'nvram.fd', tpm: 'tpm2-00.permall' } as const;
export type FirmwareKind = keyof typeof FIRMWARE_FILES;

export interface ManifestFirmware {
  kind: FirmwareKind;
  file: (typeof FIRMWARE_FILES)[FirmwareKind];
  bytes: number;
  sha256: string;
}

/** manifest.json: everything needed to read and restore the backup without the vDC database. */
export interface BackupManifest {
  /** 2 since the chunks' checksums are XXH3-128; 1 (SHA-256) is still read. */
  format: 1 | 2;
  id: string;
  vm: { uuid: string; name: string };
  createdAt: string;
  kind: ManifestKind;
  parent: string | null;
  consistency: ManifestConsistency;
  /** The libvirt checkpoint taken with it (the next incremental starts there); null when none. */
  checkpoint: string | null;
  disks: ManifestDisk[];
  /** The VM's firmware state at the point in time (absent in backups made before it was kept). */
  firmware?: ManifestFirmware[];
}

/** The checksum of a manifest's disk chunks. */
export const chunkHashOf = (m: Pick<BackupManifest, 'format'>): ChunkHash => (m.format === 1 ? 'sha256' : 'xxh128');

/** A disk's chunk checksums (of the kind chunkHashOf names). */
export const diskSums = (d: ManifestDisk): readonly string[] => d.xxh128 ?? d.sha256 ?? [];

export function validVmUuid(field: string, uuid: string): string {
  if (!UUID.test(uuid)) throw invalidArgument(field, 'must be a VM UUID (lowercase, with dashes)');
  return uuid;
}

export function validBackupId(field: string, id: string): string {
  if (!ID.test(id)) throw invalidArgument(field, 'must be a backup id such as 20261205T040512Z-1a2b3c');
  return id;
}

export function validDiskTarget(dev: string): string {
  if (!DEV.test(dev)) throw new Error(`disk target ${JSON.stringify(dev)} is not a device name`);
  return dev;
}

/** A sortable id: the UTC time it was taken and a random suffix. */
export function newBackupId(now: Date, random: string): string {
  return `${now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}-${random}`;
}

export const vmBackupsDir = (pool: PoolRecord, vmUuid: string) => join(pool.path, 'backups', vmUuid);
export const backupDir = (pool: PoolRecord, vmUuid: string, id: string) => join(vmBackupsDir(pool, vmUuid), id);
/**
 * Where a point is written until it is complete: a backup being taken, or a stored point copied
 * here from another host (a restore stages it). Apart, because what a killed backup left names a
 * checkpoint of the VM the next backup deletes, and a killed copy's id is a live point's.
 */
export type Staging = 'backup' | 'copy';
const STAGING_PREFIX: Record<Staging, string> = { backup: '.tmp-', copy: '.copy-' };

export const tempBackupDir = (pool: PoolRecord, vmUuid: string, id: string, staging: Staging = 'backup') =>
  join(vmBackupsDir(pool, vmUuid), `${STAGING_PREFIX[staging]}${id}`);

/** Creates the temp dir of a point being written (and the VM's directory if needed). */
export async function makeTempDir(
  pool: PoolRecord,
  vmUuid: string,
  id: string,
  staging: Staging = 'backup',
): Promise<string> {
  await mkdir(vmBackupsDir(pool, vmUuid), { recursive: true, mode: 0o755 });
  const dir = tempBackupDir(pool, vmUuid, id, staging);
  await mkdir(dir, { mode: 0o755 });
  return dir;
}

/** Writes the manifest and renames the temp dir into place: from here on the backup is listed (and durable). */
export async function publishBackup(
  pool: PoolRecord,
  manifest: BackupManifest,
  staging: Staging = 'backup',
): Promise<void> {
  const tmp = tempBackupDir(pool, manifest.vm.uuid, manifest.id, staging);
  // Listed means saved: the manifest and the dir's names are on disk before the rename, the rename
  // after it (the disks are: qemu-img flushes its output, the other writers fsync theirs).
  await writeFileDurably(join(tmp, MANIFEST), JSON.stringify(manifest, null, 2) + '\n', { mode: 0o644 });
  await syncDir(tmp);
  await rename(tmp, backupDir(pool, manifest.vm.uuid, manifest.id));
  await syncDir(vmBackupsDir(pool, manifest.vm.uuid));
}

/** The ids of unfinished backups of a VM (their temp dirs: this run's, or one killed with the agent). */
export async function tempBackupIds(pool: PoolRecord, vmUuid: string): Promise<string[]> {
  return (await stagedIds(pool, vmUuid, 'backup')).map(({ id }) => id);
}

/**
 * Removes what unfinished points of these kinds left (one killed with its agent). One that cannot
 * be removed yet is left for the next backup, with a warning: it is never listed, and failing the
 * backup that starts now would not free it. (On an NFS target a file still open somewhere stays as
 * .nfsXXXX until it is closed, and its dir cannot go meanwhile.)
 */
export async function removeTempDirs(pool: PoolRecord, vmUuid: string, kinds: readonly Staging[]): Promise<void> {
  for (const kind of kinds) {
    for (const { name } of await stagedIds(pool, vmUuid, kind)) {
      const dir = join(vmBackupsDir(pool, vmUuid), name);
      await rm(dir, { recursive: true, force: true, maxRetries: 3, retryDelay: 200 }).catch((err: unknown) =>
        log.warn('an unfinished backup could not be removed yet; retried at the next backup', {
          dir,
          err: String(err),
        }),
      );
    }
  }
}

async function stagedIds(pool: PoolRecord, vmUuid: string, kind: Staging): Promise<{ name: string; id: string }[]> {
  const prefix = STAGING_PREFIX[kind];
  const names = await readdir(vmBackupsDir(pool, vmUuid)).catch(() => [] as string[]);
  return names.flatMap((name) => {
    const id = name.slice(prefix.length);
    return name.startsWith(prefix) && ID.test(id) ? [{ name, id }] : [];
  });
}

/** A manifest's text checked for what the store relies on; undefined when it is not valid. */
export function parseManifest(text: string): BackupManifest | undefined {
  try {
    const m = JSON.parse(text) as BackupManifest;
    if ((m.format !== 1 && m.format !== 2) || !ID.test(m.id) || !UUID.test(m.vm.uuid)) return undefined;
    if (m.parent !== null && !ID.test(m.parent)) return undefined;
    // Names come from the file: a disk file is always <target>.qcow2 inside the backup directory.
    for (const d of m.disks) if (d.file !== `${validDiskTarget(d.target)}.qcow2`) return undefined;
    // Each disk lists its sums under the name of its format's checksum, and only that one.
    const sums = chunkHashOf(m);
    for (const d of m.disks) {
      if (!Array.isArray(d[sums]) || d[sums === 'sha256' ? 'xxh128' : 'sha256'] !== undefined) return undefined;
    }
    for (const f of m.firmware ?? []) if (FIRMWARE_FILES[f.kind] !== f.file) return undefined;
    return m;
  } catch {
    return undefined;
  }
}

async function readManifest(dir: string): Promise<BackupManifest | undefined> {
  const text = await readFile(join(dir, MANIFEST), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : parseManifest(text);
}

/** The VM's firmware state as a backup's files, with their manifest entries. */
export function firmwareFiles(state: FirmwareState): { entry: ManifestFirmware; data: Buffer }[] {
  const out: { entry: ManifestFirmware; data: Buffer }[] = [];
  for (const [kind, data] of [
    ['nvram', state.nvram],
    ['tpm', state.tpmState],
  ] as const) {
    if (!data.length) continue;
    const file = FIRMWARE_FILES[kind];
    const sha256 = createHash('sha256').update(data).digest('hex');
    out.push({ entry: { kind, file, bytes: data.length, sha256 }, data: Buffer.from(data) });
  }
  return out;
}

/** The firmware state a backup holds, each file checked against its checksum. */
export async function readBackupFirmware(pool: PoolRecord, m: BackupManifest): Promise<FirmwareState> {
  const state: FirmwareState = { nvram: Buffer.alloc(0), tpmState: Buffer.alloc(0) };
  for (const f of m.firmware ?? []) {
    const data = await readFile(join(backupDir(pool, m.vm.uuid, m.id), f.file));
    if (createHash('sha256').update(data).digest('hex') !== f.sha256) {
      throw failedPrecondition(`backup ${m.id}: ${f.file} does not match its checksum`);
    }
    if (f.kind === 'nvram') state.nvram = data;
    else state.tpmState = data;
  }
  return state;
}

/**
 * The backups of one VM in `pool`, oldest first (directories without a valid manifest are
 * skipped). By creation time, then id: an id names its second only, and two backups of a VM in
 * one second (a quick one after another) would otherwise be ordered by their random suffixes, and
 * retention could keep the older.
 */
export async function listManifests(pool: PoolRecord, vmUuid: string): Promise<BackupManifest[]> {
  const dir = vmBackupsDir(pool, vmUuid);
  const names = await readdir(dir).catch(() => [] as string[]);
  const out: BackupManifest[] = [];
  for (const n of names.filter((x) => ID.test(x))) {
    const m = await readManifest(join(dir, n));
    if (m && m.id === n && m.vm.uuid === vmUuid) out.push(m);
  }
  const key = (m: BackupManifest) => `${typeof m.createdAt === 'string' ? m.createdAt : ''} ${m.id}`;
  return out.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** Every VM UUID with a backup directory in `pool`. */
export async function backedUpVms(pool: PoolRecord): Promise<string[]> {
  const names = await readdir(join(pool.path, 'backups')).catch(() => [] as string[]);
  return names.filter((n) => UUID.test(n)).sort();
}

export async function getManifest(pool: PoolRecord, vmUuid: string, id: string): Promise<BackupManifest> {
  const m = await readManifest(backupDir(pool, validVmUuid('vm_uuid', vmUuid), validBackupId('id', id)));
  if (!m) throw notFound(`backup ${id} of VM ${vmUuid} in pool ${pool.name}`);
  return m;
}

/** The backups of `all` that depend on `id` (its incrementals, theirs, …), latest first. */
export function dependentsOf(all: readonly BackupManifest[], id: string): BackupManifest[] {
  const out: BackupManifest[] = [];
  const chain = new Set([id]);
  for (const m of all) {
    if (m.parent && chain.has(m.parent)) {
      chain.add(m.id);
      out.push(m);
    }
  }
  return out.reverse();
}

/** Retention rules, each keeping points; 0 = that rule keeps nothing; all 0 = keep everything. */
export interface RetentionPolicy {
  last: number;
  daily: number;
  weekly: number;
  monthly: number;
}

/** The Monday (UTC) starting the ISO week of `iso`, as YYYY-MM-DD. */
function weekOf(iso: string): string {
  const d = new Date(iso);
  d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
  return d.toISOString().slice(0, 10);
}

/** The newest point of each of the newest `count` periods (by `period` of createdAt) with points. */
function newestPerPeriod(all: readonly BackupManifest[], count: number, period: (iso: string) => string): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  if (count <= 0) return out;
  for (const m of [...all].reverse()) {
    const p = period(m.createdAt);
    if (seen.has(p)) continue;
    if (seen.size === count) break;
    seen.add(p);
    out.push(m.id);
  }
  return out;
}

/**
 * Retention: the points no rule keeps go (newest `last`; the newest of each of the last `daily`
 * days, `weekly` ISO weeks, `monthly` months) unless a kept point builds on them (its chain back
 * to the full backup stays restorable). `all` oldest first; returns latest first, so dependents go first.
 */
export function pruneCandidates(all: readonly BackupManifest[], policy: RetentionPolicy): BackupManifest[] {
  const { last, daily, weekly, monthly } = policy;
  if (last <= 0 && daily <= 0 && weekly <= 0 && monthly <= 0) return [];
  const kept = new Set([
    ...(last > 0 ? all.slice(-last).map((m) => m.id) : []),
    ...newestPerPeriod(all, Math.max(0, daily), (iso) => iso.slice(0, 10)),
    ...newestPerPeriod(all, Math.max(0, weekly), weekOf),
    ...newestPerPeriod(all, Math.max(0, monthly), (iso) => iso.slice(0, 7)),
  ]);
  const byId = new Map(all.map((m) => [m.id, m]));
  for (const id of [...kept]) {
    for (let p = byId.get(id)?.parent; p && !kept.has(p); p = byId.get(p)?.parent) kept.add(p);
  }
  return all.filter((m) => !kept.has(m.id)).reverse();
}

/** Deletes the points retention lets go (see pruneCandidates); returns them. */
export async function pruneBackups(
  pool: PoolRecord,
  vmUuid: string,
  policy: RetentionPolicy,
): Promise<BackupManifest[]> {
  const doomed = pruneCandidates(await listManifests(pool, vmUuid), policy);
  for (const m of doomed) await rm(backupDir(pool, vmUuid, m.id), { recursive: true, force: true });
  return doomed;
}

/**
 * Deletes backup `id`; refused while later incrementals depend on it unless `withDependents`,
 * which deletes them too (latest first). Returns the deleted manifests.
 */
export async function deleteBackup(
  pool: PoolRecord,
  vmUuid: string,
  id: string,
  withDependents: boolean,
): Promise<BackupManifest[]> {
  const target = await getManifest(pool, vmUuid, id);
  const dependents = dependentsOf(await listManifests(pool, vmUuid), id);
  if (dependents.length && !withDependents) {
    throw failedPrecondition(
      `backup ${id} of VM ${target.vm.name} is the base of ${dependents.map((d) => d.id).join(', ')}; ` +
        'delete the whole chain from it or those first',
    );
  }
  const doomed = [...dependents, target];
  for (const m of doomed) await rm(backupDir(pool, vmUuid, m.id), { recursive: true, force: true });
  return doomed;
}

/** Re-reads every disk file of a backup and compares each chunk with the manifest. */
export async function verifyBackup(pool: PoolRecord, vmUuid: string, id: string): Promise<VerifyBackupResponse> {
  const m = await getManifest(pool, vmUuid, id);
  const dir = backupDir(pool, vmUuid, id);
  const result: VerifyBackupResponse = { ok: true, bytesChecked: 0, corruptions: [] };
  if (m.parent && !(await lstat(backupDir(pool, vmUuid, m.parent)).catch(() => undefined))) {
    result.corruptions.push({ disk: '', offset: 0, detail: `its parent backup ${m.parent} is missing` });
  }
  for (const d of m.disks) {
    try {
      const { sums, bytes } = await chunkSums(join(dir, d.file), chunkHashOf(m));
      result.bytesChecked += bytes;
      for (const offset of differingChunks(diskSums(d), sums)) {
        result.corruptions.push({
          disk: d.target,
          offset,
          detail: `${d.file}: the ${CHUNK_BYTES / 2 ** 20} MiB chunk at byte ${offset} does not match its checksum`,
        });
      }
    } catch (err) {
      result.corruptions.push({ disk: d.target, offset: 0, detail: `${d.file}: ${(err as Error).message}` });
    }
  }
  for (const f of m.firmware ?? []) {
    const data = await readFile(join(dir, f.file)).catch(() => undefined);
    result.bytesChecked += data?.length ?? 0;
    if (!data || createHash('sha256').update(data).digest('hex') !== f.sha256) {
      result.corruptions.push({
        disk: '',
        offset: 0,
        detail: `${f.file}: ${data ? 'does not match its checksum' : 'missing'}`,
      });
    }
  }
  result.ok = result.corruptions.length === 0;
  return result;
}

const KINDS: Record<ManifestKind, BackupKind> = {
  full: BackupKind.BACKUP_KIND_FULL,
  incremental: BackupKind.BACKUP_KIND_INCREMENTAL,
};
const CONSISTENCIES: Record<ManifestConsistency, BackupConsistency> = {
  application: BackupConsistency.BACKUP_CONSISTENCY_APPLICATION,
  crash: BackupConsistency.BACKUP_CONSISTENCY_CRASH,
  stopped: BackupConsistency.BACKUP_CONSISTENCY_STOPPED,
};

export function backupMessage(pool: PoolRecord, m: BackupManifest): Backup {
  const disks = m.disks.map((d) => ({
    target: d.target,
    file: d.file,
    capacityBytes: d.capacityBytes,
    storedBytes: d.storedBytes,
  }));
  return {
    id: m.id,
    vmUuid: m.vm.uuid,
    vmName: m.vm.name,
    createdAt: m.createdAt,
    kind: KINDS[m.kind] ?? BackupKind.BACKUP_KIND_UNSPECIFIED,
    parentId: m.parent ?? '',
    consistency: CONSISTENCIES[m.consistency] ?? BackupConsistency.BACKUP_CONSISTENCY_UNSPECIFIED,
    disks,
    pool: pool.name,
    path: backupDir(pool, m.vm.uuid, m.id),
    storedBytes: disks.reduce((s, d) => s + d.storedBytes, 0),
    checkpoint: m.checkpoint ?? '',
  };
}
