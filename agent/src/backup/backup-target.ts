// Where a backup being taken is written: a pool of this host (a temp dir renamed into place) or
// a pool of another host of the vDC (backup-send.ts: streamed to its agent, which stores it the
// same way, backup-receive.ts). The backup job sees only this interface.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Backup } from '@quantix/proto/v1/backup.js';
import { writeFileDurably } from '../storage/durable-file.js';
import type { PoolRecord } from '../storage/storage-kind.js';
import type { DiskOut } from './backup-pull.js';
import {
  backupMessage,
  DOMAIN_XML,
  listManifests,
  makeTempDir,
  publishBackup,
  pruneBackups,
  removeTempDirs,
  tempBackupIds,
  type BackupManifest,
  type RetentionPolicy,
} from './backup-store.js';

export interface CommittedBackup {
  backup: Backup;
  /** The points retention deleted afterwards, with their checkpoints (the source drops them). */
  pruned: { id: string; checkpoint: string | null }[];
}

export interface BackupTarget {
  /** "pool p" / "pool p of host 10.0.0.2:9443": names the target in errors and logs. */
  readonly label: string;
  /** Local: the pool (its free space is checked before a full backup); undefined for a remote one. */
  readonly localPool: PoolRecord | undefined;
  /** The VM's points there when this backup started, oldest first. */
  readonly history: BackupManifest[];
  /** Unfinished backups of the VM found there and removed (their checkpoints can go). */
  readonly abandonedIds: string[];
  /** A local path to write the disk's qcow2 into (shut-off VM: qemu-img), when the target has one. */
  localPath(file: string): string | undefined;
  writeSmallFile(file: string, data: Buffer | string): Promise<void>;
  openDisk(file: string): Promise<DiskOut | string>;
  /** Stores the manifest and makes the point listed; then retention. */
  commit(manifest: BackupManifest, retention: RetentionPolicy): Promise<CommittedBackup>;
  /** Removes what this backup wrote (nothing is listed); safe to call twice. */
  discard(): Promise<void>;
}

/** A pool of this host: a .tmp-<id> dir renamed into place by commit. */
export async function openLocalTarget(pool: PoolRecord, vmUuid: string, id: string): Promise<BackupTarget> {
  const abandonedIds = await tempBackupIds(pool, vmUuid);
  await removeTempDirs(pool, vmUuid, ['backup', 'copy']);
  const history = await listManifests(pool, vmUuid);
  const dir = await makeTempDir(pool, vmUuid, id);
  return {
    label: `pool ${pool.name}`,
    localPool: pool,
    history,
    abandonedIds,
    localPath: (file) => join(dir, file),
    writeSmallFile: (file, data) => writeFileDurably(join(dir, file), data, { flag: 'wx', mode: smallFileMode(file) }),
    openDisk: async (file) => join(dir, file),
    async commit(manifest, retention) {
      await publishBackup(pool, manifest);
      const pruned = await pruneBackups(pool, vmUuid, retention);
      return {
        backup: backupMessage(pool, manifest),
        pruned: pruned.map((m) => ({ id: m.id, checkpoint: m.checkpoint })),
      };
    },
    discard: () => rm(dir, { recursive: true, force: true }),
  };
}

/** The domain XML is readable; firmware state (UEFI variables, TPM secrets) is root's alone. */
export const smallFileMode = (file: string) => (file === DOMAIN_XML ? 0o644 : 0o600);
