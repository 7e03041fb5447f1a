// VMs across hosts: routed to the host that has them, long actions run as tasks, the
// inventory re-read after each change. Creation: placement → disk volumes → DefineVm (→ start),
// undone on failure.
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { VideoModel, type Vm } from '@quantix/proto/v1/vm.js';
import type {
  CloneVmDto,
  CreateVmDto,
  DeleteVmResultDto,
  SnapshotDto,
  UpdateVmDto,
  VmDto,
  VmAutostartDto,
  VmMemoryDto,
  VmVcpusDto,
  CdromMediaDto,
  AttachDiskDto,
  NewNicDto,
  VmStatsDto,
  ListVmPageQuery,
  VmPageDto,
} from '../dto/vms.js';
import type { TaskDto } from '../dto/tasks.js';
import { badRequest, conflict, notFound } from '../errors.js';
import type { AgentPool } from '../agents/agent-pool.js';
import type { HostConnection } from '../agents/host-connection.js';
import { refuseNewVms, type ClusterService } from './cluster-service.js';
import { guestHardwareIncompatibility } from './cpu-compat.js';
import type { InventoryService } from './inventory-service.js';
import type { TaskService } from './task-service.js';
import { toSnapshotDto, toVmStatsDto } from './dto-mapping.js';
import { diskBus, nicKind, nicModel, vmState, volumeFormat } from './proto-enums.js';
import { pageVms, type VmRow } from './vm-page.js';
import { NEW_VM, buildVmSpec } from './vm-spec.js';
import type { AgentClient, VmAction } from '../agents/agent-client.js';

