// Restores a stored backup as a new VM on this host: every disk flattened from its chain into a
// pool through the volume layer, the VM defined from the backup's own domain XML with the chosen
// name, a new UUID and new MACs (never a second machine with the original's identity). Volumes
// made before a failure are deleted again.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RestoreBackupRequest, RestoreBackupResponse } from '@quantix/proto/v1/backup.js';
import type { VmSpec } from '@quantix/proto/v1/vm.js';
import { failedPrecondition, invalidArgument } from '../errors.js';
import type { Virsh } from '../libvirt/virsh.js';
import { parseDomainXml } from '../libvirt/xml/domain-parse.js';
import type { PoolManager } from '../storage/pool-manager.js';
import type { Volumes } from '../storage/volumes.js';
import { validateName } from '../validate/name.js';
import { defineVm } from '../vm/vm-define.js';
import { backupDir, DOMAIN_XML, getManifest, vmBackupsDir } from './backup-store.js';

export async function restoreBackup(
  deps: { virsh: Virsh; pools: PoolManager; volumes: Volumes },
  req: RestoreBackupRequest,
): Promise<RestoreBackupResponse> {
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
    const vm = await defineVm(deps.virsh, deps.volumes, spec);
    return { vmUuid: vm.spec?.uuid ?? '', vmName: name, volumes: created };
  } catch (err) {
    for (const v of created.reverse()) await deps.volumes.delete(req.targetPool, v).catch(() => undefined);
    throw err;
  }
}
