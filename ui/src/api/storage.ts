// Storage pools and volumes of each host, ISO/disk uploads (a task, then XHR PUT with progress).
// Shapes are the server's (server/src/dto/storage.ts). A pool is identified by (hostId, name).
// No Lit imports.
import type { CreatePoolDto, GrowPoolDto, PoolDto, VolumeDto } from '@dto/storage.js';
import type { TaskDto } from '@dto/tasks.js';
import type { VolumeFormat } from '@dto/enums.js';
import { apiGet, apiPost, apiDelete } from './client.js';
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
export const fetchVolumes = (hostId: string, pool: string, signal?: AbortSignal) =>
  apiGet<VolumeDto[]>(`${poolPath(hostId, pool)}/volumes`, { signal });
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
