// A stopped VM's full backup of one disk, vda, as the store keeps it: for tests of the store
// itself (layout, verify, formats), whose disk file is written in the point's temp dir first.
import { join } from 'node:path';
import { chunkHashOf, type BackupManifest } from '../backup/backup-store.js';
import { chunkSums, CHUNK_BYTES } from '../backup/chunk-sums.js';

/** The manifest of point `id` of VM `vmUuid` whose vda.qcow2 is in `dir`; sums of its format's kind. */
export async function oneDiskManifest(
  dir: string,
  id: string,
  vmUuid: string,
  format: BackupManifest['format'],
): Promise<BackupManifest> {
  const hash = chunkHashOf({ format });
  const { sums, bytes } = await chunkSums(join(dir, 'vda.qcow2'), hash);
  return {
    format,
    id,
    vm: { uuid: vmUuid, name: 'web' },
    createdAt: new Date().toISOString(),
    kind: 'full',
    parent: null,
    consistency: 'stopped',
    checkpoint: null,
    disks: [
      {
        target: 'vda',
        file: 'vda.qcow2',
        capacityBytes: bytes,
        storedBytes: bytes,
        chunkBytes: CHUNK_BYTES,
        [hash]: sums,
      },
    ],
  };
}
