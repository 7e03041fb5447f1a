// StorageService: pools, volumes, uploads (client stream) and downloads (server stream), on the
// agent's one PoolManager and Volumes (built in main.ts).
import type { ServerDuplexStream, ServerReadableStream, ServerWritableStream, sendUnaryData } from '@grpc/grpc-js';
import { Progress, type DataChunk } from '@quantix/proto/v1/common.js';
import {
  Pool,
  type MoveVmDisksEvent,
  type MoveVmDisksRequest,
  type StorageServiceServer,
  type UploadVolumeRequest,
  type Volume,
  type VolumeRef,
} from '@quantix/proto/v1/storage.js';
import type { AgentContext } from '../context.js';
import { sendDownload } from '../storage/download.js';
import { receiveUpload, receiveUploadBytes } from '../storage/upload.js';
import { claimBulkBytes } from '../storage/bulk-socket.js';
import { moveVmDisks } from '../storage/disk-move.js';
import { failedPrecondition, invalidArgument } from '../errors.js';
import { toServiceError } from './status.js';
import { unary } from './unary.js';

export function storageHandlers(ctx: AgentContext): StorageServiceServer {
  const { pools, volumes } = ctx;
  return {
    createPool: unary(async (req) => {
      const opts = {
        name: req.name,
        kind: req.kind,
        sizeBytes: req.sizeBytes,
        filesystem: req.filesystem,
        path: req.path,
      };
      if (!req.validateOnly) return pools.create(opts);
      await pools.checkCreate(opts);
      return Pool.fromPartial({});
    }),
    listPools: unary(async () => ({ pools: await pools.list() })),
    getPool: unary((req) => pools.get(req.name)),
    startPool: unary((req) => pools.start(req.name)),
    stopPool: unary((req) => pools.stop(req.name)),
    growPool: unary((req) => pools.grow(req.name, req.sizeBytes)),
    deletePool: unary(async (req) => {
      await pools.delete(req.name, req.deleteBackingFile);
      return {};
    }),

    createVolume: unary((req) =>
      volumes.create({ pool: req.pool, name: req.name, format: req.format, capacityBytes: req.capacityBytes }),
    ),
    listVolumes: unary(async (req) => ({ volumes: await volumes.list(req.pool, req.format) })),
    getVolume: unary((req) => volumes.get(req.pool, req.name)),
    resizeVolume: unary((req) => volumes.resize(req.pool, req.name, req.capacityBytes)),
    deleteVolume: unary(async (req) => {
      await volumes.delete(req.pool, req.name);
      return {};
    }),
    cloneVolume: unary((req) =>
      volumes.clone({
        pool: req.pool,
        name: req.name,
        targetName: req.targetName,
        targetPool: req.targetPool,
        linked: req.linked,
      }),
    ),

    uploadVolume: (call: ServerReadableStream<UploadVolumeRequest, Volume>, callback: sendUnaryData<Volume>) => {
      receiveUpload(pools, volumes, call).then(
        (volume) => callback(null, volume),
        (err: unknown) => callback(toServiceError(err)),
      );
    },
    uploadVolumeLocal: unary(async (req, call) => {
      // The bytes come over the bulk socket (#26): only the local server reaches it.
      const abort = new AbortController();
      call.on('cancelled', () => abort.abort());
      if (!req.header) throw invalidArgument('header', 'is required');
      const socket = await claimBulkBytes(req.ticket, abort.signal, 'upload');
      try {
        return await receiveUploadBytes(pools, volumes, req.header, socket);
      } finally {
        socket.destroy();
      }
    }),
    moveVmDisks: (call: ServerDuplexStream<MoveVmDisksRequest, MoveVmDisksEvent>) => {
      // A later message with cancel set, or the call cancelled, aborts the copy.
      const abort = new AbortController();
      call.on('cancelled', () => abort.abort());
      let started = false;
      call.on('data', (req: MoveVmDisksRequest) => {
        if (started) {
          if (req.cancel) abort.abort();
          return;
        }
        started = true;
        const onProgress = (percent: number, phase: string) => {
          if (!call.cancelled)
            call.write({ event: { $case: 'progress', value: Progress.fromPartial({ phase, percent }) } });
        };
        moveVmDisks(ctx.virsh, volumes, {
          vm: req.vm,
          targetPool: req.targetPool,
          bandwidthMibPerS: req.bandwidthMibPerS,
          signal: abort.signal,
          onProgress,
        }).then(
          (disks) => {
            call.write({ event: { $case: 'result', value: { disks } } });
            call.end();
          },
          (err: unknown) =>
            call.emit('error', toServiceError(abort.signal.aborted ? failedPrecondition('cancelled') : err)),
        );
      });
    },
    downloadVolume: (call: ServerWritableStream<VolumeRef, DataChunk>) => {
      const sink = {
        write: (data: Buffer) => call.write({ data }),
        cancelled: () => call.cancelled,
        waitDrain: () =>
          new Promise<void>((resolve) => {
            const done = () => {
              call.off('drain', done);
              call.off('cancelled', done);
              resolve();
            };
            call.on('drain', done);
            call.on('cancelled', done);
          }),
      };
      sendDownload(pools, volumes, call.request.pool, call.request.name, sink).then(
        () => call.end(),
        (err: unknown) => call.emit('error', toServiceError(err)),
      );
    },
  };
}
