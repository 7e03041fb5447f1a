// Routes: the NFS backup targets (list with capacity and contents; admins add and remove them).
import type { Services } from '../compose.js';
import type { HandlersOf } from './handler.js';
import type { backupTargetOperations } from '../dto/backup-targets.js';

export function backupTargetHandlers(s: Services): HandlersOf<typeof backupTargetOperations> {
  return {
    listNfsBackupTargets: () => s.backupTargets.list(),
    createNfsBackupTarget: ({ body }) => s.backupTargets.create(body),
    deleteNfsBackupTarget: ({ params }) => s.backupTargets.delete(params.id),
  };
}
