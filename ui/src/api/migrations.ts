// Moving VMs (#20): where a VM could go (placement's preview with reasons) and the move itself
// (202 + a cancellable task). Shapes are the server's (server/src/dto/migrations.ts). No Lit imports.
import type { MigrateVmDto, MigrationTargetDto } from '@dto/migrations.js';
import type { TaskDto } from '@dto/tasks.js';
import { apiGet, apiPost } from './client.js';

export const fetchMigrationTargets = (id: string, signal?: AbortSignal) =>
  apiGet<MigrationTargetDto[]>(`/vms/${encodeURIComponent(id)}/migrate/targets`, { signal });

/** Live when running, cold when off; the VM's own host with another pool is a storage move. */
export const migrateVm = (id: string, req: MigrateVmDto) =>
  apiPost<TaskDto>(`/vms/${encodeURIComponent(id)}/migrate`, req);

/** What a move to `hostId` will be, for the dialog's label. */
export function moveKind(vm: { hostId: string; state: string }, hostId: string): 'storage move' | 'live' | 'cold' {
  if (hostId === vm.hostId) return 'storage move';
  return vm.state === 'running' || vm.state === 'paused' ? 'live' : 'cold';
}
