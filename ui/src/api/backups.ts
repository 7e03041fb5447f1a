// Backups (#24): a VM's backups, backing up now (a task), and restore, verify (tasks) and delete of
// a stored point, addressed by host, pool, VM UUID and id. Shapes are the server's
// (server/src/dto/backups.ts). No Lit imports.
import type { BackupDto, CreateBackupDto, RestoreBackupDto } from '@dto/backups.js';
import type { TaskDto } from '@dto/tasks.js';
import { apiDelete, apiGet, apiPost } from './client.js';

const vmBackups = (id: string) => `/vms/${encodeURIComponent(id)}/backups`;
const e = encodeURIComponent;
const pointPath = (b: BackupDto) => `/backups/${e(b.hostId)}/${e(b.pool)}/${e(b.vmUuid)}/${e(b.id)}`;

export const fetchVmBackups = (id: string, signal?: AbortSignal) => apiGet<BackupDto[]>(vmBackups(id), { signal });

/** Full the first time into a pool, incremental after (unless `full`). */
export const backUpVm = (id: string, req: CreateBackupDto) => apiPost<TaskDto>(vmBackups(id), req);

/** A new VM (new UUID and MACs) from a point, its disks in `targetPool` of the same host. */
export const restoreBackup = (b: BackupDto, req: RestoreBackupDto) => apiPost<TaskDto>(`${pointPath(b)}/restore`, req);

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
