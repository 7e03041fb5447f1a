// Templates: an OVA upload (upload-service.ts) streamed straight into the agent's import (no
// buffering; the task "ova.import" shows progress), kept as a record in the db; deploy = clone
// the template's volumes on its host, then define a VM from the stored spec with the caller's
// CPU/memory and fresh NIC MACs (undone on failure).
import type { Readable } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { VideoModel, VmSpec } from '@quantix/proto/v1/vm.js';
import type { DeployTemplateDto, OvaUploadDto, TemplateDto } from '../dto/templates.js';
import type { TaskDto } from '../dto/tasks.js';
import type { UploadDto } from '../dto/uploads.js';
import { HttpError, badRequest, conflict, notFound } from '../errors.js';
import type { AgentPool } from '../agents/agent-pool.js';
import type { TemplateRepo } from '../store/log-repo.js';
import type { TemplateRecord } from '../store/records.js';
import type { EventHub } from './event-hub.js';
import type { TaskService } from './task-service.js';
import type { UploadService } from './upload-service.js';
import type { Principal } from './auth-service.js';
import { refuseNewVms } from './cluster-service.js';
import { specFields } from './dto-mapping.js';

const MAX_VCPUS = 256;

/**
 * The VmSpec a deploy defines: the template's spec on the cloned `volumes` (disk order), with the
 * request's name, sockets, cores per socket and memory (each defaulting to the template's). Every
 * NIC's MAC is left empty so libvirt assigns a new one: the OVA's MACs would repeat on every deploy.
 * Every deploy has a video device unless the template chose none.
 */
export function deploySpec(template: TemplateRecord, req: DeployTemplateDto, volumes: readonly string[]): VmSpec {
  const base = VmSpec.fromJSON(template.spec);
  const disks = base.disks.length
    ? base.disks.map((d, i) => ({ ...d, pool: template.pool, volume: volumes[i] ?? d.volume }))
    : volumes.map((v) => ({ pool: template.pool, volume: v, bus: 1, readonly: false }));
  return VmSpec.fromPartial({
    ...base,
    name: req.name,
    uuid: '',
    sockets: req.sockets ?? (base.sockets || 1),
    cores: req.cores ?? (base.cores || 1),
    memoryMib: req.memoryMib ?? base.memoryMib,
    disks,
    nics: base.nics.map((n) => ({ ...n, mac: '' })),
    // A template saved before video models existed gets what an OVA import gets now: standard VGA
    // and a graphical console. One that chose a model (or none) keeps it.
    ...(base.videoModel === VideoModel.VIDEO_MODEL_UNSPECIFIED
      ? { vnc: true, videoModel: VideoModel.VIDEO_MODEL_VGA }
      : {}),
  });
}

export class TemplateService {
  constructor(
    private readonly repo: TemplateRepo,
    private readonly pool: AgentPool,
    private readonly tasks: TaskService,
    private readonly events: EventHub,
    private readonly uploads: UploadService,
  ) {}

  list(): TemplateDto[] {
    return this.repo.list().map((t) => this.dto(t));
  }

  get(id: string): TemplateDto {
    return this.dto(this.record(id));
  }

  async update(id: string, change: { name?: string; description?: string }): Promise<TemplateDto> {
    this.record(id);
    if (change.name && this.repo.list().some((t) => t.name === change.name && t.id !== id))
      throw conflict(`template "${change.name}" already exists`);
    const t = (await this.repo.update(id, change))!;
    const dto = this.dto(t);
    this.events.publish('template', dto);
    return dto;
  }

  async remove(id: string, keepVolumes: boolean): Promise<void> {
    const t = this.record(id);
    if (!keepVolumes) {
      const a = this.pool.get(t.hostId).requireOnline();
      for (const v of t.volumes) {
        await a.deleteVolume(t.pool, v).catch((err: unknown) => {
          if (!(err instanceof HttpError && err.status === 404)) throw err;
        });
      }
    }
    await this.repo.remove(id);
    this.events.publish('template', { id, removed: true });
  }

