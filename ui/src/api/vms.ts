// Virtual machines: list, detail, lifecycle (202 + task), snapshots, console tickets.
// Shapes are the server's (server/src/dto/vms.ts). No Lit imports.
import type { TaskDto } from '@dto/tasks.js';
import type { VmState } from '@dto/enums.js';
import type {
  AttachDiskDto,
  CdromMediaDto,
  CloneVmDto,
  ConsoleTicketDto,
  CreateSnapshotDto,
  CreateVmDto,
  DeleteVmResultDto,
  ListVmPageQuery,
  SnapshotDto,
  NewNicDto,
  UpdateVmDto,
  VmAutostartDto,
  VmDto,
  VmPageDto,
  VmStatsDto,
} from '@dto/vms.js';
import { apiGet, apiPost, apiPatch, apiDelete, apiRequest, apiUrl } from './client.js';

export type VmAction = 'start' | 'shutdown' | 'force-off' | 'reboot' | 'reset' | 'pause' | 'resume';

const vmPath = (id: string) => `/vms/${encodeURIComponent(id)}`;

/**
 * One page of the VM list, filtered and sorted by the server (a 10,000-VM vDC sends 100 at a time);
 * pass the reply's nextCursor back, with the same sort and filters, for the next page.
 */
export const fetchVmPage = (query: ListVmPageQuery, signal?: AbortSignal) => {
  const q = Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== '');
  return apiGet<VmPageDto>(`/vms/page?${new URLSearchParams(q).toString()}`, { signal });
};
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

// One function per lifecycle operation, each with its literal path (the API coverage test matches them).
export const startVm = (id: string) => apiPost<TaskDto>(`${vmPath(id)}/start`);
/** Graceful shutdown: through the guest agent when it runs, else the ACPI power button. */
export const shutdownVm = (id: string) => apiPost<TaskDto>(`${vmPath(id)}/shutdown`);
/** Pulls the plug. */
export const forceOffVm = (id: string) => apiPost<TaskDto>(`${vmPath(id)}/force-off`);
export const rebootVm = (id: string) => apiPost<TaskDto>(`${vmPath(id)}/reboot`);
/** Hard reset (the reset button): no guest cooperation. */
export const resetVm = (id: string) => apiPost<TaskDto>(`${vmPath(id)}/reset`);
export const pauseVm = (id: string) => apiPost<TaskDto>(`${vmPath(id)}/pause`);
export const resumeVm = (id: string) => apiPost<TaskDto>(`${vmPath(id)}/resume`);

const ACTIONS: Record<VmAction, (id: string) => Promise<TaskDto>> = {
  start: startVm,
  shutdown: shutdownVm,
  'force-off': forceOffVm,
  reboot: rebootVm,
  reset: resetVm,
  pause: pauseVm,
  resume: resumeVm,
};
/** A lifecycle action (start, shutdown = ACPI, force-off = pull the plug, …). */
export const actOnVm = (id: string, action: VmAction) => ACTIONS[action](id);

/** A full or linked clone on the same host; the task result carries `{vmId}`. */
export const cloneVm = (id: string, req: CloneVmDto) => apiPost<TaskDto>(`${vmPath(id)}/clone`, req);
/** The URL that downloads the VM as an OVA (a plain link: the browser streams it to disk). */
export const vmExportUrl = (id: string) => apiUrl(`${vmPath(id)}/export.ova`);
export const fetchVmStats = (id: string, signal?: AbortSignal) => apiGet<VmStatsDto>(`${vmPath(id)}/stats`, { signal });

export const fetchSnapshots = (id: string, signal?: AbortSignal) =>
  apiGet<SnapshotDto[]>(`${vmPath(id)}/snapshots`, { signal });
export const createSnapshot = (id: string, req: CreateSnapshotDto) => apiPost<TaskDto>(`${vmPath(id)}/snapshots`, req);
export const revertSnapshot = (id: string, name: string) =>
  apiPost<TaskDto>(`${vmPath(id)}/snapshots/${encodeURIComponent(name)}/revert`);
export const deleteSnapshot = (id: string, name: string) =>
  apiDelete<TaskDto>(`${vmPath(id)}/snapshots/${encodeURIComponent(name)}`);

/** A one-time ticket (30 s, bound to the user and VM) for the console websocket. */
export const createConsoleTicket = (id: string) => apiPost<ConsoleTicketDto>(`${vmPath(id)}/console-ticket`);
/** A one-time ticket for the graphical console (409 unless the VM runs with a video device). */
export const createGraphicsTicket = (id: string) => apiPost<ConsoleTicketDto>(`${vmPath(id)}/graphics-ticket`);

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

// Changes a VM takes at once — live while it runs (hotplug), in its definition either way; each
// answers the VM as it is afterwards.
/** Autostart on host boot with its order and delay (any state). */
export const setVmAutostart = (id: string, a: VmAutostartDto) => apiRequest<VmDto>('PUT', `${vmPath(id)}/autostart`, a);
/** vCPU hotplug: the count now, up to maxVcpus (a running VM only grows). */
export const setVmVcpus = (id: string, vcpus: number) => apiRequest<VmDto>('PUT', `${vmPath(id)}/vcpus`, { vcpus });
/** Memory now through the balloon, up to maxMemoryMib. */
export const setVmMemory = (id: string, memoryMib: number) =>
  apiRequest<VmDto>('PUT', `${vmPath(id)}/memory`, { memoryMib });
/** Inserts a pool volume into CD-ROM drive `index`, or ejects it (`{}`). */
export const changeVmCdromMedia = (id: string, index: number, media: CdromMediaDto) =>
  apiPost<VmDto>(`${vmPath(id)}/cdroms/${index}/media`, media);
export const attachVmDisk = (id: string, disk: AttachDiskDto) => apiPost<VmDto>(`${vmPath(id)}/disks`, disk);
/** Detaches disk `target` (vdb, sdc, …); its volume stays in the pool. */
export const detachVmDisk = (id: string, target: string) =>
  apiDelete<VmDto>(`${vmPath(id)}/disks/${encodeURIComponent(target)}`);
export const attachVmNic = (id: string, nic: NewNicDto) => apiPost<VmDto>(`${vmPath(id)}/nics`, nic);
export const detachVmNic = (id: string, mac: string) =>
  apiDelete<VmDto>(`${vmPath(id)}/nics/${encodeURIComponent(mac)}`);
