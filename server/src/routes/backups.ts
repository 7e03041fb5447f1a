// Routes: a VM's backups, backing up now, restore, verify and delete of a stored point, the
// backup schedules (CRUD, run now) and the backup targets.
import type { Services } from '../compose.js';
import type { HandlersOf } from './handler.js';
import type { backupOperations } from '../dto/backups.js';

export function backupHandlers(s: Services): HandlersOf<typeof backupOperations> {
  return {
    listVmBackups: ({ params }) => s.backups.list(params.id),
    createVmBackup: ({ params, body, principal }) => s.backups.create(params.id, body, principal.label),
    restoreBackup: ({ params, body, principal }) => s.backups.restore(params, body, principal.label),
    restoreBackupOverVm: ({ params, body, principal }) => s.backups.restoreOver(params, body, principal.label),
    restoreBackupDisk: ({ params, body, principal }) => s.backups.restoreDisk(params, body, principal.label),
    verifyBackup: ({ params, principal }) => s.backups.verify(params, principal.label),
    deleteBackup: ({ params, query }) => s.backups.delete(params, query.withDependents === 'true'),
    listBackupSchedules: () => s.backupSchedules.list(),
    createBackupSchedule: ({ body }) => s.backupSchedules.create(body),
    updateBackupSchedule: ({ params, body }) => s.backupSchedules.update(params.id, body),
    deleteBackupSchedule: ({ params }) => s.backupSchedules.delete(params.id),
    runBackupSchedule: ({ params, principal }) => s.backupSchedules.runNow(params.id, principal.label),
    listBackupTargets: () => s.backups.targets(),
  };
}