  /** Opens an OVA upload: the task "ova.import" (result: {templateId}) and its upload URL. */
  openImport(q: OvaUploadDto, principal: Principal): Promise<UploadDto> {
    const c = this.pool.get(q.hostId);
    const agent = c.requireOnline();
    if (q.name && this.repo.list().some((t) => t.name === q.name))
      throw conflict(`template "${q.name}" already exists`);
    const label = q.name ?? q.fileName ?? 'OVA';
    const { sizeBytes } = q;
    const task = {
      kind: 'ova.import',
      target: { type: 'template', id: '', name: label },
      hostId: q.hostId,
      user: principal.label,
    };
    return this.uploads.open(task, principal.user.id, sizeBytes, async (body: Readable, t) => {
      t.progress(0, 'receiving');
      const r = await agent.importOva({ pool: q.pool, name: q.name ?? '', sizeBytes }, body, (p) => {
        t.progress(p.percent >= 0 ? p.percent : null, p.phase);
        if (p.message) t.log(p.message);
      });
      const spec = r.spec;
      const record: TemplateRecord = {
        id: randomUUID(),
        name: this.uniqueName(q.name || spec?.name || q.fileName?.replace(/\.ova$/i, '') || 'template'),
        description: spec?.annotation ?? '',
        hostId: q.hostId,
        pool: q.pool,
        volumes: r.volumes.map((v) => v.name),
        spec: r.suggestedSpec ? VmSpec.toJSON(r.suggestedSpec) : {},
        osType: spec?.osType ?? '',
        sourceFile: q.fileName ?? '',
        sizeBytes,
        warnings: spec?.warnings ?? [],
        createdAt: new Date().toISOString(),
      };
      await this.repo.add(record);
      this.events.publish('template', this.dto(record));
      return { templateId: record.id };
    });
  }

  async deploy(id: string, req: DeployTemplateDto, user: string): Promise<TaskDto> {
    const t = this.record(id);
    const c = this.pool.get(t.hostId);
    const agent = c.requireOnline();
    refuseNewVms(c);
    const probe = deploySpec(t, req, []);
    if (probe.sockets * probe.cores > MAX_VCPUS) {
      throw badRequest(
        `cores: ${probe.sockets} sockets × ${probe.cores} cores is more than ${MAX_VCPUS} vCPUs`,
        req.cores ? 'cores' : 'sockets',
      );
    }
    const { dto } = await this.tasks.start(
      { kind: 'template.deploy', target: { type: 'template', id, name: req.name }, hostId: t.hostId, user },
      async (task) => {
        const cloned: string[] = [];
        try {
          for (const [i, v] of t.volumes.entries()) {
            const target = `${req.name}-disk${i}`;
            task.log(`cloning ${t.pool}/${v} → ${target}`);
            task.progress((i / Math.max(1, t.volumes.length)) * 80, 'cloning');
            await agent.cloneVolume({
              pool: t.pool,
              name: v,
              targetName: target,
              targetPool: '',
              linked: req.linked ?? false,
            });
            cloned.push(target);
          }
          const spec = deploySpec(t, req, cloned);
          task.progress(85, 'defining');
          const vm = await agent.defineVm(spec);
          cloned.length = 0;
          await c.refreshVm(vm.spec!.uuid);
          if (req.start) {
            await agent.startVm(vm.spec!.uuid);
            await c.refreshVm(vm.spec!.uuid);
          }
          return { vmId: vm.spec!.uuid, hostId: t.hostId };
        } catch (err) {
          for (const v of cloned) await agent.deleteVolume(t.pool, v).catch(() => undefined);
          throw err;
        }
      },
    );
    return dto;
  }

  private uniqueName(name: string): string {
    const base = name.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 56) || 'template';
    let n = base;
    for (let i = 2; this.repo.list().some((t) => t.name === n); i++) n = `${base}-${i}`;
    return n;
  }

  private record(id: string): TemplateRecord {
    const t = this.repo.byId(id);
    if (!t) throw notFound(`template ${id}`);
    return t;
  }

  private dto(t: TemplateRecord): TemplateDto {
    const spec = VmSpec.fromJSON(t.spec);
    const f = specFields(spec);
    return {
      id: t.id,
      name: t.name,
      description: t.description,
      hostId: t.hostId,
      hostName: this.pool.find(t.hostId)?.record.name ?? '',
      pool: t.pool,
      volumes: t.volumes,
      osType: t.osType,
      firmware: f.firmware,
      sockets: f.sockets,
      cores: f.cores,
      memoryMib: f.memoryMib,
      disks: f.disks,
      cdroms: f.cdroms,
      nics: f.nics,
      sourceFile: t.sourceFile,
      sizeBytes: t.sizeBytes,
      warnings: t.warnings,
      createdAt: t.createdAt,
    };
  }
}
