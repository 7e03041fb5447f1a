// Defining VMs: define from a spec, update while shut off, delete (optionally with disks) and
// clone (full copies or linked qcow2 overlays). Undoes its own partial work on failure. Disk
// volumes change only through storage/volumes.ts (the pool manager's layer): a define holds its
// disks' pool locks, so a volume delete (checked under the same lock) cannot race an attach.
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { Firmware, type FirmwareState, type KeptDisk, type Vm, type VmSpec } from '@quantix/proto/v1/vm.js';
import { consoleLogPath, prepareConsoleLog, removeConsoleLog } from '../console/console-log.js';
import { AgentError, ErrorCode, failedPrecondition } from '../errors.js';
import { validateName } from '../validate/name.js';
import { hostDomainType } from '../libvirt/domain-type.js';
import {
  DomainState,
  domainDefine,
  domainDumpXml,
  domainNames,
  domainRename,
  domainUndefine,
} from '../libvirt/domain.js';
import { ovmfFor } from '../libvirt/ovmf.js';
import type { Volumes } from '../storage/volumes.js';
import { volumeInfo } from '../libvirt/volume.js';
import { noteStateChange, readVm } from './vm-read.js';
import { vmTarget } from './vm-lifecycle.js';
import { writeFirmwareState } from './firmware-state.js';
import { validateVmSpec } from './vm-spec-validate.js';
import { buildDomainXml } from '../libvirt/xml/domain-build.js';
import { parseDomainXml } from '../libvirt/xml/domain-parse.js';
import type { Virsh } from '../libvirt/virsh.js';
import { hostCpu } from './cpu-host.js';
import { requireHostCpu } from './cpu-model.js';
import { requireTpm } from './tpm.js';

async function xmlFor(virsh: Virsh, spec: VmSpec, uuid: string, nvram?: string): Promise<string> {
  const disks = await Promise.all(spec.disks.map((d) => volumeInfo(virsh, d.pool, d.volume)));
  const cdroms = await Promise.all(spec.cdroms.map((c) => (c.pool ? volumeInfo(virsh, c.pool, c.volume) : undefined)));
  const uefi = spec.firmware === Firmware.FIRMWARE_UEFI ? ovmfFor(uuid, spec.secureBoot) : undefined;
  if (uefi && nvram) uefi.nvram = nvram;
  if (spec.tpm) requireTpm();
  requireHostCpu(spec, await hostCpu(virsh, hostDomainType()), hostDomainType());
  const consoleLog = await prepareConsoleLog(virsh.uri, uuid);
  return buildDomainXml({
    spec,
    uuid,
    domainType: hostDomainType(),
    disks,
    cdroms,
    consoleLog,
    ...(uefi ? { uefi } : {}),
  });
}

const STATE_WORDS: Partial<Record<DomainState, string>> = {
  [DomainState.Paused]: 'is paused',
  [DomainState.Shutdown]: 'is shutting down',
  [DomainState.Crashed]: 'has crashed',
  [DomainState.PmSuspended]: 'is suspended by its guest',
};

/**
 * Throws FAILED_PRECONDITION unless VM `t` is shut off, saying what state it is in and what to
 * do first ("VM web01 is paused: resume and shut it down, or force it off, before cloning it").
 */
function requireShutOff(t: { name: string; state: DomainState }, before: string, how = 'shut it down'): void {
  if (t.state === DomainState.Shutoff) return;
  const advice =
    t.state === DomainState.Paused && how === 'shut it down' ? 'resume and shut it down, or force it off,' : how;
  throw failedPrecondition(`VM ${t.name} ${STATE_WORDS[t.state] ?? 'is running'}: ${advice} before ${before}`);
}

async function assertNameFree(virsh: Virsh, name: string): Promise<void> {
  if ((await domainNames(virsh)).includes(name)) {
    throw new AgentError(ErrorCode.AlreadyExists, `a VM named ${name} already exists`, 'spec.name');
  }
}

/** The pools whose volumes `spec` attaches (disks and CD-ROMs). */
function poolsOf(spec: VmSpec): string[] {
  return [...spec.disks.map((d) => d.pool), ...spec.cdroms.map((c) => c.pool)].filter(Boolean);
}

export async function defineVm(
  virsh: Virsh,
  volumes: Volumes,
  input: VmSpec | undefined,
  firmware?: FirmwareState,
): Promise<Vm> {
  const spec = validateVmSpec(input);
  await assertNameFree(virsh, spec.name);
  const uuid = spec.uuid || randomUUID();
  await volumes.withPools(poolsOf(spec), async () => {
    const xml = await xmlFor(virsh, spec, uuid);
    const undoFirmware = await writeFirmwareState(uuid, spec, firmware);
    await domainDefine(virsh, spec.name, xml).catch(async (err: unknown) => {
      await undoFirmware();
      throw err;
    });
  });
  noteStateChange(uuid);
  return readVm(virsh, uuid);
}

