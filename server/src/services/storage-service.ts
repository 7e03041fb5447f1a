// Pools and volumes on a host, routed through its agent; uploads (ISO/disk) opened as a task whose
// body, PUT to its upload URL, streams to the agent (upload-service.ts) with byte progress.
import type { Readable } from 'node:stream';
import type { CreatePoolDto, CreateVolumeDto, PoolDto, VolumeDto, VolumeUploadDto } from '../dto/storage.js';
import type { TaskDto } from '../dto/tasks.js';
import type { UploadDto } from '../dto/uploads.js';
import type { AgentPool } from '../agents/agent-pool.js';
import type { InventoryService } from './inventory-service.js';
import type { TaskService } from './task-service.js';
import type { UploadService } from './upload-service.js';
import type { Principal } from './auth-service.js';
import { toPoolDto, toVolumeDto } from './dto-mapping.js';
import { poolKind, volumeFormat } from './proto-enums.js';

export class StorageService {
  constructor(
    private readonly pool: AgentPool,
    private readonly inventory: InventoryService,
    private readonly tasks: TaskService,
    private readonly uploads: UploadService,
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
    return toPoolDto(await agent.getPool(name), this.ref(c));
  }

  async createPool(hostId: string, req: CreatePoolDto, user: string): Promise<TaskDto> {
    const { c, agent } = this.host(hostId);
    const create = {
      name: req.name,
      kind: poolKind.num(req.kind),
      sizeBytes: req.sizeBytes ?? 0,
      filesystem: req.filesystem ?? '',
      path: req.path ?? '',
    };
    // The agent checks first (name, path, size against the space it has): a refusal is this
    // request's answer, naming the field, not a task that fails later.
    await agent.createPool({ ...create, validateOnly: true });
    const { dto } = await this.tasks.start(
      { kind: 'pool.create', target: { type: 'pool', id: req.name, name: req.name }, hostId, user },
      async () => {
        const p = await agent.createPool({ ...create, validateOnly: false });
        await c.syncPools();
        return toPoolDto(p, this.ref(c));
      },
    );
    return dto;
  }

  async poolAction(hostId: string, name: string, action: 'start' | 'stop' | 'grow', sizeBytes = 0): Promise<PoolDto> {
    const { c, agent } = this.host(hostId);
    const p =
      action === 'start'
        ? await agent.startPool(name)
        : action === 'stop'
          ? await agent.stopPool(name)
          : await agent.growPool(name, sizeBytes);
    await c.syncPools();
    return toPoolDto(p, this.ref(c));
  }

  async deletePool(hostId: string, name: string, deleteBackingFile: boolean): Promise<void> {
    const { c, agent } = this.host(hostId);
    await agent.deletePool(name, deleteBackingFile);
    await c.syncPools();
  }

  async volumes(hostId: string, pool: string): Promise<VolumeDto[]> {
    const { agent } = this.host(hostId);
    return (await agent.listVolumes(pool)).volumes.map((v) => toVolumeDto(v, hostId));
  }

  async volume(hostId: string, pool: string, name: string): Promise<VolumeDto> {
    const { agent } = this.host(hostId);
    return toVolumeDto(await agent.getVolume(pool, name), hostId);
  }

  async createVolume(hostId: string, pool: string, req: CreateVolumeDto): Promise<VolumeDto> {
    const { agent } = this.host(hostId);
    const v = await agent.createVolume({
      pool,
      name: req.name,
      format: volumeFormat.num(req.format ?? 'qcow2'),
      capacityBytes: req.capacityBytes,
    });
    return toVolumeDto(v, hostId);
  }

  async resizeVolume(hostId: string, pool: string, name: string, capacityBytes: number): Promise<VolumeDto> {
    const { agent } = this.host(hostId);
    return toVolumeDto(await agent.resizeVolume(pool, name, capacityBytes), hostId);
  }

  async cloneVolume(
    hostId: string,
    pool: string,
    name: string,
    req: { targetName: string; targetPool?: string; linked?: boolean },
    user: string,
  ): Promise<TaskDto> {
    const { agent } = this.host(hostId);
    const { dto } = await this.tasks.start(
      { kind: 'volume.clone', target: { type: 'volume', id: `${pool}/${name}`, name }, hostId, user },
      async () => {
        const v = await agent.cloneVolume({
          pool,
          name,
          targetName: req.targetName,
          targetPool: req.targetPool ?? '',
          linked: req.linked ?? false,
        });
        return toVolumeDto(v, hostId);
      },
    );
    return dto;
  }

  async deleteVolume(hostId: string, pool: string, name: string): Promise<void> {
    const { agent } = this.host(hostId);
    await agent.deleteVolume(pool, name);
  }

  /** Opens an upload of a new volume: the task "volume.upload" (result: VolumeDto) and its upload URL. */
  openUpload(hostId: string, pool: string, req: VolumeUploadDto, principal: Principal): Promise<UploadDto> {
    const { agent } = this.host(hostId);
    const { name, sizeBytes } = req;
    const task = {
      kind: 'volume.upload',
      target: { type: 'volume', id: `${pool}/${name}`, name },
      hostId,
      user: principal.label,
    };
    return this.uploads.open(task, principal.user.id, sizeBytes, async (body: Readable, t) => {
      let last = 0;
      t.progress(0, 'uploading');
      const header = { pool, name, format: volumeFormat.num(req.format), sizeBytes };
      const v = await agent.uploadVolume(header, body, (n) => {
        const pct = (n / sizeBytes) * 100;
        if (pct - last >= 1) {
          last = pct;
          t.progress(pct, 'uploading');
        }
      });
      return toVolumeDto(v, hostId);
    });
  }

  /** The volume's bytes. */
  download(hostId: string, pool: string, name: string): Readable {
    return this.host(hostId).agent.downloadVolume(pool, name);
  }

  private host(hostId: string) {
    const c = this.pool.get(hostId);
    return { c, agent: c.requireOnline() };
  }

  private ref(c: { record: { id: string; name: string } }) {
    return { id: c.record.id, name: c.record.name };
  }
}
