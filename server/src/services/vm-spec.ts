// The one VmSpec builder: the fields of a create or update request (REST strings) laid over a
// base spec (defaults for a new VM, the current spec for an update). Placement, volumes and MACs
// are decided by the caller.
import { VmSpec } from '@quantix/proto/v1/vm.js';
import type { CreateVmDto, UpdateVmDto } from '../dto/vms.js';
import { badRequest } from '../errors.js';
import { bootDevice, cpuMode, diskBus, firmware, nicKind, nicModel, videoModel } from './proto-enums.js';

/** What a create or update may set; an absent field keeps the base's. */
export interface VmSpecFields {
  name?: string;
  sockets?: number;
  cores?: number;
  memoryMib?: number;
  /** Hotplug ceilings (0 = none). */
  maxVcpus?: number;
  maxMemoryMib?: number;
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
  cpuMode?: CreateVmDto['cpuMode'];
  cpuModel?: string;
  secureBoot?: boolean;
  tpm?: boolean;
  autostart?: boolean;
  autostartOrder?: number;
  autostartDelaySeconds?: number;
}

/** The CPU model of new VMs: movable between hosts and enough for x86-64-v2 guests (RHEL 9). */
export const DEFAULT_CPU_MODEL = 'x86-64-v2-AES';

/** A new VM's spec before the request: one socket, one core, BIOS, virtio-vga with a graphical console. */
export const NEW_VM = VmSpec.fromPartial({
  sockets: 1,
  cores: 1,
  firmware: firmware.num('bios'),
  vnc: true,
  videoModel: videoModel.num('virtio'),
  cpuMode: cpuMode.num('named'),
  cpuModel: DEFAULT_CPU_MODEL,
});

export function buildVmSpec(base: VmSpec, f: VmSpecFields): VmSpec {
  return VmSpec.fromPartial({
    ...base,
    name: f.name ?? base.name,
    sockets: f.sockets ?? base.sockets,
    cores: f.cores ?? base.cores,
    memoryMib: f.memoryMib ?? base.memoryMib,
    maxVcpus: f.maxVcpus ?? base.maxVcpus,
    maxMemoryMib: f.maxMemoryMib ?? base.maxMemoryMib,
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
    autostart: f.autostart ?? base.autostart,
    autostartOrder: f.autostartOrder ?? base.autostartOrder,
    autostartDelaySeconds: f.autostartDelaySeconds ?? base.autostartDelaySeconds,
    ...guestHardware(base, f),
  });
}

/**
 * CPU, Secure Boot and TPM over the base. A new mode other than named drops the model; named
 * without a model keeps the base's named model or takes the default. Secure Boot needs UEFI: a
 * 400 naming secureBoot before anything is created (the agent checks the machine type too).
 */
function guestHardware(base: VmSpec, f: VmSpecFields): Pick<VmSpec, 'cpuMode' | 'cpuModel' | 'secureBoot' | 'tpm'> {
  const mode = f.cpuMode ? cpuMode.num(f.cpuMode) : base.cpuMode;
  const named = mode === cpuMode.num('named');
  if (f.cpuModel && !named) throw badRequest('cpuModel: only for cpuMode "named"', 'cpuModel');
  const model = named ? f.cpuModel || (base.cpuMode === mode && base.cpuModel) || DEFAULT_CPU_MODEL : '';
  const secureBoot = f.secureBoot ?? base.secureBoot;
  const fw = f.firmware ? firmware.num(f.firmware) : base.firmware;
  if (secureBoot && fw !== firmware.num('uefi')) throw badRequest('secureBoot: needs firmware "uefi"', 'secureBoot');
  return { cpuMode: mode, cpuModel: model, secureBoot, tpm: f.tpm ?? base.tpm };
}
