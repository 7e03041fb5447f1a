// Storage pools and volumes of each host, ISO/disk uploads (a task, then XHR PUT with progress).
// Shapes are the server's (server/src/dto/storage.ts). A pool is identified by (hostId, name).
// No Lit imports.
import type { CreatePoolDto, CreateVolumeDto, GrowPoolDto, PoolDto, VolumeDto } from '@dto/storage.js';
import type { TaskDto } from '@dto/tasks.js';
import type { VolumeFormat } from '@dto/enums.js';
import { apiGet, apiPost, apiDelete, apiUrl } from './client.js';
import { uploadFile, type UploadOptions } from './upload.js';

const poolPath = (hostId: string, pool: string) =>
  `/hosts/${encodeURIComponent(hostId)}/pools/${encodeURIComponent(pool)}`;

export const fetchPools = (signal?: AbortSignal) => apiGet<PoolDto[]>('/pools', { signal });
/** Creates a loop pool (backing file, mkfs, mount): a task whose result is the PoolDto. */
export const createPool = (hostId: string, req: CreatePoolDto) =>
  apiPost<TaskDto>(`/hosts/${encodeURIComponent(hostId)}/pools`, req);
export const growPool = (hostId: string, pool: string, req: GrowPoolDto) =>
  apiPost<PoolDto>(`${poolPath(hostId, pool)}/grow`, req);
export const deletePool = (hostId: string, pool: string, deleteBackingFile: boolean) =>
  apiDelete<void>(`${poolPath(hostId, pool)}?deleteBackingFile=${deleteBackingFile}`);
/** The pools of one host. */
export const fetchHostPools = (hostId: string, signal?: AbortSignal) =>
  apiGet<PoolDto[]>(`/hosts/${encodeURIComponent(hostId)}/pools`, { signal });
export const fetchPool = (hostId: string, pool: string, signal?: AbortSignal) =>
  apiGet<PoolDto>(poolPath(hostId, pool), { signal });
/** Activates a pool (loop pools: attach the loop device and mount it). */
export const startPool = (hostId: string, pool: string) => apiPost<PoolDto>(`${poolPath(hostId, pool)}/start`);
/** Deactivates a pool; refused while a VM, upload or import uses it. */
export const stopPool = (hostId: string, pool: string) => apiPost<PoolDto>(`${poolPath(hostId, pool)}/stop`);
export const fetchVolumes = (hostId: string, pool: string, signal?: AbortSignal) =>
  apiGet<VolumeDto[]>(`${poolPath(hostId, pool)}/volumes`, { signal });

const volumePath = (v: Pick<VolumeDto, 'hostId' | 'pool' | 'name'>) =>
  `${poolPath(v.hostId, v.pool)}/volumes/${encodeURIComponent(v.name)}`;
export const fetchVolume = (v: Pick<VolumeDto, 'hostId' | 'pool' | 'name'>, signal?: AbortSignal) =>
  apiGet<VolumeDto>(volumePath(v), { signal });
/** An empty qcow2 or raw volume. */
export const createVolume = (hostId: string, pool: string, req: CreateVolumeDto) =>
  apiPost<VolumeDto>(`${poolPath(hostId, pool)}/volumes`, req);
/** Grows a volume to `capacityBytes` (volumes only grow). */
export const resizeVolume = (v: VolumeDto, capacityBytes: number) =>
  apiPost<VolumeDto>(`${volumePath(v)}/resize`, { capacityBytes });
/** A full copy (or a linked clone) in the same pool; the task result is the new VolumeDto. */
export const cloneVolume = (v: VolumeDto, targetName: string, linked: boolean) =>
  apiPost<TaskDto>(`${volumePath(v)}/clone`, { targetName, linked });
/** The URL that downloads the volume's content (a plain link: the browser streams it to disk). */
export const volumeDownloadUrl = (v: VolumeDto) => apiUrl(`${volumePath(v)}/content`);
export const deleteVolume = (hostId: string, pool: string, name: string) =>
  apiDelete<void>(`${poolPath(hostId, pool)}/volumes/${encodeURIComponent(name)}`);

/** All volumes of all given pools (ISO pickers), ignoring pools that fail to list. */
export async function fetchAllVolumes(pools: PoolDto[], signal?: AbortSignal): Promise<VolumeDto[]> {
  const lists = await Promise.all(
    pools.map((p) => fetchVolumes(p.hostId, p.name, signal).catch(() => [] as VolumeDto[])),
  );
  return lists.flat();
}

/** Volume name for an uploaded file: the file name made safe for the server's name rule. */
export function volumeNameFor(fileName: string): string {
  const n = fileName
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 63);
  return n || 'upload';
}

/** The format the server expects for a file, from its extension. */
export function formatForFile(fileName: string): VolumeFormat {
  if (/\.iso$/i.test(fileName)) return 'iso';
  if (/\.qcow2$/i.test(fileName)) return 'qcow2';
  return 'raw';
}

/** Uploads an ISO or disk image into a new volume of a pool; resolves with the volume. */
export async function uploadVolume(
  hostId: string,
  pool: string,
  name: string,
  file: Blob,
  format: VolumeFormat,
  opts?: UploadOptions,
): Promise<VolumeDto> {
  const task = await uploadFile(`${poolPath(hostId, pool)}/uploads`, { name, format }, file, opts);
  return task.result as VolumeDto;
}