/** Replaces the definition of a shut-off VM (same UUID; a new name renames it). */
export async function updateVm(virsh: Virsh, volumes: Volumes, id: string, input: VmSpec | undefined): Promise<Vm> {
  const spec = validateVmSpec(input);
  const t = await vmTarget(virsh, id);
  requireShutOff(t, 'changing its settings');
  if (spec.uuid && spec.uuid.toLowerCase() !== t.uuid) {
    throw new AgentError(ErrorCode.InvalidArgument, `spec.uuid: the UUID of VM ${t.name} cannot change`, 'spec.uuid');
  }
  const old = parseDomainXml(await domainDumpXml(virsh, t.uuid, true));
  // Variables made from the other template (with or without Microsoft's keys) would keep Secure
  // Boot off, or on: libvirt makes a fresh copy from the new template once the old one is gone.
  if (old.nvramPath && old.spec.secureBoot !== spec.secureBoot) await rm(old.nvramPath, { force: true });
  const nics = spec.nics.map((n, i) => ({ ...n, mac: n.mac || old.macs[i] || '' }));
  await volumes.withPools(poolsOf(spec), async () => {
    const xml = await xmlFor(virsh, { ...spec, nics }, t.uuid, old.nvramPath || undefined);
    if (spec.name !== t.name) {
      await assertNameFree(virsh, spec.name);
      await domainRename(virsh, t.uuid, spec.name);
    }
    await domainDefine(virsh, spec.name, xml);
  });
  return readVm(virsh, t.uuid);
}

/**
 * Deletes a shut-off VM with its NVRAM, snapshots and console log; its disk volumes too when
 * asked, except those something else holds (another VM's disk, a linked clone's backing file):
 * those are kept and returned with the reason. The VM is gone either way.
 */
export async function deleteVm(virsh: Virsh, volumes: Volumes, id: string, deleteDisks: boolean): Promise<KeptDisk[]> {
  const t = await vmTarget(virsh, id);
  requireShutOff(t, 'deleting it', 'force it off');
  const { spec } = parseDomainXml(await domainDumpXml(virsh, t.uuid, true));
  await domainUndefine(virsh, t.uuid);
  noteStateChange(t.uuid);
  await removeConsoleLog(consoleLogPath(virsh.uri, t.uuid)).catch(() => undefined);
  if (!deleteDisks) return [];
  const kept: KeptDisk[] = [];
  for (const d of spec.disks) {
    if (!d.pool) {
      kept.push({ pool: '', volume: d.volume, path: d.volume, reason: 'it is not in a storage pool' });
      continue;
    }
    try {
      const r = await volumes.deleteUnlessHeld(d.pool, d.volume);
      if (r.kept) kept.push({ pool: d.pool, volume: d.volume, path: r.path, reason: `it is ${r.kept}` });
    } catch (err) {
      kept.push({ pool: d.pool, volume: d.volume, path: '', reason: `deleting it failed: ${(err as Error).message}` });
    }
  }
  return kept;
}

function cloneVolumeName(newName: string, source: string, index: number): string {
  const ext = /\.(qcow2|raw|img)$/.exec(source)?.[0] ?? '';
  return validateName(`spec.disks[${index}].volume`, `${newName}-disk${index}${ext}`);
}

/** Clones a shut-off VM: new name, UUID and MACs; disks copied, or qcow2 overlays when linked. */
export async function cloneVm(virsh: Virsh, volumes: Volumes, id: string, name: string, linked: boolean): Promise<Vm> {
  validateName('name', name);
  const t = await vmTarget(virsh, id);
  requireShutOff(t, 'cloning it');
  await assertNameFree(virsh, name);
  const source = parseDomainXml(await domainDumpXml(virsh, t.uuid, true)).spec;
  const created: { pool: string; volume: string }[] = [];
  try {
    const disks = [];
    for (const [i, d] of source.disks.entries()) {
      if (!d.pool)
        throw failedPrecondition(`VM ${t.name}: disk ${d.volume} is not in a storage pool, so it cannot be cloned`);
      const volume = cloneVolumeName(name, d.volume, i);
      await volumes.clone({ pool: d.pool, name: d.volume, targetName: volume, targetPool: '', linked });
      created.push({ pool: d.pool, volume });
      disks.push({ ...d, volume });
    }
    const spec: VmSpec = { ...source, name, uuid: '', disks, nics: source.nics.map((n) => ({ ...n, mac: '' })) };
    return await defineVm(virsh, volumes, spec);
  } catch (err) {
    for (const c of created.reverse()) await volumes.delete(c.pool, c.volume).catch(() => undefined);
    throw err;
  }
}
