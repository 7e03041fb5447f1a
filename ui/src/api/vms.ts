// Virtual machines: list, detail, lifecycle (202 + task), snapshots, console tickets.
// Shapes re-declared from the server contract (server/src/dto/vms.ts). No Lit imports.
import { apiGet, apiPost, apiPatch, apiDelete } from './client.js';
import type { TaskDto } from './tasks.js';

export const VM_STATES = ['running', 'paused', 'shutoff', 'shutting-down', 'crashed', 'pmsuspended', 'blocked', 'unknown'] as const;
export type VmState = (typeof VM_STATES)[number];
export const NIC_MODELS = ['virtio', 'e1000', 'e1000e', 'vmxnet3', 'rtl8139'] as const;
export type NicModel = (typeof NIC_MODELS)[number];
export type DiskBus = 'virtio' | 'sata' | 'scsi' | 'ide';
export type Firmware = 'bios' | 'uefi';

export interface VmDiskDto {
  pool: string;
  volume: string;
  bus: DiskBus;
  readonly: boolean;
}

export interface VmCdromDto {
  pool: string;
  volume: string;
  bus: DiskBus;
}

export interface VmNicDto {
  kind: 'network' | 'bridge' | 'user';
  source: string;
  model: NicModel;
  mac: string;
}

export interface VmStatsDto {
  at: string;
  cpuPercent: number;
  memoryBytes: number;
  memoryUsedBytes: number;
}

export interface VmDto {
  id: string;
  name: string;
  hostId: string;
  hostName: string;
  state: VmState;
  hostOnline: boolean;
  sockets: number;
  cores: number;
  memoryMib: number;
  firmware: Firmware;
  machine: string;
  disks: VmDiskDto[];
  cdroms: VmCdromDto[];
  nics: VmNicDto[];
  bootOrder: ('disk' | 'cdrom' | 'network')[];
  description: string;
  osType: string;
  domainType: string;
  ipAddresses: string[];
  macs: string[];
  stateChangedAt: string | null;
  snapshotCount: number;
  stats: VmStatsDto | null;
}

export interface SnapshotDto {
  name: string;
  description: string;
  createdAt: string | null;
  state: VmState;
  current: boolean;
  parent: string;
}

export interface NewNicDto {
  kind: 'network' | 'bridge' | 'user';
  source?: string;
  model?: NicModel;
}

export interface CreateVmRequest {
  name: string;
  hostId?: string;
  clusterId?: string;
  pool: string;
  sockets?: number;
  cores?: number;
  memoryMib: number;
  firmware?: Firmware;
  disks?: { pool?: string; volume?: string; sizeBytes?: number; bus?: DiskBus }[];
  cdroms?: { pool?: string; volume?: string; bus?: DiskBus }[];
  nics?: NewNicDto[];
  bootOrder?: ('disk' | 'cdrom' | 'network')[];
  start?: boolean;
}

export interface UpdateVmRequest {
  sockets?: number;
  cores?: number;
  memoryMib?: number;
  firmware?: Firmware;
  nics?: (NewNicDto & { mac?: string })[];
}

export type VmAction = 'start' | 'shutdown' | 'force-off' | 'reboot' | 'reset' | 'pause' | 'resume';

export interface ConsoleTicketDto {
  ticket: string;
  /** wss path including the ticket. */
  url: string;
  expiresAt: string;
}

const vmPath = (id: string) => `/vms/${encodeURIComponent(id)}`;

export const fetchVms = (signal?: AbortSignal) => apiGet<VmDto[]>('/vms', { signal });
export const fetchVm = (id: string, signal?: AbortSignal) => apiGet<VmDto>(vmPath(id), { signal });
/** Creates a VM; the task's result carries `{vmId}`. */
export const createVm = (req: CreateVmRequest) => apiPost<TaskDto>('/vms', req);
export const updateVm = (id: string, patch: UpdateVmRequest) => apiPatch<VmDto>(vmPath(id), patch);
export const deleteVm = (id: string, deleteDisks: boolean) => apiDelete<TaskDto>(`${vmPath(id)}?deleteDisks=${deleteDisks}`);

/** A disk a delete kept because something else holds it (server: KeptDiskDto). */
export interface KeptDiskDto {
  pool: string;
  volume: string;
  path: string;
  reason: string;
}

/** The disks a finished vm.delete task kept (its result {keptDisks}); none for anything else. */
export function keptDisksOf(task: unknown): KeptDiskDto[] {
  const result = (task as Partial<TaskDto> | undefined)?.result as { keptDisks?: unknown } | null | undefined;
  return Array.isArray(result?.keptDisks) ? (result.keptDisks as KeptDiskDto[]) : [];
}

/** A lifecycle action (start, shutdown = ACPI, force-off = pull the plug, …). */
export const actOnVm = (id: string, action: VmAction) => apiPost<TaskDto>(`${vmPath(id)}/${action}`);
export const startVm = (id: string) => actOnVm(id, 'start');
export const shutdownVm = (id: string) => actOnVm(id, 'shutdown');
export const forceOffVm = (id: string) => actOnVm(id, 'force-off');

export const fetchSnapshots = (id: string, signal?: AbortSignal) => apiGet<SnapshotDto[]>(`${vmPath(id)}/snapshots`, { signal });
export const createSnapshot = (id: string, name: string) => apiPost<TaskDto>(`${vmPath(id)}/snapshots`, { name });
export const revertSnapshot = (id: string, name: string) => apiPost<TaskDto>(`${vmPath(id)}/snapshots/${encodeURIComponent(name)}/revert`);
export const deleteSnapshot = (id: string, name: string) => apiDelete<TaskDto>(`${vmPath(id)}/snapshots/${encodeURIComponent(name)}`);

/** A one-time ticket (30 s, bound to the user and VM) for the console websocket. */
export const createConsoleTicket = (id: string) => apiPost<ConsoleTicketDto>(`${vmPath(id)}/console-ticket`);

/** Turns a ticket's wss path into an absolute websocket URL on this origin. */
export function socketUrl(path: string): string {
  if (/^wss?:/.test(path)) return path;
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}${path}`;
}

/** A VM is "on" for the console when it runs or is paused. */
export function vmIsOn(state: string): boolean {
  return state === 'running' || state === 'paused' || state === 'shutting-down' || state === 'blocked';
}

export const vmCpuCount = (vm: Pick<VmDto, 'sockets' | 'cores'>) => (vm.sockets || 1) * (vm.cores || 1);
