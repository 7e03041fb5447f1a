// VMs across hosts: routed to the host that has them, long actions run as tasks, the
// inventory re-read after each change. Creation: placement → disk volumes → DefineVm (→ start),
// undone on failure.
import { randomBytes } from 'node:crypto';
import { VmSpec, type Vm } from '@quantix/proto/v1/vm.js';
import { VolumeFormat } from '@quantix/proto/v1/storage.js';
import type { CloneVmDto, CreateVmDto, DeleteVmResultDto, SnapshotDto, UpdateVmDto, VmDto, VmStatsDto } from '../dto/vms.js';
import type { TaskDto } from '../dto/tasks.js';
import { badRequest, notFound } from '../errors.js';
import type { AgentPool } from '../agents/agent-pool.js';
import type { HostConnection } from '../agents/host-connection.js';
import { refuseNewVms, type ClusterService } from './cluster-service.js';
import type { InventoryService } from './inventory-service.js';
import type { TaskService } from './task-service.js';
import { toSnapshotDto, toVmStatsDto } from './dto-mapping.js';
import { bootDevice, diskBus, firmware, nicKind, nicModel } from './proto-enums.js';
import type { AgentClient } from '../agents/agent-client.js';

type SimpleAction = 'start' | 'forceOff' | 'reboot' | 'reset' | 'pause' | 'resume';
const LONG_MS = 180_000;

