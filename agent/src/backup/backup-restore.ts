// Restores a stored backup: as a new VM on this host (every disk flattened from its chain into a
// pool through the volume layer, the VM defined from the backup's own domain XML with the chosen
// name, a new UUID and new MACs: never a second machine with the original's identity; volumes made
// before a failure are deleted again), over the VM it was taken of, or one disk as a new volume.
import { randomBytes } from 'node:crypto';
import { readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type {
  RestoreBackupDiskRequest,
  RestoreBackupDiskResponse,
  RestoreBackupOverVmRequest,
  RestoreBackupOverVmResponse,
  RestoreBackupRequest,
  RestoreBackupResponse,
} from '@quantix/proto/v1/backup.js';
import type { VmSpec } from '@quantix/proto/v1/vm.js';
import { failedPrecondition, invalidArgument } from '../errors.js';
import { log } from '../log.js';
import { DomainState, domainDumpXml, domainState } from '../libvirt/domain.js';
import type { Virsh } from '../libvirt/virsh.js';
import { parseDomainXml } from '../libvirt/xml/domain-parse.js';
import type { PoolManager } from '../storage/pool-manager.js';
import type { PoolRecord } from '../storage/storage-kind.js';
import type { Volumes } from '../storage/volumes.js';
import { validateName } from '../validate/name.js';
import { defineVm } from '../vm/vm-define.js';
import { backupDir, DOMAIN_XML, getManifest, readBackupFirmware, vmBackupsDir } from './backup-store.js';
import { readBackupSettings, restoreSettings } from './restore-settings.js';

export async function restoreBackup(deps: Deps, req: RestoreBackupRequest): Promise<RestoreBackupResponse> {
  const name = validateName('name', req.name);
  if (!req.targetPool) throw invalidArgument('target_pool', 'name the pool the restored disks go to');
  const pool = await deps.pools.activeRecord(req.pool);
  const manifest = await getManifest(pool, req.vmUuid, req.id);
  const dir = backupDir(pool, manifest.vm.uuid, manifest.id);
  const parsed = parseDomainXml(await readFile(join(dir, DOMAIN_XML), 'utf8'));
  const devs = parsed.files.filter((f) => f.device === 'disk').map((f) => f.dev);
  if (devs.length !== parsed.spec.disks.length) {
    throw failedPrecondition(`backup ${manifest.id}: its domain XML has disks that are not files in pools`);
  }
  const created: string[] = [];
  try {
    const disks = [];
    for (const [i, disk] of parsed.spec.disks.entries()) {
      const stored = manifest.disks.find((d) => d.target === devs[i]);
      if (!stored) throw failedPrecondition(`backup ${manifest.id} has no copy of disk ${devs[i]}`);
      const volume = validateName('name', `${name}-${stored.target}.qcow2`);
      await deps.volumes.importFlattened({
        pool: req.targetPool,
        name: volume,
        source: join(dir, stored.file),
        sourceDir: vmBackupsDir(pool, manifest.vm.uuid),
      });
      created.push(volume);
      disks.push({ ...disk, pool: req.targetPool, volume });
    }
    const spec: VmSpec = {
      ...parsed.spec,
      name,
      uuid: '',
      disks,
      // The backup holds no ISO images: the drives stay, empty.
      cdroms: parsed.spec.cdroms.map((c) => ({ ...c, pool: '', volume: '' })),
      nics: parsed.spec.nics.map((n) => ({ ...n, mac: '' })),
      autostart: false,
    };
    // The UEFI variables and TPM state of the point in time come back with the VM (checksums checked).
    const vm = await defineVm(deps.virsh, deps.volumes, spec, await readBackupFirmware(pool, manifest));
    return { vmUuid: vm.spec?.uuid ?? '', vmName: name, volumes: created };
  } catch (err) {
    for (const v of created.reverse()) await deps.volumes.delete(req.targetPool, v).catch(() => undefined);
    throw err;
  }
}

// Over the VM (#24), the VM shut off: each disk is first restored into a new file in the pool of
// the VM's disk, and only once every one is complete are they renamed over the VM's files (the old
// ones moved aside, then removed), so a failure before that leaves the VM exactly as it was. A
// restore of every disk is a whole-VM restore: the vCPUs and memory of the backup's definition and
// its UEFI variables and TPM state come back too (restore-settings.ts). The VM's checkpoints are
// dropped (the restored disks carry no dirty bitmaps): its next backup is full.

interface Deps {
  virsh: Virsh;
  pools: PoolManager;
  volumes: Volumes;
}

/** One disk to replace: the VM's file, its pool, the backup's copy and the new file made beside it. */
interface Swap {
  target: string;
  pool: PoolRecord;
  path: string;
  source: string;
  temp: string;
}

export async function restoreBackupOverVm(
  deps: Deps,
  req: RestoreBackupOverVmRequest,
): Promise<RestoreBackupOverVmResponse> {
  const pool = await deps.pools.activeRecord(req.pool);
  const manifest = await getManifest(pool, req.vmUuid, req.id);
  const vm = manifest.vm;
  const state = await domainState(deps.virsh, vm.uuid);
  if (state !== DomainState.Shutoff) {
    throw failedPrecondition(`VM ${vm.name} must be shut off before a backup is restored over it`);
  }
  const current = parseDomainXml(await domainDumpXml(deps.virsh, vm.uuid, true));
  const whole = req.disks.length === 0;
  const targets = whole ? manifest.disks.map((d) => d.target) : req.disks;
  const pools = await deps.pools.activeRecords();
  const dir = backupDir(pool, vm.uuid, manifest.id);
  const swaps: Swap[] = [];
  for (const target of targets) {
    const stored = manifest.disks.find((d) => d.target === target);
    if (!stored) throw invalidArgument('disks', `backup ${manifest.id} has no disk ${target}`);
    const file = current.files.find((f) => f.device === 'disk' && f.dev === target);
    if (!file) throw failedPrecondition(`VM ${vm.name} has no disk ${target} any more: restore it as a new volume`);
    if (file.format !== 'qcow2') {
      throw failedPrecondition(
        `disk ${target} of VM ${vm.name} is ${file.format}, not qcow2: restore it as a new volume`,
      );
    }
    const home = pools.find((p) => p.path === dirname(file.path));
    if (!home) throw failedPrecondition(`disk ${target} of VM ${vm.name} (${file.path}) is in no active pool`);
    const temp = `${target}-restore-${randomBytes(4).toString('hex')}.qcow2`;
    swaps.push({ target, pool: home, path: file.path, source: join(dir, stored.file), temp });
  }
  // Read and checked before anything changes: a corrupted file refuses the restore.
  const settings = whole ? await readBackupSettings(pool, manifest) : undefined;
  const made: Swap[] = [];
  try {
    for (const s of swaps) {
      await deps.volumes.importFlattened({
        pool: s.pool.name,
        name: s.temp,
        source: s.source,
        sourceDir: vmBackupsDir(pool, vm.uuid),
      });
      made.push(s);
    }
  } catch (err) {
    for (const s of made) await deps.volumes.delete(s.pool.name, s.temp).catch(() => undefined);
    throw err;
  }
  await swapIn(swaps);
  for (const p of new Set(swaps.map((s) => s.pool))) await deps.pools.volumesChanged(p);
  const restored = settings ? await restoreSettings(deps, vm.uuid, settings) : [];
  await dropCheckpoints(deps.virsh, vm.uuid);
  return { volumes: swaps.map((s) => `${s.pool.name}/${basename(s.path)}`), restored };
}

/** Every new file over the VM's (each old one kept aside until all are in, put back on a failure). */
async function swapIn(swaps: Swap[]): Promise<void> {
  const aside = (s: Swap) => `${s.path}.pre-restore`;
  const done: Swap[] = [];
  try {
    for (const s of swaps) {
      await rename(s.path, aside(s));
      try {
        await rename(join(s.pool.path, s.temp), s.path);
      } catch (err) {
        await rename(aside(s), s.path);
        throw err;
      }
      done.push(s);
    }
  } catch (err) {
    for (const s of done.reverse()) {
      await rename(s.path, join(s.pool.path, s.temp)).catch(() => undefined);
      await rename(aside(s), s.path).catch(() => undefined);
    }
    for (const s of swaps) await rm(join(s.pool.path, s.temp), { force: true });
    throw err;
  }
  for (const s of swaps) await rm(aside(s), { force: true });
}

/** The restored disks have none of the checkpoints' bitmaps: forget them (metadata only). */
async function dropCheckpoints(virsh: Virsh, uuid: string): Promise<void> {
  const names = (await virsh.exec(['checkpoint-list', uuid, '--name'])).split('\n').map((l) => l.trim());
  for (const name of names.filter(Boolean)) {
    await virsh.exec(['checkpoint-delete', uuid, name, '--metadata']).catch((err: unknown) => {
      log.warn('restore: cannot drop a checkpoint', { vm: uuid, checkpoint: name, error: (err as Error).message });
    });
  }
}

/** One disk of a point as a new qcow2 volume `name` in `target_pool`. */
export async function restoreBackupDisk(deps: Deps, req: RestoreBackupDiskRequest): Promise<RestoreBackupDiskResponse> {
  const name = validateName('name', req.name);
  if (!req.targetPool) throw invalidArgument('target_pool', 'name the pool the restored disk goes to');
  const pool = await deps.pools.activeRecord(req.pool);
  const manifest = await getManifest(pool, req.vmUuid, req.id);
  const stored = manifest.disks.find((d) => d.target === req.disk);
  if (!stored) throw invalidArgument('disk', `backup ${manifest.id} has no disk ${req.disk}`);
  const v = await deps.volumes.importFlattened({
    pool: req.targetPool,
    name,
    source: join(backupDir(pool, manifest.vm.uuid, manifest.id), stored.file),
    sourceDir: vmBackupsDir(pool, manifest.vm.uuid),
  });
  return { pool: v.pool, volume: v.name, capacityBytes: v.capacityBytes };
}
