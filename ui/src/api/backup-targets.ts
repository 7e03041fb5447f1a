// NFS backup targets (#24): list (each with capacity and what it holds, or why it cannot be
// mounted), add and remove (admins). Shapes are the server's (server/src/dto/backup-targets.ts). No Lit imports.
import type { NfsTargetDto, NfsTargetInputDto } from '@dto/backup-targets.js';
import { apiDelete, apiGet, apiPost } from './client.js';

const nfs = '/backup-targets/nfs';

export const fetchNfsBackupTargets = (signal?: AbortSignal) => apiGet<NfsTargetDto[]>(nfs, { signal });

export const createNfsBackupTarget = (req: NfsTargetInputDto) => apiPost<NfsTargetDto>(nfs, req);

/** The backups on the export stay there. */
export const deleteNfsBackupTarget = (id: string) => apiDelete<void>(`${nfs}/${encodeURIComponent(id)}`);
