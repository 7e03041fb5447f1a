// Storage volumes as VM disks: resolve {pool, volume} to a path and format, clone (full or
// linked qcow2 overlay) and delete — all through virsh so any libvirt pool kind works.
// libvirt reads a dir pool volume's format from its content, which a guest controls: only raw,
// ISO and qcow2 whose backing chain stays in the pool are handed to QEMU or to vol-clone.
import { dirname } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { AgentError, ErrorCode, failedPrecondition, notFound } from '../errors.js';
import { ExecError } from '../exec/run.js';
import { inspectBackingChain } from '../ova/disk-inspect.js';
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

/**
 * Path, format and capacity of volume `volume` in pool `pool`. Refuses formats other than raw,
 * ISO and qcow2, and a qcow2 whose backing chain leaves the volume's directory (the pool).
 */
export async function volumeInfo(virsh: Virsh, pool: string, volume: string): Promise<VolumeInfo> {
  const xml = await volumeCall(virsh, `volume ${pool}/${volume}`, ['vol-dumpxml', '--pool', pool, volume]);
  const v = parser.parse(xml).volume ?? {};
  const capacity = v.capacity;
  const path = String(v.target?.path ?? '');
  const format = qemuDriverFormat(String(v.target?.format?.['@type'] ?? 'raw'));
  if (format !== 'raw' && format !== 'qcow2') {
    throw failedPrecondition(`volume ${pool}/${volume} is ${format}; VMs use raw, ISO and qcow2 volumes only`);
  }
  if (format === 'qcow2') {
    await inspectBackingChain({ path, format, dir: dirname(path), label: `volume ${pool}/${volume}` });
  }
  return { path, format, capacityBytes: Number(typeof capacity === 'object' ? capacity['#text'] : capacity) || 0 };
}

export async function volumeDelete(virsh: Virsh, pool: string, volume: string): Promise<void> {
  await volumeCall(virsh, `volume ${pool}/${volume}`, ['vol-delete', '--pool', pool, volume]);
}

/** Full copy of `volume` as `target` in the same pool (same format); libvirt runs qemu-img itself. */
export async function volumeClone(virsh: Virsh, pool: string, volume: string, target: string): Promise<void> {
  await volumeInfo(virsh, pool, volume);
  await volumeCall(virsh, `volume ${pool}/${volume}`, ['vol-clone', '--pool', pool, volume, target]);
}

/** A qcow2 overlay `target` whose backing file is `volume` (a linked clone's disk). */
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
}
