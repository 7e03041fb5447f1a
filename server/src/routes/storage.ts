// Routes: pools, volumes, opening uploads, downloads.
import type { CreatePoolDto, CreateVolumeDto, VolumeUploadDto } from '../dto/storage.js';
import type { Services } from '../compose.js';
import type { Handlers } from './handler.js';

export function storageHandlers(s: Services): Handlers {
  return {
    listAllPools: () => s.storage.listAll(),
    listPools: ({ params }) => s.storage.list(params.hostId!),
    createPool: ({ params, body, principal }) =>
      s.storage.createPool(params.hostId!, body as CreatePoolDto, principal.label),
    getPool: ({ params }) => s.storage.get(params.hostId!, params.pool!),
    startPool: ({ params }) => s.storage.poolAction(params.hostId!, params.pool!, 'start'),
    stopPool: ({ params }) => s.storage.poolAction(params.hostId!, params.pool!, 'stop'),
    growPool: ({ params, body }) =>
      s.storage.poolAction(params.hostId!, params.pool!, 'grow', (body as { sizeBytes: number }).sizeBytes),
    deletePool: ({ params, query }) =>
      s.storage.deletePool(params.hostId!, params.pool!, query.deleteBackingFile === 'true'),
    listVolumes: ({ params }) => s.storage.volumes(params.hostId!, params.pool!),
    createVolume: ({ params, body }) => s.storage.createVolume(params.hostId!, params.pool!, body as CreateVolumeDto),
    getVolume: ({ params }) => s.storage.volume(params.hostId!, params.pool!, params.volume!),
    resizeVolume: ({ params, body }) =>
      s.storage.resizeVolume(
        params.hostId!,
        params.pool!,
        params.volume!,
        (body as { capacityBytes: number }).capacityBytes,
      ),
    cloneVolume: ({ params, body, principal }) =>
      s.storage.cloneVolume(
        params.hostId!,
        params.pool!,
        params.volume!,
        body as { targetName: string },
        principal.label,
      ),
    deleteVolume: ({ params }) => s.storage.deleteVolume(params.hostId!, params.pool!, params.volume!),
    openVolumeUpload: ({ params, body, principal }) =>
      s.storage.openUpload(params.hostId!, params.pool!, body as VolumeUploadDto, principal),
    downloadVolume: ({ params, ctx }) => {
      const stream = s.storage.download(params.hostId!, params.pool!, params.volume!);
      ctx.type = 'application/octet-stream';
      ctx.attachment(params.volume!);
      ctx.body = stream;
    },
  };
}
