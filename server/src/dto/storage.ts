// Storage pools and volumes of each host, ISO/disk uploads (opened here, the raw body then PUT
// to the upload URL and streamed to the agent, never buffered; see uploads.ts) and downloads.
import { arr, bool, int, named, obj, oneOf, opt, str } from '../schema/schema.js';
import type { Infer } from '../schema/schema.js';
import { leastRole, type Operation } from './operation.js';
import { objectName } from './common.js';
import { TaskDto } from './tasks.js';
import { UploadDto } from './uploads.js';
import { POOL_KINDS, POOL_STATES, VOLUME_FORMATS } from './enums.js';

export const PoolDto = named(
  'PoolDto',
  obj({
    hostId: str(),
    hostName: str(),
    name: str(),
    kind: oneOf(POOL_KINDS),
    state: oneOf(POOL_STATES),
    path: str(),
    backingFile: str(),
    loopDevice: str(),
    filesystem: str(),
    capacityBytes: int(),
    allocationBytes: int(),
    availableBytes: int(),
    error: str(),
    volumeCount: int(),
  }),
);
export type PoolDto = Infer<typeof PoolDto>;

export const CreatePoolDto = named(
  'CreatePoolDto',
  obj({
    name: objectName(),
    kind: oneOf(POOL_KINDS),
    sizeBytes: opt(int({ min: 67_108_864, description: 'loop pools: size of the backing file' })),
    filesystem: opt(oneOf(['ext4', 'xfs'] as const)),
    path: opt(str({ minLength: 1, maxLength: 4096, pattern: '^/', description: 'dir pools: an absolute path' })),
  }),
);
export type CreatePoolDto = Infer<typeof CreatePoolDto>;

export const GrowPoolDto = named('GrowPoolDto', obj({ sizeBytes: int({ min: 1 }) }));
export type GrowPoolDto = Infer<typeof GrowPoolDto>;
export const DeletePoolQuery = obj({ deleteBackingFile: opt(oneOf(['true', 'false'] as const)) });

export const VolumeDto = named(
  'VolumeDto',
  obj({
    hostId: str(),
    pool: str(),
    name: str(),
    format: oneOf([...VOLUME_FORMATS, 'unknown'] as const),
    capacityBytes: int(),
    allocationBytes: int(),
    path: str(),
    backingVolume: str(),
    usedBy: arr(str()),
  }),
);
export type VolumeDto = Infer<typeof VolumeDto>;

export const CreateVolumeDto = named(
  'CreateVolumeDto',
  obj({ name: objectName(), format: opt(oneOf(['qcow2', 'raw'] as const)), capacityBytes: int({ min: 1_048_576 }) }),
);
export type CreateVolumeDto = Infer<typeof CreateVolumeDto>;
export const ResizeVolumeDto = named('ResizeVolumeDto', obj({ capacityBytes: int({ min: 1 }) }));
export const CloneVolumeDto = named(
  'CloneVolumeDto',
  obj({ targetName: objectName(), targetPool: opt(objectName()), linked: opt(bool()) }),
);

export const VolumeUploadDto = named(
  'VolumeUploadDto',
  obj({
    name: objectName('name of the new volume'),
    format: oneOf(VOLUME_FORMATS, { description: 'what the file is; the agent sniffs and refuses a mismatch' }),
    sizeBytes: int({ min: 1, description: 'the size of the file: the Content-Length of the PUT' }),
  }),
);
export type VolumeUploadDto = Infer<typeof VolumeUploadDto>;

const base = '/api/v1/hosts/:hostId/pools';
const op = <const O extends Omit<Operation, 'tag' | 'role'> & { role?: Operation['role'] }>(o: O) => ({
  tag: 'storage' as const,
  role: leastRole(o.method),
  ...o,
});

export const storageOperations = [
  op({
    id: 'listAllPools',
    method: 'GET',
    path: '/api/v1/pools',
    status: 200,
    response: arr(PoolDto),
    summary: 'Pools of every online host',
  }),
  op({ id: 'listPools', method: 'GET', path: base, status: 200, response: arr(PoolDto), summary: 'Pools of one host' }),
  op({
    id: 'createPool',
    method: 'POST',
    path: base,
    role: 'admin',
    body: CreatePoolDto,
    status: 202,
    response: TaskDto,
    summary: 'Create a pool (loop: backing file, mkfs, mount). Task result: PoolDto',
  }),
  op({ id: 'getPool', method: 'GET', path: `${base}/:pool`, status: 200, response: PoolDto, summary: 'One pool' }),
  op({
    id: 'startPool',
    method: 'POST',
    path: `${base}/:pool/start`,
    role: 'admin',
    status: 200,
    response: PoolDto,
    summary: 'Activate',
  }),
  op({
    id: 'stopPool',
    method: 'POST',
    path: `${base}/:pool/stop`,
    role: 'admin',
    status: 200,
    response: PoolDto,
    summary: 'Deactivate',
  }),
  op({
    id: 'growPool',
    method: 'POST',
    path: `${base}/:pool/grow`,
    role: 'admin',
    body: GrowPoolDto,
    status: 200,
    response: PoolDto,
    summary: 'Grow a loop pool (never shrinks)',
  }),
  op({
    id: 'deletePool',
    method: 'DELETE',
    path: `${base}/:pool`,
    role: 'admin',
    query: DeletePoolQuery,
    status: 204,
    summary: 'Delete a pool; ?deleteBackingFile=true removes its data',
  }),
  op({
    id: 'listVolumes',
    method: 'GET',
    path: `${base}/:pool/volumes`,
    status: 200,
    response: arr(VolumeDto),
    summary: 'Volumes of a pool',
  }),
  op({
    id: 'createVolume',
    method: 'POST',
    path: `${base}/:pool/volumes`,
    body: CreateVolumeDto,
    status: 201,
    response: VolumeDto,
    summary: 'Create an empty volume',
  }),
  op({
    id: 'getVolume',
    method: 'GET',
    path: `${base}/:pool/volumes/:volume`,
    status: 200,
    response: VolumeDto,
    summary: 'One volume',
  }),
  op({
    id: 'resizeVolume',
    method: 'POST',
    path: `${base}/:pool/volumes/:volume/resize`,
    body: ResizeVolumeDto,
    status: 200,
    response: VolumeDto,
    summary: 'Grow a volume',
  }),
  op({
    id: 'cloneVolume',
    method: 'POST',
    path: `${base}/:pool/volumes/:volume/clone`,
    body: CloneVolumeDto,
    status: 202,
    response: TaskDto,
    summary: 'Copy (or linked clone). Task result: VolumeDto',
  }),
  op({
    id: 'deleteVolume',
    method: 'DELETE',
    path: `${base}/:pool/volumes/:volume`,
    status: 204,
    summary: 'Delete a volume (409 while a VM uses it)',
  }),
  op({
    id: 'openVolumeUpload',
    method: 'POST',
    path: `${base}/:pool/uploads`,
    body: VolumeUploadDto,
    status: 202,
    response: UploadDto,
    summary:
      'Open the upload of an ISO/disk image into a new volume: the task "volume.upload" (result: VolumeDto) and the URL to PUT the file to',
  }),
  op({
    id: 'downloadVolume',
    method: 'GET',
    path: `${base}/:pool/volumes/:volume/content`,
    role: 'operator',
    status: 200,
    response: 'stream',
    summary: 'Download a volume (streamed; operator: it carries the guest data)',
  }),
] as const satisfies readonly Operation[];
