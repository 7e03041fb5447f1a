// Virtual machines: list, detail, lifecycle (202 + task), snapshots, console tickets.
// Shapes are the server's (server/src/dto/vms.ts). No Lit imports.
import type { TaskDto } from '@dto/tasks.js';
import type { VmState } from '@dto/enums.js';
import type {
  ConsoleTicketDto,
  CreateSnapshotDto,
  CreateVmDto,
  DeleteVmResultDto,
  SnapshotDto,
  UpdateVmDto,
  VmDto,
} from '@dto/vms.js';
import { apiGet, apiPost, apiPatch, apiDelete } from './client.js';

export type VmAction = 'start' | 'shutdown' | 'force-off' | 'reboot' | 'reset' | 'pause' | 'resume';

const vmPath = (id: string) => `/vms/${encodeURIComponent(id)}`;

export const fetchVms = (signal?: AbortSignal) => apiGet<VmDto[]>('/vms', { signal });
export const fetchVm = (id: string, signal?: AbortSignal) => apiGet<VmDto>(vmPath(id), { signal });
/** Creates a VM; the task's result carries `{vmId}`. */
export const createVm = (req: CreateVmDto) => apiPost<TaskDto>('/vms', req);
export const updateVm = (id: string, patch: UpdateVmDto) => apiPatch<VmDto>(vmPath(id), patch);
export const deleteVm = (id: string, deleteDisks: boolean) =>
  apiDelete<TaskDto>(`${vmPath(id)}?deleteDisks=${deleteDisks}`);

/** The disks a finished vm.delete task kept (its result, DeleteVmResultDto); none for anything else. */
export function keptDisksOf(task: Partial<TaskDto> | undefined): DeleteVmResultDto['keptDisks'] {
  const result = task?.result as Partial<DeleteVmResultDto> | null | undefined;
  return Array.isArray(result?.keptDisks) ? result.keptDisks : [];
}

/** A lifecycle action (start, shutdown = ACPI, force-off = pull the plug, …). */
export const actOnVm = (id: string, action: VmAction) => apiPost<TaskDto>(`${vmPath(id)}/${action}`);
export const startVm = (id: string) => actOnVm(id, 'start');
export const shutdownVm = (id: string) => actOnVm(id, 'shutdown');
export const forceOffVm = (id: string) => actOnVm(id, 'force-off');

export const fetchSnapshots = (id: string, signal?: AbortSignal) =>
  apiGet<SnapshotDto[]>(`${vmPath(id)}/snapshots`, { signal });
export const createSnapshot = (id: string, req: CreateSnapshotDto) => apiPost<TaskDto>(`${vmPath(id)}/snapshots`, req);
export const revertSnapshot = (id: string, name: string) =>
  apiPost<TaskDto>(`${vmPath(id)}/snapshots/${encodeURIComponent(name)}/revert`);
export const deleteSnapshot = (id: string, name: string) =>
  apiDelete<TaskDto>(`${vmPath(id)}/snapshots/${encodeURIComponent(name)}`);

/** A one-time ticket (30 s, bound to the user and VM) for the console websocket. */
export const createConsoleTicket = (id: string) => apiPost<ConsoleTicketDto>(`${vmPath(id)}/console-ticket`);

/** Turns a ticket's wss path into an absolute websocket URL on this origin. */
export function socketUrl(path: string): string {
  if (/^wss?:/.test(path)) return path;
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}${path}`;
}

/** A VM is "on" for the console when it runs or is paused. */
export function vmIsOn(state: VmState): boolean {
  return state === 'running' || state === 'paused' || state === 'shutting-down' || state === 'blocked';
}

export const vmCpuCount = (vm: Pick<VmDto, 'sockets' | 'cores'>) => (vm.sockets || 1) * (vm.cores || 1);
