// Backups (#24): a VM's backups, backing up now (a task), and restore, verify (tasks) and delete of
// a stored point, addressed by host, pool, VM UUID and id; backup schedules and targets. Shapes are the server's
// (server/src/dto/backups.ts). No Lit imports.
import type {
  BackupDto,
  BackupScheduleDto,
  BackupScheduleInputDto,
  BackupScheduleRunDto,
  BackupTargetDto,
  CreateBackupDto,
  RestoreBackupDto,
  RestoreDiskDto,
  RestoreOverVmDto,
} from '@dto/backups.js';
import type { TaskDto } from '@dto/tasks.js';
import { apiDelete, apiGet, apiPatch, apiPost } from './client.js';

const vmBackups = (id: string) => `/vms/${encodeURIComponent(id)}/backups`;
const e = encodeURIComponent;
const pointPath = (b: BackupDto) => `/backups/${e(b.hostId)}/${e(b.pool)}/${e(b.vmUuid)}/${e(b.id)}`;

export const fetchVmBackups = (id: string, signal?: AbortSignal) => apiGet<BackupDto[]>(vmBackups(id), { signal });

/** Full the first time into a pool, incremental after (unless `full`). */
export const backUpVm = (id: string, req: CreateBackupDto) => apiPost<TaskDto>(vmBackups(id), req);

/** A new VM (new UUID and MACs) from a point, its disks in `targetPool` of the same host. */
export const restoreBackup = (b: BackupDto, req: RestoreBackupDto) => apiPost<TaskDto>(`${pointPath(b)}/restore`, req);

/** Over the VM the point was taken of (shut off); `confirmName` is its name, typed. */
export const restoreBackupOverVm = (b: BackupDto, req: RestoreOverVmDto) =>
  apiPost<TaskDto>(`${pointPath(b)}/restore-over`, req);

/** One disk of a point as a new volume in a pool of the same host. */
export const restoreBackupDisk = (b: BackupDto, req: RestoreDiskDto) =>
  apiPost<TaskDto>(`${pointPath(b)}/restore-disk`, req);

export const verifyBackup = (b: BackupDto) => apiPost<TaskDto>(`${pointPath(b)}/verify`);

export const deleteBackup = (b: BackupDto, withDependents: boolean) =>
  apiDelete<{ deletedIds: string[] }>(`${pointPath(b)}?withDependents=${withDependents}`);

/** The points built on `b` (its incrementals, theirs, …) in `all`. */
export function dependentsOf(all: readonly BackupDto[], b: BackupDto): BackupDto[] {
  const chain = new Set([b.id]);
  const out: BackupDto[] = [];
  for (const x of [...all].sort((p, q) => p.createdAt.localeCompare(q.createdAt))) {
    if (x.pool === b.pool && x.parentId && chain.has(x.parentId)) {
      chain.add(x.id);
      out.push(x);
    }
  }
  return out;
}

const schedules = '/backup-schedules';
const schedulePath = (id: string) => `/backup-schedules/${encodeURIComponent(id)}`;

export const fetchBackupSchedules = (signal?: AbortSignal) => apiGet<BackupScheduleDto[]>(schedules, { signal });

export const createBackupSchedule = (req: BackupScheduleInputDto) => apiPost<BackupScheduleDto>(schedules, req);

/** Every setting is sent; the next run counts from now. */
export const updateBackupSchedule = (id: string, req: BackupScheduleInputDto) =>
  apiPatch<BackupScheduleDto>(schedulePath(id), req);

export const deleteBackupSchedule = (id: string) => apiDelete<void>(schedulePath(id));

/** One backup task per selected VM, started now; a VM being backed up already is skipped. */
export const runBackupSchedule = (id: string) => apiPost<BackupScheduleRunDto>(`${schedulePath(id)}/run`);

/** Every active pool of the online hosts with its capacity and the points it holds. */
export const fetchBackupTargets = (signal?: AbortSignal) => apiGet<BackupTargetDto[]>('/backup-targets', { signal });
