// Backups (#24): a VM's backups in the pools of its host (full, then incremental; each restorable
// without this server's database), backing up now, restoring a point as a new VM, verifying the
// checksums of a point and deleting points. A backup is addressed by host, pool, VM UUID and id,
// so it stays reachable after its VM is gone. Long operations run as tasks.
import { arr, bool, int, named, obj, oneOf, opt, orNull, str } from '../schema/schema.js';
import type { Infer } from '../schema/schema.js';
import type { Operation } from './operation.js';
import { objectName, timestamp } from './common.js';
import { TaskDto } from './tasks.js';
import { backupPoolName } from './backup-targets.js';

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
        'application: the guest agent froze the filesystems; crash: as after a power cut (no guest agent, or it froze nothing); stopped: the VM was off',
    }),
    sizeBytes: int({ description: 'bytes stored for this point' }),
    disks: arr(obj({ target: str(), capacityBytes: int(), storedBytes: int() })),
  }),
);
export type BackupDto = Infer<typeof BackupDto>;

export const CreateBackupDto = named(
  'CreateBackupDto',
  obj({
    pool: str({ description: "the target: a pool of the VM's host, or of hostId's" }),
    hostId: opt(
      str({
        maxLength: 64,
        description:
          "the host holding the target pool: another host of the vDC receives the backup; absent: the VM's host",
      }),
    ),
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

/** Restoring on another host than the one holding the backup: the chain is copied there first. */
const restoreHostId = () =>
  str({
    maxLength: 64,
    description:
      'the host to restore on; absent: the host holding the backup. Another host gets the point (and the points it builds on) copied into targetPool first, removed again after the restore',
  });

export const RestoreBackupDto = named(
  'RestoreBackupDto',
  obj({
    name: objectName('the new VM (it gets a new UUID and new MACs)'),
    targetPool: str({ description: 'the pool the restored disks go to, on the host the VM is restored on' }),
    hostId: opt(restoreHostId()),
  }),
);
export type RestoreBackupDto = Infer<typeof RestoreBackupDto>;

export const RestoreOverVmDto = named(
  'RestoreOverVmDto',
  obj({
    confirmName: str({ maxLength: 80, description: "the VM's current name, typed to confirm its disks are replaced" }),
    disks: opt(
      arr(str({ maxLength: 32 }), {
        maxItems: 16,
        description: 'the backup\'s disk targets to restore over the VM\'s (e.g. ["vdb"]); absent: every disk',
      }),
    ),
  }),
);
export type RestoreOverVmDto = Infer<typeof RestoreOverVmDto>;

export const RestoreDiskDto = named(
  'RestoreDiskDto',
  obj({
    disk: str({ minLength: 1, maxLength: 32, description: "the disk's target in the backup (vda, ...)" }),
    targetPool: str({ description: 'a pool of the host the disk is restored on' }),
    name: objectName('the new volume'),
    hostId: opt(restoreHostId()),
  }),
);
export type RestoreDiskDto = Infer<typeof RestoreDiskDto>;

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

const pointOperations = [
  {
    id: 'listVmBackups',
    method: 'GET',
    path: '/api/v1/vms/:id/backups',
    tag: 'backups',
    role: 'viewer',
    status: 200,
    response: arr(BackupDto),
    summary: "The VM's backups in every active pool of the online hosts (its own and the others'), oldest first",
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
      "Back the VM up into a pool of its host, or of another host (hostId: streamed between the hosts' agents): incremental when the last backup there is a checkpoint the VM still has, else full. Task result: BackupDto; cancellable",
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
    summary:
      'Restore a point as a new VM on the host holding it, or on hostId (the chain copied there first). Task result: {vmId, name, volumes}',
  },
  {
    id: 'restoreBackupOverVm',
    method: 'POST',
    path: `${point}/restore-over`,
    tag: 'backups',
    role: 'operator',
    body: RestoreOverVmDto,
    status: 202,
    response: TaskDto,
    summary:
      "Restore a point over the VM it was taken of (shut off; confirmName its name): the VM's disks are replaced only once every restored disk is complete, so a failure leaves them as they were; restoring every disk (no disks given) also brings back its vCPUs, memory, UEFI variables and TPM state as at the point; its next backup is full. A point held on another host than the VM's is copied to the VM's host first (into the pool of its first disk). Task result: {volumes, restored: what besides the disks came back}",
  },
  {
    id: 'restoreBackupDisk',
    method: 'POST',
    path: `${point}/restore-disk`,
    tag: 'backups',
    role: 'operator',
    body: RestoreDiskDto,
    status: 202,
    response: TaskDto,
    summary:
      'Restore one disk of a point as a new qcow2 volume in a pool of the host holding it, or of hostId (the chain copied there first). Task result: {pool, volume}',
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

// Backup schedules (#24): cron-like times, a selection of VMs resolved at each run, a target pool
// (by name, on each selected VM's host) and retention applied after each successful run.

const keep = (what: string) => opt(int({ min: 1, max: 1000, description: `retention: ${what}` }));

export const BackupSelectionDto = named(
  'BackupSelectionDto',
  obj({
    vmIds: arr(str({ maxLength: 64 }), { maxItems: 500, description: 'these VMs (UUIDs)' }),
    tags: arr(str({ minLength: 1, maxLength: 64 }), {
      maxItems: 32,
      description: 'every VM carrying one of these tags',
    }),
    clusterIds: arr(str({ maxLength: 64 }), { maxItems: 32, description: 'every VM on a host of these clusters' }),
  }),
);
export type BackupSelectionDto = Infer<typeof BackupSelectionDto>;

const scheduleProps = {
  name: str({ minLength: 1, maxLength: 80 }),
  cron: str({
    minLength: 1,
    maxLength: 200,
    description: 'minute hour day-of-month month day-of-week, UTC (e.g. "30 2 * * *"): *, lists, ranges, */n',
  }),
  selection: BackupSelectionDto,
  pool: backupPoolName(
    "an NFS target (nfs:<name>), or the target pool, by name, on each selected VM's host (or on hostId)",
  ),
  hostId: opt(
    str({
      maxLength: 64,
      description: "one host whose pool receives every selected VM's backups; absent: each VM's own host",
    }),
  ),
  keepLast: keep('keep the newest N points of each VM in the pool'),
  keepDaily: keep('also the newest point of each of the last N days (UTC)'),
  keepWeekly: keep('also the newest point of each of the last N ISO weeks'),
  keepMonthly: keep('also the newest point of each of the last N months'),
  enabled: bool(),
};
export const BackupScheduleInputDto = named('BackupScheduleInputDto', obj(scheduleProps));
export type BackupScheduleInputDto = Infer<typeof BackupScheduleInputDto>;

export const BACKUP_RUN_STATUSES = ['running', 'succeeded', 'failed'] as const;

export const BackupScheduleRunDto = named(
  'BackupScheduleRunDto',
  obj({
    startedAt: timestamp(),
    finishedAt: orNull(timestamp()),
    status: oneOf(BACKUP_RUN_STATUSES, { description: 'failed: at least one VM failed' }),
    trigger: oneOf(['schedule', 'missed', 'manual'] as const, {
      description: 'missed: a run due while no server ran the schedule, run once at start',
    }),
    message: str({ description: 'what happened, one line' }),
    taskIds: arr(str(), { description: 'one task per VM' }),
  }),
);
export type BackupScheduleRunDto = Infer<typeof BackupScheduleRunDto>;

export const BackupScheduleDto = named(
  'BackupScheduleDto',
  obj({
    ...scheduleProps,
    id: str(),
    createdAt: timestamp(),
    nextRunAt: orNull(str({ format: 'date-time', description: 'null while disabled' })),
    lastRun: orNull(BackupScheduleRunDto),
  }),
);
export type BackupScheduleDto = Infer<typeof BackupScheduleDto>;

export const BackupTargetDto = named(
  'BackupTargetDto',
  obj({
    hostId: str(),
    hostName: str(),
    pool: str(),
    capacityBytes: int(),
    availableBytes: int(),
    vmCount: int({ description: 'VMs with points in the pool' }),
    points: int(),
    storedBytes: int({ description: 'bytes the points take' }),
  }),
);
export type BackupTargetDto = Infer<typeof BackupTargetDto>;

const schedule = '/api/v1/backup-schedules/:id';

const scheduleOperations = [
  {
    id: 'listBackupSchedules',
    method: 'GET',
    path: '/api/v1/backup-schedules',
    tag: 'backups',
    role: 'viewer',
    status: 200,
    response: arr(BackupScheduleDto),
    summary: 'The backup schedules with their next run and last result',
  },
  {
    id: 'createBackupSchedule',
    method: 'POST',
    path: '/api/v1/backup-schedules',
    tag: 'backups',
    role: 'operator',
    body: BackupScheduleInputDto,
    status: 201,
    response: BackupScheduleDto,
    summary: 'A schedule: its cron is refused naming the field and the item at fault',
  },
  {
    id: 'updateBackupSchedule',
    method: 'PATCH',
    path: schedule,
    tag: 'backups',
    role: 'operator',
    body: BackupScheduleInputDto,
    status: 200,
    response: BackupScheduleDto,
    summary: 'Change a schedule: every setting is given (also to enable or disable it); the next run counts from now',
  },
  {
    id: 'deleteBackupSchedule',
    method: 'DELETE',
    path: schedule,
    tag: 'backups',
    role: 'operator',
    status: 204,
    summary: 'Delete a schedule (its stored backups stay)',
  },
  {
    id: 'runBackupSchedule',
    method: 'POST',
    path: `${schedule}/run`,
    tag: 'backups',
    role: 'operator',
    status: 202,
    response: BackupScheduleRunDto,
    summary: 'Run a schedule now: one backup task per selected VM (a VM being backed up already is skipped)',
  },
  {
    id: 'listBackupTargets',
    method: 'GET',
    path: '/api/v1/backup-targets',
    tag: 'backups',
    role: 'viewer',
    status: 200,
    response: arr(BackupTargetDto),
    summary: 'Every active pool of the online hosts as a backup target: capacity and the points it holds',
  },
] as const satisfies readonly Operation[];

export const backupOperations = [...pointOperations, ...scheduleOperations] as const satisfies readonly Operation[];
