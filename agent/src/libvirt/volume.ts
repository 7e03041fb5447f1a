// Storage volumes as VM disks: resolve {pool, volume} to the path, format and capacity a domain
// uses, through virsh so any libvirt pool kind works. Read-only: every volume change (delete,
// clone, overlay, import, upload) goes through the pool manager's layer in agent/src/storage.
// libvirt reads a dir pool volume's format from its content, which a guest controls: the format
// the agent recorded when it wrote the volume (storage/volume-formats.ts) wins; otherwise only
// raw, ISO and qcow2 whose backing chain stays in the pool are handed to QEMU.
import { stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { xmlReader } from './xml/parser.js';
import { AgentError, ErrorCode, failedPrecondition, notFound } from '../errors.js';
import { ExecError } from '../exec/run.js';
import { inspectBackingChain } from '../ova/disk-inspect.js';
import { checkRecordedBacking, recordedVolumeFormat } from '../storage/volume-formats.js';
import { Virsh } from './virsh.js';
import type { ResolvedVolume } from './xml/domain-build.js';

const read = xmlReader([]);
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

/**
 * Path, format and capacity of volume `volume` in pool `pool`. A volume the agent wrote has the
 * format it was written as (a raw disk stays raw whatever its header says; a qcow2 overlay must
 * have the backing file it was given). Otherwise refuses formats other than raw, ISO and qcow2;
 * any qcow2 whose backing chain leaves the volume's directory (the pool) is refused.
 */
export async function volumeInfo(virsh: Virsh, pool: string, volume: string): Promise<VolumeInfo> {
  const label = `volume ${pool}/${volume}`;
  const xml = await volumeCall(virsh, label, ['vol-dumpxml', '--pool', pool, volume]);
  const v = read(xml).volume ?? {};
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
  return { path, format, capacityBytes };
}
