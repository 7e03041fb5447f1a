// The create-VM wizard's draft → the server's CreateVmDto (or DeployTemplateDto), and which wizard
// step owns a field named in a server error (pure; unit-tested without a browser).
import type { CreateVmDto } from '@dto/vms.js';
import type { DeployTemplateDto } from '@dto/templates.js';
import type { PresetFields } from './vm-presets.js';

/** Which step owns each request field (server errors go to that step). */
export function stepOfField(field: string): number | undefined {
  const head = field.replace(/\[.*$/, '');
  const map: Record<string, number> = {
    name: 0,
    osType: 0,
    hostId: 0,
    clusterId: 0,
    cores: 1,
    sockets: 1,
    memoryMib: 1,
    cpuMode: 1,
    cpuModel: 1,
    maxVcpus: 1,
    maxMemoryMib: 1,
    'spec.max_vcpus': 1,
    'spec.max_memory_mib': 1,
    pool: 2,
    disks: 2,
    image: 3,
    cdroms: 3,
    bootOrder: 3,
    template: 3,
    nics: 4,
    firmware: 5,
    machine: 5,
    secureBoot: 5,
    tpm: 5,
    videoModel: 5,
    vnc: 5,
  };
  return map[head];
}

/** The wizard's fields; the guest OS preset sets those of PresetFields (vm-presets.ts). */
export interface Draft extends PresetFields {
  /** The chosen guest OS preset's id, '' = none. */
  preset: string;
  name: string;
  /** "auto", "cluster:<id>" or "host:<id>". */
  placement: string;
  pool: string;
  bootKind: 'none' | 'iso' | 'image' | 'template';
  /** "<hostId>|<pool>|<volume>" of an ISO volume. */
  iso: string;
  /** "<hostId>|<pool>|<volume>" of an existing disk image (qcow2/raw) to boot from. */
  image: string;
  templateId: string;
  network: string;
  start: boolean;
  /** Hotplug ceilings: vCPUs and MiB the running VM may grow to; 0 = no growth. */
  maxVcpus: number;
  maxMemoryMib: number;
}

/** The hardware step's check of the maxima, as the agent checks them (vm-spec-validate.ts): the error and its field. */
export function checkMaxima(
  d: Pick<Draft, 'cores' | 'memoryMib' | 'maxVcpus' | 'maxMemoryMib'>,
): { message: string; field: 'maxVcpus' | 'maxMemoryMib' } | undefined {
  // One socket of `cores` cores at boot: each hotplug step is one more socket of that many.
  const v = d.maxVcpus;
  if (v !== 0 && !(Number.isInteger(v) && v >= d.cores && v <= 256 && v % d.cores === 0)) {
    return {
      message: `0 (no growth), or from ${d.cores} (the vCPUs at boot) to 256 in steps of ${d.cores}.`,
      field: 'maxVcpus',
    };
  }
  const m = d.maxMemoryMib;
  if (m !== 0 && !(Number.isInteger(m) && m >= d.memoryMib && m <= 4_194_304)) {
    return {
      message: `0 (no growth), or from ${d.memoryMib} MiB (the memory at boot) to 4194304 MiB.`,
      field: 'maxMemoryMib',
    };
  }
  return undefined;
}

/** The create request for a draft (pure; not used for templates, which deploy instead). */
export function draftToRequest(d: Draft): CreateVmDto {
  const [kind, id] = d.placement.split(':');
  const [isoHost, isoPool, isoVolume] = d.iso.split('|');
  const [imgHost, imgPool, imgVolume] = d.image.split('|');
  const iso = d.bootKind === 'iso' && isoVolume;
  const image = d.bootKind === 'image' && imgVolume;
  const hostId = iso ? isoHost : image ? imgHost : kind === 'host' ? id : undefined;
  const newDisk = d.diskGib > 0 ? [{ pool: d.pool, sizeBytes: Math.round(d.diskGib * 1024 ** 3), bus: d.diskBus }] : [];
  return {
    name: d.name.trim(),
    ...(hostId ? { hostId } : kind === 'cluster' ? { clusterId: id } : {}),
    pool: d.pool,
    sockets: 1,
    cores: d.cores,
    memoryMib: d.memoryMib,
    firmware: d.firmware,
    ...(d.machine ? { machine: d.machine } : {}),
    osType: d.osType,
    cpuMode: d.cpuMode,
    ...(d.cpuMode === 'named' ? { cpuModel: d.cpuModel } : {}),
    secureBoot: d.secureBoot,
    tpm: d.tpm,
    ...(d.maxVcpus > 0 ? { maxVcpus: d.maxVcpus } : {}),
    ...(d.maxMemoryMib > 0 ? { maxMemoryMib: d.maxMemoryMib } : {}),
    videoModel: d.videoModel,
    vnc: d.videoModel !== 'none',
    disks: image ? [{ pool: imgPool, volume: imgVolume, bus: d.diskBus }, ...newDisk] : newDisk,
    cdroms: iso ? [{ pool: isoPool, volume: isoVolume }] : [],
    nics: d.network ? [{ kind: 'network', source: d.network, model: d.nicModel }] : [],
    bootOrder: iso ? ['cdrom', 'disk'] : ['disk'],
    start: d.start,
  };
}

/**
 * The deploy request for a draft that deploys `template`: the draft's vCPUs keep the template's
 * cores per socket when they divide evenly (2 × 2 → 3 × 2 for 6), else one socket of that many cores.
 */
export function draftToDeploy(d: Draft, template: { sockets: number; cores: number } | undefined): DeployTemplateDto {
  const perSocket = template && template.cores > 0 && d.cores % template.cores === 0 ? template.cores : d.cores;
  return {
    name: d.name.trim(),
    sockets: d.cores / perSocket,
    cores: perSocket,
    memoryMib: d.memoryMib,
    start: d.start,
  };
}
