// Storage volumes as VM disks: resolve {pool, volume} to a path and format, clone (full or
// linked qcow2 overlay) and delete — all through virsh so any libvirt pool kind works.
// libvirt reads a dir pool volume's format from its content, which a guest controls: the format
// the agent recorded when it wrote the volume (storage/volume-formats.ts) wins; otherwise only
// raw, ISO and qcow2 whose backing chain stays in the pool are handed to QEMU or to vol-clone.
import { stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { AgentError, ErrorCode, failedPrecondition, notFound } from '../errors.js';
import { ExecError } from '../exec/run.js';
import { inspectBackingChain } from '../ova/disk-inspect.js';
import {
  checkRecordedBacking,
  forgetVolumeFormat,
  recordedVolumeFormat,
  recordVolumeFormat,
  type VolumeFormatRecord,
} from '../storage/volume-formats.js';
import { Virsh } from './virsh.js';
import type { ResolvedVolume } from './xml/domain-build.js';

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', parseTagValue: false });
const NOT_FOUND = /Storage volume not found|failed to get vol|Storage pool not found|failed to get pool/i;

async function volumeCall(virsh: Virsh, what: string, args: readonly string[]): Promise<string> {
  try {
    return await virsh.exec(args);
  } catch (err) {
    if (err instanceof ExecError && NOT_FOUND.test(err.stderr)) throw notFound(what);
    throw new AgentError(ErrorCode.Internal, `${what}: ${Virsh.message(err)}`, undefined, { cause: err });
  }
}

export interface VolumeInfo extends ResolvedVolume {
  capacityBytes: number;
}

/**
 * The QEMU driver type for a libvirt volume format. libvirt's dir pools report ISO images as
 * "iso", which QEMU refuses ("use 'raw'"): an ISO is read as raw bytes.
 */
export function qemuDriverFormat(libvirtFormat: string): string {
  return libvirtFormat === 'iso' ? 'raw' : libvirtFormat;
}

/** A checked volume, what libvirt read its format as, and the agent's record of it (if any). */
interface CheckedVolume {
  info: VolumeInfo;
  libvirtFormat: string;
  record?: VolumeFormatRecord;
}

async function volumePath(virsh: Virsh, pool: string, volume: string): Promise<string> {
  const xml = await volumeCall(virsh, `volume ${pool}/${volume}`, ['vol-dumpxml', '--pool', pool, volume]);
  return String(parser.parse(xml).volume?.target?.path ?? '');
}

async function checkVolume(virsh: Virsh, pool: string, volume: string): Promise<CheckedVolume> {
  const label = `volume ${pool}/${volume}`;
  const xml = await volumeCall(virsh, label, ['vol-dumpxml', '--pool', pool, volume]);
  const v = parser.parse(xml).volume ?? {};
  const capacity = v.capacity;
  const path = String(v.target?.path ?? '');
  const libvirtFormat = qemuDriverFormat(String(v.target?.format?.['@type'] ?? 'raw'));
  const record = await recordedVolumeFormat(dirname(path), basename(path));
  const format = record ? qemuDriverFormat(record.format) : libvirtFormat;
  if (format !== 'raw' && format !== 'qcow2') {
    throw failedPrecondition(`${label} is ${format}; VMs use raw, ISO and qcow2 volumes only`);
  }
  let capacityBytes = Number(typeof capacity === 'object' ? capacity['#text'] : capacity) || 0;
  if (format === 'qcow2') {
    const chain = await inspectBackingChain({ path, format, dir: dirname(path), label });
    if (record) {
      checkRecordedBacking(dirname(path), record, chain.backingFile, label);
      capacityBytes = chain.virtualSize;
    }
  } else if (record && libvirtFormat !== 'raw') {
    // Recorded raw, but libvirt took the content for an image: its capacity is the header's.
    capacityBytes = (await stat(path)).size;
  }
  return { info: { path, format, capacityBytes }, libvirtFormat, ...(record ? { record } : {}) };
}

/**
 * Path, format and capacity of volume `volume` in pool `pool`. A volume the agent wrote has the
 * format it was written as (a raw disk stays raw whatever its header says; a qcow2 overlay must
 * have the backing file it was given). Otherwise refuses formats other than raw, ISO and qcow2;
 * any qcow2 whose backing chain leaves the volume's directory (the pool) is refused.
 */
export async function volumeInfo(virsh: Virsh, pool: string, volume: string): Promise<VolumeInfo> {
  return (await checkVolume(virsh, pool, volume)).info;
}

/** Deletes a volume and the agent's record of its format. */
export async function volumeDelete(virsh: Virsh, pool: string, volume: string): Promise<void> {
  const path = await volumePath(virsh, pool, volume);
  await volumeCall(virsh, `volume ${pool}/${volume}`, ['vol-delete', '--pool', pool, volume]);
  if (path) await forgetVolumeFormat(dirname(path), basename(path));
}

/**
 * Records what libvirt just wrote as `target` (`record`, or for a full copy what it wrote: the
 * format, and a backing file only if the copy kept one), deleting the volume again when the
 * record cannot be written. Volumes that are not files in a directory (LVs) are not recorded.
 */
async function recordNewVolume(virsh: Virsh, pool: string, target: string, record: VolumeFormatRecord): Promise<void> {
  try {
    const path = await volumePath(virsh, pool, target);
    if (record.format === 'qcow2' && !record.backing) {
      const chain = await inspectBackingChain({ path, format: 'qcow2', dir: dirname(path), label: `volume ${pool}/${target}` });
      if (chain.backingFile) record = { format: 'qcow2', backing: basename(chain.backingFile) };
    }
    await recordVolumeFormat(dirname(path), basename(path), record);
  } catch (err) {
    await volumeCall(virsh, `volume ${pool}/${target}`, ['vol-delete', '--pool', pool, target]).catch(() => undefined);
    throw err;
  }
}

/**
 * Full copy of `volume` as `target` in the same pool (same format); libvirt runs qemu-img itself,
 * reading the source as the format it sniffs: a recorded volume whose content libvirt reads as
 * another format (a guest rewrote its header) is refused.
 */
export async function volumeClone(virsh: Virsh, pool: string, volume: string, target: string): Promise<void> {
  const source = await checkVolume(virsh, pool, volume);
  if (source.record && source.libvirtFormat !== source.info.format) {
    throw failedPrecondition(
      `volume ${pool}/${volume}: the agent wrote it as ${source.record.format}, but libvirt reads its content as ` +
        `${source.libvirtFormat} (its header was rewritten, e.g. by its guest) and would copy it as that; clone it as a storage volume instead`,
    );
  }
  await volumeCall(virsh, `volume ${pool}/${volume}`, ['vol-clone', '--pool', pool, volume, target]);
  await recordNewVolume(virsh, pool, target, { format: source.record?.format ?? (source.info.format === 'qcow2' ? 'qcow2' : 'raw') });
}

/** A qcow2 overlay `target` whose backing file is `volume` (a linked clone's disk), recorded as such. */
export async function volumeCreateOverlay(virsh: Virsh, pool: string, volume: string, target: string): Promise<void> {
  const source = await volumeInfo(virsh, pool, volume);
  await volumeCall(virsh, `volume ${pool}/${target}`, [
    'vol-create-as',
    pool,
    target,
    String(source.capacityBytes),
    '--format',
    'qcow2',
    '--backing-vol',
    source.path,
    '--backing-vol-format',
    source.format,
  ]);
  await recordNewVolume(virsh, pool, target, { format: 'qcow2', backing: basename(source.path) });
}