/** A random MAC in QEMU's locally administered 52:54:00 range (the one libvirt uses). */
export function randomMac(): string {
  return `52:54:00:${[...randomBytes(3)].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
}

/**
 * The MAC of each NIC of an update. A NIC given without one keeps the MAC of the current NIC at
 * its position (as the agent would fill it in), unless another NIC of the request has that MAC
 * — a NIC was removed before it and this one is new: then it gets a fresh MAC, never a duplicate.
 */
export function nicMacsForUpdate(nics: readonly { mac?: string }[], current: readonly { mac: string }[], fresh = randomMac): string[] {
  const taken = new Set(nics.map((n) => n.mac?.toLowerCase() ?? '').filter(Boolean));
  return nics.map((n, i) => {
    if (n.mac) return n.mac;
    let mac = current[i]?.mac.toLowerCase() ?? '';
    if (mac && taken.has(mac)) {
      do mac = fresh();
      while (taken.has(mac));
    }
    if (mac) taken.add(mac);
    return mac;
  });
}

export class VmService {
  constructor(
    private readonly pool: AgentPool,
    private readonly inventory: InventoryService,
    private readonly clusters: ClusterService,
    private readonly tasks: TaskService,
  ) {}

  /** The VM list as JSON bytes (gzip-compressed when `gzip`), from the inventory's cache. */
  listJson(filter: { hostId?: string; clusterId?: string }, gzip = false): Buffer {
    const hosts = this.pool
      .all()
      .filter((c) => (!filter.hostId || c.record.id === filter.hostId) && (!filter.clusterId || c.record.clusterId === filter.clusterId));
    return gzip ? this.inventory.vmsJsonGzip(hosts) : this.inventory.vmsJson(hosts);
  }

  get(id: string): VmDto {
    const { c, vm } = this.locate(id);
    return this.inventory.vmDto(c, vm);
  }

  async create(req: CreateVmDto, user: string): Promise<TaskDto> {
    const networks = (req.nics ?? []).filter((n) => n.kind === 'network' && n.source).map((n) => n.source!);
    const hostId = req.hostId ?? this.clusters.placement(req.clusterId, req.pool, req.memoryMib, networks).hostId;
    const c = this.pool.get(hostId);
    refuseNewVms(c);
    const agent = c.requireOnline();
    if ([...c.vms.values()].some((v) => v.spec?.name === req.name)) throw badRequest(`name: a VM "${req.name}" already exists on ${c.record.name}`, 'name');
    const { dto } = await this.tasks.start({ kind: 'vm.create', target: { type: 'vm', id: '', name: req.name }, hostId, user }, async (t) => {
      const created: { pool: string; name: string }[] = [];
      try {
        const disks = [];
        for (const [i, d] of (req.disks ?? []).entries()) {
          const poolName = d.pool ?? req.pool;
          let volume = d.volume;
          if (!volume) {
            if (!d.sizeBytes) throw badRequest(`disks[${i}].sizeBytes: give a size for a new disk, or a volume`, `disks[${i}].sizeBytes`);
            volume = `${req.name}-disk${i}`;
            t.log(`creating volume ${poolName}/${volume}`);
            await agent.call(agent.storage, agent.storage.createVolume, { pool: poolName, name: volume, format: VolumeFormat.VOLUME_FORMAT_QCOW2, capacityBytes: d.sizeBytes }, LONG_MS);
            created.push({ pool: poolName, name: volume });
          }
          disks.push({ pool: poolName, volume, bus: diskBus.num(d.bus ?? 'virtio'), readonly: d.readonly ?? false });
        }
        t.progress(50, 'defining');
        const spec = VmSpec.fromPartial({
          name: req.name,
          sockets: req.sockets ?? 1,
          cores: req.cores ?? 1,
          memoryMib: req.memoryMib,
          firmware: firmware.num(req.firmware ?? 'bios'),
          machine: req.machine ?? '',
          disks,
          cdroms: (req.cdroms ?? []).map((cd) => ({ pool: cd.pool ?? '', volume: cd.volume ?? '', bus: diskBus.num(cd.bus ?? 'sata') })),
          nics: (req.nics ?? []).map((n) => ({ kind: nicKind.num(n.kind), source: n.source ?? '', model: nicModel.num(n.model ?? 'virtio'), mac: n.mac ?? '' })),
          bootOrder: (req.bootOrder ?? []).map((b) => bootDevice.num(b)),
          vnc: req.vnc ?? false,
          description: req.description ?? '',
          tags: req.tags ?? [],
          osType: req.osType ?? '',
        });
        const vm = await agent.call(agent.vm, agent.vm.defineVm, { spec }, LONG_MS);
        const uuid = vm.spec!.uuid;
        created.length = 0;
        t.log(`defined ${req.name} (${uuid}) on ${c.record.name}`);
        await c.refreshVm(uuid);
        if (req.start) {
          t.progress(80, 'starting');
          await agent.call(agent.vm, agent.vm.startVm, { id: uuid }, LONG_MS);
          await c.refreshVm(uuid);
        }
        return { vmId: uuid, hostId };
      } catch (err) {
        for (const v of created) {
          await agent.call(agent.storage, agent.storage.deleteVolume, v).catch(() => undefined);
        }
        throw err;
      }
    });
    return dto;
  }

  async update(id: string, req: UpdateVmDto): Promise<VmDto> {
    const { c, agent } = this.online(id);
    const current = await agent.call(agent.vm, agent.vm.getVm, { id });
    const s = current.spec!;
    const macs = req.nics ? nicMacsForUpdate(req.nics, s.nics) : [];
    const spec = VmSpec.fromPartial({
      ...s,
      sockets: req.sockets ?? s.sockets,
      cores: req.cores ?? s.cores,
      memoryMib: req.memoryMib ?? s.memoryMib,
      firmware: req.firmware ? firmware.num(req.firmware) : s.firmware,
      disks: req.disks ? req.disks.map((d) => ({ pool: d.pool, volume: d.volume, bus: diskBus.num(d.bus ?? 'virtio'), readonly: d.readonly ?? false })) : s.disks,
      cdroms: req.cdroms ? req.cdroms.map((cd) => ({ pool: cd.pool ?? '', volume: cd.volume ?? '', bus: diskBus.num(cd.bus ?? 'sata') })) : s.cdroms,
      nics: req.nics ? req.nics.map((n, i) => ({ kind: nicKind.num(n.kind), source: n.source ?? '', model: nicModel.num(n.model ?? 'virtio'), mac: macs[i]! })) : s.nics,
      bootOrder: req.bootOrder ? req.bootOrder.map((b) => bootDevice.num(b)) : s.bootOrder,
      vnc: req.vnc ?? s.vnc,
      description: req.description ?? s.description,
      tags: req.tags ?? s.tags,
    });
    const vm = await agent.call(agent.vm, agent.vm.updateVm, { vm: { id }, spec }, LONG_MS);
    c.vms.set(vm.spec!.uuid, vm);
    this.inventory.vmChanged(c, vm.spec!.uuid, vm);
    return this.inventory.vmDto(c, vm);
  }

  /** start, force-off, reboot, reset, pause, resume as a task. */
  action(id: string, action: SimpleAction, user: string): Promise<TaskDto> {
    return this.vmTask(id, `vm.${action}`, user, async (agent) => {
      const m = {
        start: agent.vm.startVm,
        forceOff: agent.vm.forceOffVm,
        reboot: agent.vm.rebootVm,
        reset: agent.vm.resetVm,
        pause: agent.vm.pauseVm,
        resume: agent.vm.resumeVm,
      }[action];
      await agent.call(agent.vm, m, { id }, LONG_MS);
    });
  }

  shutdown(id: string, timeoutSeconds: number | undefined, user: string): Promise<TaskDto> {
    return this.vmTask(id, 'vm.shutdown', user, async (agent) => {
      await agent.call(agent.vm, agent.vm.shutdownVm, { vm: { id }, timeoutSeconds: timeoutSeconds ?? 0 }, ((timeoutSeconds ?? 60) + 30) * 1000);
    });
  }

  /** The task result names every disk the host kept (another VM uses it, or it backs a linked clone) and why. */
  delete(id: string, deleteDisks: boolean, user: string): Promise<TaskDto> {
    return this.vmTask(id, 'vm.delete', user, async (agent): Promise<DeleteVmResultDto> => {
      const r = await agent.call(agent.vm, agent.vm.deleteVm, { vm: { id }, deleteDisks }, LONG_MS);
      return { keptDisks: r.keptDisks.map((k) => ({ pool: k.pool, volume: k.volume, path: k.path, reason: k.reason })) };
    });
  }

  async clone(id: string, req: CloneVmDto, user: string): Promise<TaskDto> {
    refuseNewVms(this.locate(id).c);
    return this.vmTask(id, 'vm.clone', user, async (agent, c) => {
      const vm = await agent.call(agent.vm, agent.vm.cloneVm, { source: { id }, name: req.name, linked: req.linked ?? false }, 3_600_000);
      await c.refreshVm(vm.spec!.uuid);
      return { vmId: vm.spec!.uuid, hostId: c.record.id };
    });
  }

  async stats(id: string): Promise<VmStatsDto> {
    const { agent } = this.online(id);
    return toVmStatsDto(await agent.call(agent.vm, agent.vm.getVmStats, { id }));
  }

  async snapshots(id: string): Promise<SnapshotDto[]> {
    const { agent } = this.online(id);
    return (await agent.call(agent.vm, agent.vm.listSnapshots, { id })).snapshots.map(toSnapshotDto);
  }

  createSnapshot(id: string, name: string, description: string, user: string): Promise<TaskDto> {
    return this.vmTask(id, 'vm.snapshot.create', user, async (agent) => {
      await agent.call(agent.vm, agent.vm.createSnapshot, { vm: { id }, name, description }, 3_600_000);
    });
  }

  revertSnapshot(id: string, name: string, user: string): Promise<TaskDto> {
    return this.vmTask(id, 'vm.snapshot.revert', user, async (agent) => {
      await agent.call(agent.vm, agent.vm.revertSnapshot, { vm: { id }, name }, 3_600_000);
    });
  }

  deleteSnapshot(id: string, name: string, user: string): Promise<TaskDto> {
    return this.vmTask(id, 'vm.snapshot.delete', user, async (agent) => {
      await agent.call(agent.vm, agent.vm.deleteSnapshot, { vm: { id }, name }, 3_600_000);
    });
  }

  /** The host connection (online) and canonical uuid of a VM. */
  online(id: string): { c: HostConnection; agent: AgentClient; vm: Vm } {
    const { c, vm } = this.locate(id);
    return { c, agent: c.requireOnline(), vm };
  }

  locate(id: string): { c: HostConnection; vm: Vm } {
    const c = this.pool.hostOfVm(id);
    const vm = c.vms.get(id) ?? [...c.vms.values()].find((v) => v.spec?.name === id);
    if (!vm) throw notFound(`VM ${id}`);
    return { c, vm };
  }

  private async vmTask(
    id: string,
    kind: string,
    user: string,
    work: (agent: AgentClient, c: HostConnection) => Promise<unknown>,
  ): Promise<TaskDto> {
    const { c, agent, vm } = this.online(id);
    const uuid = vm.spec!.uuid;
    const { dto } = await this.tasks.start({ kind, target: { type: 'vm', id: uuid, name: vm.spec!.name }, hostId: c.record.id, user }, async () => {
      try {
        return await work(agent, c);
      } finally {
        await c.refreshVm(uuid);
      }
    });
    return dto;
  }
}
