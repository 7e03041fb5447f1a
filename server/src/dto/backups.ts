// Backups (#24): a VM's backups in the pools of its host (full, then incremental; each restorable
// without this server's database), backing up now, restoring a point as a new VM, verifying the
// checksums of a point and deleting points. A backup is addressed by host, pool, VM UUID and id,
// so it stays reachable after its VM is gone. Long operations run as tasks.
import { arr, bool, int, named, obj, oneOf, opt, str } from '../schema/schema.js';
import type { Infer } from '../schema/schema.js';
import type { Operation } from './operation.js';
import { objectName, timestamp } from './common.js';
import { TaskDto } from './tasks.js';

export const BACKUP_KINDS = ['full', 'incremental'] as const;
export const BACKUP_CONSISTENCIES = ['application', 'crash', 'stopped'] as const;

export const BackupDto = named(
  'BackupDto',
  obj({
    id: str({ description: 'the backup id (its directory in the pool)' }),
    hostId: str(),
    pool: str({ description: 'the pool holding it (backups/<vmUuid>/<id>/ inside it)' }),
    vmUuid: str(),
    vmName: str({ description: 'the VM as it was named when backed up' }),
    createdAt: timestamp(),
    kind: oneOf(BACKUP_KINDS),
    parentId: str({ description: 'the point an incremental builds on; "" for a full backup' }),
    consistency: oneOf(BACKUP_CONSISTENCIES, {
      description:
        'application: the guest agent froze the filesystems; crash: as after a power cut; stopped: the VM was off',
    }),
    sizeBytes: int({ description: 'bytes stored for this point' }),
    disks: arr(obj({ target: str(), capacityBytes: int(), storedBytes: int() })),
  }),
);
export type BackupDto = Infer<typeof BackupDto>;

export const CreateBackupDto = named(
  'CreateBackupDto',
  obj({
    pool: str({ description: "the target: a pool of the VM's host" }),
    full: opt(bool({ description: 'a full backup even when an incremental is possible' })),
    keepLast: opt(
      int({
        min: 1,
        max: 1000,
        description:
          'retention: afterwards keep the newest N points of the VM in the pool (and the points they build on)',
      }),
    ),
    keepDaily: opt(
      int({ min: 1, max: 1000, description: 'retention: also keep the newest point of each of the last N days (UTC)' }),
    ),
    keepWeekly: opt(
      int({ min: 1, max: 1000, description: 'retention: also keep the newest point of each of the last N ISO weeks' }),
    ),
    keepMonthly: opt(
      int({ min: 1, max: 1000, description: 'retention: also keep the newest point of each of the last N months' }),
    ),
  }),
);
export type CreateBackupDto = Infer<typeof CreateBackupDto>;

export const RestoreBackupDto = named(
  'RestoreBackupDto',
  obj({
    name: objectName('the new VM (it gets a new UUID and new MACs)'),
    targetPool: str({ description: 'the pool of the same host the restored disks go to' }),
  }),
);
export type RestoreBackupDto = Infer<typeof RestoreBackupDto>;

export const BackupVerifyResultDto = named(
  'BackupVerifyResultDto',
  obj({
    ok: bool(),
    bytesChecked: int(),
    corruptions: arr(obj({ disk: str(), offset: int(), detail: str() })),
  }),
);
export type BackupVerifyResultDto = Infer<typeof BackupVerifyResultDto>;

export const DeleteBackupQuery = obj({
  withDependents: opt(oneOf(['true', 'false'] as const, { description: 'also delete the incrementals built on it' })),
});

const point = '/api/v1/backups/:hostId/:pool/:vmUuid/:backupId';

export const backupOperations = [
  {
    id: 'listVmBackups',
    method: 'GET',
    path: '/api/v1/vms/:id/backups',
    tag: 'backups',
    role: 'viewer',
    status: 200,
    response: arr(BackupDto),
    summary: "The VM's backups in every active pool of its host, oldest first",
  },
  {
    id: 'createVmBackup',
    method: 'POST',
    path: '/api/v1/vms/:id/backups',
    tag: 'backups',
    role: 'operator',
    body: CreateBackupDto,
    status: 202,
    response: TaskDto,
    summary:
      'Back the VM up into a pool of its host: incremental when the last backup there is a checkpoint the VM still has, else full. Task result: BackupDto; cancellable',
  },
  {
    id: 'restoreBackup',
    method: 'POST',
    path: `${point}/restore`,
    tag: 'backups',
    role: 'operator',
    body: RestoreBackupDto,
    status: 202,
    response: TaskDto,
    summary: 'Restore a point as a new VM on the same host. Task result: {vmId, name, volumes}',
  },
  {
    id: 'verifyBackup',
    method: 'POST',
    path: `${point}/verify`,
    tag: 'backups',
    role: 'operator',
    status: 202,
    response: TaskDto,
    summary:
      'Re-read a point and check every checksum. Task result: BackupVerifyResultDto; a corrupted point fails the task, naming each disk and offset',
  },
  {
    id: 'deleteBackup',
    method: 'DELETE',
    path: point,
    tag: 'backups',
    role: 'operator',
    query: DeleteBackupQuery,
    status: 200,
    response: obj({ deletedIds: arr(str()) }),
    summary: 'Delete a point; 409 while later incrementals build on it unless withDependents=true',
  },
] as const satisfies readonly Operation[];
