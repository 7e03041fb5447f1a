// Pools and volumes on a host, routed through its agent; uploads (ISO/disk) streamed from the
// request body to StorageService.UploadVolume as a task with byte progress.
import type { Readable } from 'node:stream';
import type { ClientReadableStream } from '@grpc/grpc-js';
import type { DataChunk } from '@quantix/proto/v1/common.js';
import { ListVolumesRequest, type Volume } from '@quantix/proto/v1/storage.js';
import type { CreatePoolDto, CreateVolumeDto, PoolDto, VolumeDto } from '../dto/storage.js';
import type { TaskDto } from '../dto/tasks.js';
import { HttpError } from '../errors.js';
import type { AgentPool } from '../agents/agent-pool.js';
import { pumpBytes } from '../agents/stream-upload.js';
import type { InventoryService } from './inventory-service.js';
import type { TaskService } from './task-service.js';
import { toPoolDto, toVolumeDto } from './dto-mapping.js';
import { poolKind, volumeFormat } from './proto-enums.js';

const LONG_MS = 600_000;

export class StorageService {
  constructor(
    private readonly pool: AgentPool,
    private readonly inventory: InventoryService,
    private readonly tasks: TaskService,
  ) {}

  listAll(): PoolDto[] {
    return this.pool.all().flatMap((c) => this.inventory.poolDtos(c));
  }

  async list(hostId: string): Promise<PoolDto[]> {
    const c = this.pool.get(hostId);
    c.requireOnline();
    await c.syncPools();
    return this.inventory.poolDtos(c);
  }

  async get(hostId: string, name: string): Promise<PoolDto> {
    const { c, agent } = this.host(hostId);
    return toPoolDto(await agent.call(agent.storage, agent.storage.getPool, { name }), this.ref(c));
  }

  async createPool(hostId: string, req: CreatePoolDto, user: string): Promise<TaskDto> {
    const { c, agent } = this.host(hostId);
    const create = { name: req.name, kind: poolKind.num(req.kind), sizeBytes: req.sizeBytes ?? 0, filesystem: req.filesystem ?? '', path: req.path ?? '' };
    // The agent checks first (name, path, size against the space it has): a refusal is this
    // request's answer, naming the field, not a task that fails later.
    await agent.call(agent.storage, agent.storage.createPool, { ...create, validateOnly: true });
    const { dto } = await this.tasks.start({ kind: 'pool.create', target: { type: 'pool', id: req.name, name: req.name }, hostId, user }, async () => {
      const p = await agent.call(agent.storage, agent.storage.createPool, { ...create, validateOnly: false }, LONG_MS);
      await c.syncPools();
      return toPoolDto(p, this.ref(c));
    });
    return dto;
  }

  async poolAction(hostId: string, name: string, action: 'start' | 'stop' | 'grow', sizeBytes = 0): Promise<PoolDto> {
    const { c, agent } = this.host(hostId);
    const s = agent.storage;
    const p =
      action === 'start'
        ? await agent.call(s, s.startPool, { name }, LONG_MS)
        : action === 'stop'
          ? await agent.call(s, s.stopPool, { name }, LONG_MS)
          : await agent.call(s, s.growPool, { name, sizeBytes }, LONG_MS);
    await c.syncPools();
    return toPoolDto(p, this.ref(c));
  }

  async deletePool(hostId: string, name: string, deleteBackingFile: boolean): Promise<void> {
    const { c, agent } = this.host(hostId);
    await agent.call(agent.storage, agent.storage.deletePool, { name, deleteBackingFile }, LONG_MS);
    await c.syncPools();
  }

  async volumes(hostId: string, pool: string): Promise<VolumeDto[]> {
    const { agent } = this.host(hostId);
    return (await agent.call(agent.storage, agent.storage.listVolumes, ListVolumesRequest.fromPartial({ pool }))).volumes.map((v) => toVolumeDto(v, hostId));
  }

  async volume(hostId: string, pool: string, name: string): Promise<VolumeDto> {
    const { agent } = this.host(hostId);
    return toVolumeDto(await agent.call(agent.storage, agent.storage.getVolume, { pool, name }), hostId);
  }

  async createVolume(hostId: string, pool: string, req: CreateVolumeDto): Promise<VolumeDto> {
    const { agent } = this.host(hostId);
    const v = await agent.call(
      agent.storage,
      agent.storage.createVolume,
      { pool, name: req.name, format: volumeFormat.num(req.format ?? 'qcow2'), capacityBytes: req.capacityBytes },
      LONG_MS,
    );
    return toVolumeDto(v, hostId);
  }

  async resizeVolume(hostId: string, pool: string, name: string, capacityBytes: number): Promise<VolumeDto> {
    const { agent } = this.host(hostId);
    return toVolumeDto(await agent.call(agent.storage, agent.storage.resizeVolume, { pool, name, capacityBytes }, LONG_MS), hostId);
  }

  async cloneVolume(hostId: string, pool: string, name: string, req: { targetName: string; targetPool?: string; linked?: boolean }, user: string): Promise<TaskDto> {
    const { agent } = this.host(hostId);
    const { dto } = await this.tasks.start({ kind: 'volume.clone', target: { type: 'volume', id: `${pool}/${name}`, name }, hostId, user }, async () => {
      const v = await agent.call(
        agent.storage,
        agent.storage.cloneVolume,
        { pool, name, targetName: req.targetName, targetPool: req.targetPool ?? '', linked: req.linked ?? false },
        3_600_000,
      );
      return toVolumeDto(v, hostId);
    });
    return dto;
  }

  async deleteVolume(hostId: string, pool: string, name: string): Promise<void> {
    const { agent } = this.host(hostId);
    await agent.call(agent.storage, agent.storage.deleteVolume, { pool, name }, LONG_MS);
  }

  /** Streams `body` (sizeBytes long) into a new volume; resolves when the agent stored it. */
  async upload(
    hostId: string,
    pool: string,
    name: string,
    format: 'qcow2' | 'raw' | 'iso',
    sizeBytes: number,
    body: Readable,
    user: string,
  ): Promise<VolumeDto> {
    const { agent } = this.host(hostId);
    const rec = await this.tasks.runToEnd({ kind: 'volume.upload', target: { type: 'volume', id: `${pool}/${name}`, name }, hostId, user }, async (t) => {
      let last = 0;
      const result = new Promise<Volume>((resolve, reject) => {
        const call = agent.storage.uploadVolume((err, v) => (err ? reject(agent.mapError(err)) : resolve(v)));
        call.write({ msg: { $case: 'header' as const, value: { pool, name, format: volumeFormat.num(format), sizeBytes } } });
        pumpBytes(body, call, (data) => ({ msg: { $case: 'data' as const, value: data } }), (n) => {
          const pct = sizeBytes ? (n / sizeBytes) * 100 : null;
          if (pct === null || pct - last >= 1) {
            last = pct ?? 0;
            t.progress(pct, 'uploading');
          }
        }).catch((err: unknown) => {
          call.cancel();
          reject(new HttpError(400, `the upload was interrupted: ${err instanceof Error ? err.message : String(err)}`));
        });
      });
      return toVolumeDto(await result, hostId);
    });
    return rec.result as VolumeDto;
  }

  download(hostId: string, pool: string, name: string): ClientReadableStream<DataChunk> {
    const { agent } = this.host(hostId);
    return agent.storage.downloadVolume({ pool, name });
  }

  private host(hostId: string) {
    const c = this.pool.get(hostId);
    return { c, agent: c.requireOnline() };
  }

  private ref(c: { record: { id: string; name: string } }) {
    return { id: c.record.id, name: c.record.name };
  }
}