/** A random MAC in QEMU's locally administered 52:54:00 range (the one libvirt uses). */
export function randomMac(): string {
  return `52:54:00:${[...randomBytes(3)].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
}

/**
 * The MAC of each NIC of an update. A NIC given without one keeps the MAC of the current NIC at
 * its position (as the agent would fill it in), unless another NIC of the request has that MAC
 * — a NIC was removed before it and this one is new: then it gets a fresh MAC, never a duplicate.
 */
export function nicMacsForUpdate(
  nics: readonly { mac?: string }[],
  current: readonly { mac: string }[],
  fresh = randomMac,
): string[] {
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
      .filter(
        (c) =>
          (!filter.hostId || c.record.id === filter.hostId) &&
          (!filter.clusterId || c.record.clusterId === filter.clusterId),
      );
    return gzip ? this.inventory.vmsJsonGzip(hosts) : this.inventory.vmsJson(hosts);
  }

  /** One page of the VM list, filtered and sorted here (vm-page.ts); DTOs built for that page only. */
  page(q: ListVmPageQuery): VmPageDto {
    const rows: (VmRow & { c: HostConnection; vm: Vm })[] = [];
    for (const c of this.pool.all()) {
      const { id: hostId, name: hostName, clusterId } = c.record;
      for (const vm of c.vms.values()) {
        const s = vm.spec!;
        const state = vmState.str(vm.state);
        rows.push({
          id: s.uuid,
          name: s.name,
          state,
          hostId,
          hostName,
          clusterId,
          tags: s.tags,
          ipAddresses: vm.ipAddresses,
          c,
          vm,
        });
      }
    }
    return pageVms(rows, q, (r) => this.inventory.vmDto(r.c, r.vm));
  }

  get(id: string): VmDto {
    const { c, vm } = this.locate(id);
    return this.inventory.vmDto(c, vm);
  }

  async create(req: CreateVmDto, user: string): Promise<TaskDto> {
    const networks = (req.nics ?? []).filter((n) => n.kind === 'network' && n.source).map((n) => n.source!);
    const hardware = buildVmSpec(NEW_VM, { ...req, disks: [] }); // 400s on bad guest hardware first
    const hostId =
      req.hostId ?? this.clusters.placement(req.clusterId, req.pool, req.memoryMib, networks, hardware).hostId;
    const c = this.pool.get(hostId);
    refuseNewVms(c);
    const agent = c.requireOnline();
    const unfit = guestHardwareIncompatibility(hardware, c.info);
    if (unfit) throw conflict(`host ${c.record.name} ${unfit}`);
    if ([...c.vms.values()].some((v) => v.spec?.name === req.name))
      throw badRequest(`name: a VM "${req.name}" already exists on ${c.record.name}`, 'name');
    const { dto } = await this.tasks.start(
      { kind: 'vm.create', target: { type: 'vm', id: '', name: req.name }, hostId, user },
      async (t) => {
        const created: { pool: string; name: string }[] = [];
        try {
          const disks = [];
          for (const [i, d] of (req.disks ?? []).entries()) {
            const poolName = d.pool ?? req.pool;
            let volume = d.volume;
            if (!volume) {
              if (!d.sizeBytes)
                throw badRequest(
                  `disks[${i}].sizeBytes: give a size for a new disk, or a volume`,
                  `disks[${i}].sizeBytes`,
                );
              volume = `${req.name}-disk${i}`;
              t.log(`creating volume ${poolName}/${volume}`);
              await agent.createVolume({
                pool: poolName,
                name: volume,
                format: volumeFormat.num('qcow2'),
                capacityBytes: d.sizeBytes,
              });
              created.push({ pool: poolName, name: volume });
            }
            disks.push({ pool: poolName, volume, bus: d.bus, readonly: d.readonly });
          }
          t.progress(50, 'defining');
          const spec = buildVmSpec(NEW_VM, { ...req, disks });
          const vm = await agent.defineVm(spec);
          const uuid = vm.spec!.uuid;
          created.length = 0;
          t.log(`defined ${req.name} (${uuid}) on ${c.record.name}`);
          await c.refreshVm(uuid);
          if (req.start) {
            t.progress(80, 'starting');
            await agent.startVm(uuid);
            await c.refreshVm(uuid);
          }
          return { vmId: uuid, hostId };
        } catch (err) {
          for (const v of created) {
            await agent.deleteVolume(v.pool, v.name).catch(() => undefined);
          }
          throw err;
        }
      },
    );
    return dto;
  }

  async update(id: string, req: UpdateVmDto): Promise<VmDto> {
    const { c, agent, vm: known } = this.online(id);
    this.refuseWhileMoving(known.spec!.uuid);
    const current = (await agent.getVm(id)).spec!;
    const macs = req.nics ? nicMacsForUpdate(req.nics, current.nics) : [];
    const spec = buildVmSpec(current, { ...req, nics: req.nics?.map((n, i) => ({ ...n, mac: macs[i] })) });
    const vm = await agent.updateVm(id, spec);
    c.vms.set(vm.spec!.uuid, vm);
    this.inventory.vmChanged(c, vm.spec!.uuid, vm);
    return this.inventory.vmDto(c, vm);
  }

  /** Autostart on host boot (any state). */
  setAutostart(id: string, a: VmAutostartDto): Promise<VmDto> {
    return this.change(id, (agent) =>
      agent.setAutostart(id, { autostart: a.enabled, order: a.order, delaySeconds: a.delaySeconds }),
    );
  }

  /** vCPU hotplug within maxVcpus (the agent refuses beyond it, naming vcpus). */
  setVcpus(id: string, r: VmVcpusDto): Promise<VmDto> {
    return this.change(id, (agent) => agent.setVcpus(id, r.vcpus));
  }

  /** Memory through the balloon within maxMemoryMib. */
  setMemory(id: string, r: VmMemoryDto): Promise<VmDto> {
    return this.change(id, (agent) => agent.setMemory(id, r.memoryMib));
  }

  /** Inserts pool/volume into CD-ROM drive `index`, or ejects it when both are absent. */
  changeCdromMedia(id: string, index: string, m: CdromMediaDto): Promise<VmDto> {
    if (!/^\d{1,2}$/.test(index)) throw badRequest(`index: "${index}" is not a drive number (0, 1, …)`, 'index');
    if (!m.pool !== !m.volume) throw badRequest('volume: give pool and volume to insert, neither to eject', 'volume');
    return this.change(id, (agent) => agent.changeCdromMedia(id, Number(index), m.pool ?? '', m.volume ?? ''));
  }

  attachDisk(id: string, d: AttachDiskDto): Promise<VmDto> {
    const disk = { pool: d.pool, volume: d.volume, bus: diskBus.num(d.bus ?? 'virtio'), readonly: d.readonly ?? false };
    return this.change(id, (agent) => agent.attachDisk(id, disk));
  }

  detachDisk(id: string, target: string): Promise<VmDto> {
    return this.change(id, (agent) => agent.detachDisk(id, target));
  }

  attachNic(id: string, n: NewNicDto): Promise<VmDto> {
    const nic = {
      kind: nicKind.num(n.kind),
      source: n.source ?? '',
      model: nicModel.num(n.model ?? 'virtio'),
      mac: n.mac ?? '',
    };
    return this.change(id, (agent) => agent.attachNic(id, nic));
  }

  detachNic(id: string, mac: string): Promise<VmDto> {
    return this.change(id, (agent) => agent.detachNic(id, mac));
  }

  /** A quick change through the agent that answers the VM: the inventory takes it at once. */
  private async change(id: string, work: (agent: AgentClient) => Promise<Vm>): Promise<VmDto> {
    const { c, agent } = this.online(id);
    const vm = await work(agent);
    c.vms.set(vm.spec!.uuid, vm);
    this.inventory.vmChanged(c, vm.spec!.uuid, vm);
    return this.inventory.vmDto(c, vm);
  }

  /** start, force-off, reboot, reset, pause, resume as a task. */
  action(id: string, action: VmAction, user: string): Promise<TaskDto> {
    return this.vmTask(id, `vm.${action}`, user, async (agent) => {
      await agent.vmAction(action, id);
    });
  }

  shutdown(id: string, timeoutSeconds: number | undefined, user: string): Promise<TaskDto> {
    return this.vmTask(id, 'vm.shutdown', user, async (agent) => {
      await agent.shutdownVm(id, timeoutSeconds ?? 0);
    });
  }

  /** The task result names every disk the host kept (another VM uses it, or it backs a linked clone) and why. */
  delete(id: string, deleteDisks: boolean, user: string): Promise<TaskDto> {
    return this.vmTask(id, 'vm.delete', user, async (agent): Promise<DeleteVmResultDto> => {
      const r = await agent.deleteVm(id, deleteDisks);
      return {
        keptDisks: r.keptDisks.map((k) => ({ pool: k.pool, volume: k.volume, path: k.path, reason: k.reason })),
      };
    });
  }

  async clone(id: string, req: CloneVmDto, user: string): Promise<TaskDto> {
    refuseNewVms(this.locate(id).c);
    return this.vmTask(id, 'vm.clone', user, async (agent, c) => {
      const vm = await agent.cloneVm(id, req.name, req.linked ?? false);
      await c.refreshVm(vm.spec!.uuid);
      return { vmId: vm.spec!.uuid, hostId: c.record.id };
    });
  }

  async stats(id: string): Promise<VmStatsDto> {
    const { agent } = this.online(id);
    return toVmStatsDto(await agent.getVmStats(id));
  }

  async snapshots(id: string): Promise<SnapshotDto[]> {
    const { agent } = this.online(id);
    return (await agent.listSnapshots(id)).snapshots.map(toSnapshotDto);
  }

  createSnapshot(id: string, name: string, description: string, user: string): Promise<TaskDto> {
    return this.vmTask(id, 'vm.snapshot.create', user, async (agent) => {
      await agent.createSnapshot(id, name, description);
    });
  }

  revertSnapshot(id: string, name: string, user: string): Promise<TaskDto> {
    return this.vmTask(id, 'vm.snapshot.revert', user, async (agent) => {
      await agent.revertSnapshot(id, name);
    });
  }

  deleteSnapshot(id: string, name: string, user: string): Promise<TaskDto> {
    return this.vmTask(id, 'vm.snapshot.delete', user, async (agent) => {
      await agent.deleteSnapshot(id, name);
    });
  }

  /** The VM's name and its OVA (tar) byte stream. */
  exportOva(id: string): { name: string; stream: Readable } {
    const { agent, vm } = this.online(id);
    return { name: vm.spec!.name, stream: agent.exportOva(vm.spec!.uuid) };
  }

  /** The host connection (online) and canonical uuid of a VM. */
  online(id: string): { c: HostConnection; agent: AgentClient; vm: Vm } {
    const { c, vm } = this.locate(id);
    return { c, agent: c.requireOnline(), vm };
  }

  /** 409 unless the VM runs with a graphical console now (asked of its agent, not the cache). */
  async requireGraphics(id: string): Promise<void> {
    const { agent, vm } = this.online(id);
    const live = await agent.getVm(vm.spec!.uuid);
    if (!live.graphics) {
      throw conflict(
        live.spec?.vnc && live.spec.videoModel !== VideoModel.VIDEO_MODEL_NONE
          ? `VM ${vm.spec!.name} is not running, so it has no graphical console`
          : `VM ${vm.spec!.name} has no graphical console (no video device): use its serial console`,
      );
    }
  }

  locate(id: string): { c: HostConnection; vm: Vm } {
    const c = this.pool.hostOfVm(id);
    const vm = c.vms.get(id) ?? [...c.vms.values()].find((v) => v.spec?.name === id);
    if (!vm) throw notFound(`VM ${id}`);
    return { c, vm };
  }

  /** Set by compose.ts: 409 "VM is being migrated" while a move holds the VM. */
  refuseWhileMoving: (uuid: string) => void = () => undefined;

  private async vmTask(
    id: string,
    kind: string,
    user: string,
    work: (agent: AgentClient, c: HostConnection) => Promise<unknown>,
  ): Promise<TaskDto> {
    const { c, agent, vm } = this.online(id);
    const uuid = vm.spec!.uuid;
    this.refuseWhileMoving(uuid);
    const { dto } = await this.tasks.start(
      { kind, target: { type: 'vm', id: uuid, name: vm.spec!.name }, hostId: c.record.id, user },
      async () => {
        try {
          return await work(agent, c);
        } finally {
          await c.refreshVm(uuid);
        }
      },
    );
    return dto;
  }
}
