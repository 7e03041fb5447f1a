// Publishing an OVA import's converted disks into their pool: under the pool lock, each recorded
// as the qcow2 the agent wrote, all or none; then the Volume each became.
import { basename, join } from 'node:path';
import { stat, unlink } from 'node:fs/promises';
import { VolumeFormat, type Volume } from '@quantix/proto/v1/storage.js';
import { run } from '../exec/run.js';
import type { PoolManager } from '../storage/pool-manager.js';
import type { PoolRecord } from '../storage/storage-kind.js';
import { forgetVolumeFormat } from '../storage/volume-formats.js';
import { publishVolume } from '../storage/volumes.js';
import type { StagedDisk } from './ova-import.js';

/**
 * Publishes the converted disks of an import into `pool` under its lock, each recorded as the
 * qcow2 the agent wrote; all or none (a record that cannot be written removes them all).
 */
export async function publishImportedDisks(pools: PoolManager, pool: PoolRecord, disks: StagedDisk[]): Promise<void> {
  await pools.withPool(pool, async () => {
    const done: string[] = [];
    try {
      for (const d of disks) {
        await publishVolume(pool, d.file, basename(d.target), { format: 'qcow2' });
        done.push(basename(d.target));
      }
    } catch (err) {
      for (const name of done) {
        await unlink(join(pool.path, name)).catch(() => undefined);
        await forgetVolumeFormat(pool.path, name).catch(() => undefined);
      }
      throw err;
    }
  });
}

/** The proto Volume of an imported qcow2 disk at `path` in `pool`. */
export async function importedVolume(pool: string, path: string): Promise<Volume> {
  const [{ stdout }, st] = await Promise.all([
    run('qemu-img', ['info', '--output=json', '-U', '-f', 'qcow2', path]),
    stat(path),
  ]);
  const info = JSON.parse(stdout) as { 'virtual-size': number };
  return {
    pool,
    name: basename(path),
    format: VolumeFormat.VOLUME_FORMAT_QCOW2,
    capacityBytes: info['virtual-size'],
    allocationBytes: st.blocks * 512,
    path,
    backingVolume: '',
    usedBy: [],
    fileBytes: st.size,
  };
}
