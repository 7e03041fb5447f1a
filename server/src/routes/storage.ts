// Routes: pools, volumes, opening uploads, downloads.
import type { Services } from '../compose.js';
import type { HandlersOf } from './handler.js';
import type { storageOperations } from '../dto/storage.js';

export function storageHandlers(s: Services): HandlersOf<typeof storageOperations> {
  return {
    listAllPools: () => s.storage.listAll(),
    listPools: ({ params }) => s.storage.list(params.hostId),
    createPool: ({ params, body, principal }) => s.storage.createPool(params.hostId, body, principal.label),
    getPool: ({ params }) => s.storage.get(params.hostId, params.pool),
    startPool: ({ params }) => s.storage.poolAction(params.hostId, params.pool, 'start'),
    stopPool: ({ params }) => s.storage.poolAction(params.hostId, params.pool, 'stop'),
    growPool: ({ params, body }) => s.storage.poolAction(params.hostId, params.pool, 'grow', body.sizeBytes),
    deletePool: ({ params, query }) =>
      s.storage.deletePool(params.hostId, params.pool, query.deleteBackingFile === 'true'),
    listVolumes: ({ params }) => s.storage.volumes(params.hostId, params.pool),
    createVolume: ({ params, body }) => s.storage.createVolume(params.hostId, params.pool, body),
    getVolume: ({ params }) => s.storage.volume(params.hostId, params.pool, params.volume),
    resizeVolume: ({ params, body }) =>
      s.storage.resizeVolume(params.hostId, params.pool, params.volume, body.capacityBytes),
    cloneVolume: ({ params, body, principal }) =>
      s.storage.cloneVolume(params.hostId, params.pool, params.volume, body, principal.label),
    deleteVolume: ({ params }) => s.storage.deleteVolume(params.hostId, params.pool, params.volume),
    openVolumeUpload: ({ params, body, principal }) =>
      s.storage.openUpload(params.hostId, params.pool, body, principal),
    downloadVolume: ({ params, ctx }) => {
      const stream = s.storage.download(params.hostId, params.pool, params.volume);
      ctx.type = 'application/octet-stream';
      ctx.attachment(params.volume);
      ctx.body = stream;
    },
  };
}
