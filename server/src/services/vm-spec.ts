// The one VmSpec builder: the fields of a create or update request (REST strings) laid over a
// base spec (defaults for a new VM, the current spec for an update). Placement, volumes and MACs
// are decided by the caller.
import { VmSpec } from '@quantix/proto/v1/vm.js';
import type { CreateVmDto, UpdateVmDto } from '../dto/vms.js';
import { bootDevice, diskBus, firmware, nicKind, nicModel, videoModel } from './proto-enums.js';

/** What a create or update may set; an absent field keeps the base's. */
export interface VmSpecFields {
  name?: string;
  sockets?: number;
  cores?: number;
  memoryMib?: number;
  firmware?: CreateVmDto['firmware'];
  machine?: string;
  /** Existing volumes (a create made the new ones first). */
  disks?: UpdateVmDto['disks'];
  cdroms?: CreateVmDto['cdroms'];
  nics?: CreateVmDto['nics'];
  bootOrder?: CreateVmDto['bootOrder'];
  vnc?: boolean;
  videoModel?: CreateVmDto['videoModel'];
  description?: string;
  tags?: readonly string[];
  osType?: string;
}

/** A new VM's spec before the request: one socket, one core, BIOS, virtio-vga with a graphical console. */
export const NEW_VM = VmSpec.fromPartial({
  sockets: 1,
  cores: 1,
  firmware: firmware.num('bios'),
  vnc: true,
  videoModel: videoModel.num('virtio'),
});

export function buildVmSpec(base: VmSpec, f: VmSpecFields): VmSpec {
  return VmSpec.fromPartial({
    ...base,
    name: f.name ?? base.name,
    sockets: f.sockets ?? base.sockets,
    cores: f.cores ?? base.cores,
    memoryMib: f.memoryMib ?? base.memoryMib,
    firmware: f.firmware ? firmware.num(f.firmware) : base.firmware,
    machine: f.machine ?? base.machine,
    disks: f.disks
      ? f.disks.map((d) => ({
          pool: d.pool,
          volume: d.volume,
          bus: diskBus.num(d.bus ?? 'virtio'),
          readonly: d.readonly ?? false,
        }))
      : base.disks,
    cdroms: f.cdroms
      ? f.cdroms.map((cd) => ({ pool: cd.pool ?? '', volume: cd.volume ?? '', bus: diskBus.num(cd.bus ?? 'sata') }))
      : base.cdroms,
    nics: f.nics
      ? f.nics.map((n) => ({
          kind: nicKind.num(n.kind),
          source: n.source ?? '',
          model: nicModel.num(n.model ?? 'virtio'),
          mac: n.mac ?? '',
        }))
      : base.nics,
    bootOrder: f.bootOrder ? f.bootOrder.map((b) => bootDevice.num(b)) : base.bootOrder,
    vnc: f.vnc ?? base.vnc,
    videoModel: f.videoModel ? videoModel.num(f.videoModel) : base.videoModel,
    description: f.description ?? base.description,
    tags: f.tags ? [...f.tags] : base.tags,
    osType: f.osType ?? base.osType,
  });
}
