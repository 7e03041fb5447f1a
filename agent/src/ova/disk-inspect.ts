// The one judge of untrusted disk images, for uploads and OVA disks alike: our own header probe
// (volume-probe.ts) and `qemu-img info --output=json` run in the sandbox (qemu-sandbox.ts) must
// both show a self-contained image of the declared, allowed format: no backing or data file, every
// VMDK extent the file itself (streamOptimized/monolithicSparse only), not encrypted or corrupt, a
// bounded virtual size. qemu-img follows VMDK extents and backing files to any host path otherwise.
// A volume's backing chain (linked clones) is judged the same way, image by image: qcow2 or raw,
// no data file, every backing file directly in the volume's own directory.
import { dirname } from 'node:path';
import { AgentError, ErrorCode, failedPrecondition } from '../errors.js';
import { run, ExecError } from '../exec/run.js';
import { parseHeader, probeFile, readWithin, type HeaderProbe } from '../storage/volume-probe.js';
import { qemuFilename, sandboxedQemuImg, sandboxInputPath, type FileSlice } from './qemu-sandbox.js';

export type ImageFormat = 'qcow2' | 'raw' | 'vmdk' | 'iso';

/** What an OVA disk may be (the OVF names the format). */
export const OVA_DISK_FORMATS: readonly ImageFormat[] = ['vmdk', 'qcow2', 'raw'];
/** What an upload may be: no VMDK, whose descriptor names other files by design. */
export const UPLOAD_FORMATS: readonly ImageFormat[] = ['qcow2', 'raw', 'iso'];
/** Largest virtual size accepted (the OVF parser's bound on a disk's capacity too). */
export const MAX_IMAGE_BYTES = 64 * 2 ** 40;
const VMDK_CREATE_TYPES = new Set(['streamOptimized', 'monolithicSparse']);

export interface ImageInfo {
  format: string;
  virtualSize: number;
}

/** A checked volume: its backing file as qemu-img resolved it (absolute), when it has one. */
export interface VolumeChainInfo extends ImageInfo {
  backingFile?: string;
}

/** One untrusted image to judge. */
export interface ImageTarget {
  /** Host path of the file (an uploaded temp file, a staged disk, an OVA). */
  file: string;
  /** Only this byte range of `file` is the image (a disk inside an OVA's tar). */
  slice?: FileSlice;
  /** The format the image is declared as and will be converted or used as. */
  declared: string;
  /** The formats this path accepts. */
  allowed: readonly ImageFormat[];
  /** Names the image in errors: `disk "a.vmdk"`, `upload pool1/a.qcow2`. */
  label: string;
  /** The request field errors name. */
  field: string;
  /** Who declared the format, for the mismatch message: "the OVF says", "the upload says". */
  declaredBy: string;
}

interface QemuImgInfo {
  filename?: unknown;
  format?: unknown;
  'virtual-size'?: unknown;
  'backing-filename'?: unknown;
  'full-backing-filename'?: unknown;
  encrypted?: unknown;
  'format-specific'?: {
    type?: unknown;
    data?: {
      'create-type'?: unknown;
      'data-file'?: unknown;
      'data-file-raw'?: unknown;
      encrypt?: unknown;
      corrupt?: unknown;
      extents?: { filename?: unknown }[];
    };
  };
}

function unsafe(t: Pick<ImageTarget, 'label' | 'field'>, why: string): AgentError {
  return new AgentError(ErrorCode.InvalidArgument, `${t.label} is not a safe image: ${why}`, t.field);
}

/** The format qemu-img knows an image as (an ISO is a raw image). */
function qemuFormat(format: string): string {
  return format === 'iso' ? 'raw' : format;
}

/** An extent is the image itself: the same file, or for a slice the same raw layer over it. */
function isSelf(filename: unknown, path: string, slice?: FileSlice): boolean {
  if (typeof filename !== 'string') return false;
  if (!slice) return filename === path;
  if (!filename.startsWith('json:')) return false;
  try {
    const f = JSON.parse(filename.slice(5)) as {
      driver?: string;
      offset?: number;
      size?: number;
      file?: { driver?: string; filename?: string };
    };
    return (
      f.driver === 'raw' &&
      f.offset === slice.offset &&
      f.size === slice.size &&
      f.file?.driver === 'file' &&
      f.file.filename === path
    );
  } catch {
    return false;
  }
}

/** Why an embedded VMDK descriptor is unsafe (it can name any host file), or undefined. */
function vmdkDescriptorProblem(text: string): string | undefined {
  const type = /createType\s*=\s*"([^"]*)"/.exec(text)?.[1];
  if (!type || !VMDK_CREATE_TYPES.has(type)) {
    return `VMDK create-type "${type ?? 'unknown'}" (only streamOptimized and monolithicSparse are accepted)`;
  }
  for (const m of text.matchAll(/^\s*(?:RW|RDONLY|NOACCESS)\s+\d+\s+(\S+)/gm)) {
    if (m[1] !== 'SPARSE') return `VMDK extent of type ${m[1]} refers to another file`;
  }
  if (/parentFileNameHint/i.test(text)) return 'VMDK with a parent (backing) file';
  return undefined;
}

/**
 * Why our own header probe makes the image unacceptable as `t.declared`, or undefined. Pure; the
 * first look, before (and for `qx ova inspect` instead of) qemu-img.
 */
export function headerProblem(
  probe: HeaderProbe,
  t: Pick<ImageTarget, 'declared' | 'allowed' | 'declaredBy'>,
): string | undefined {
  if (!(t.allowed as readonly string[]).includes(t.declared))
    return `${t.declared} images are not accepted here (only ${t.allowed.join(', ')})`;
  if (probe.format === 'other') return `${probe.detail ?? 'unknown'} images are not accepted`;
  const found = probe.format;
  if (found !== t.declared && !(t.declared === 'raw' && found === 'iso')) {
    if (t.declared === 'iso' && found === 'raw') return 'there is no ISO9660 signature (CD001 at 0x8001)';
    if (!(t.allowed as readonly string[]).includes(found))
      return `${found} images are not accepted here (only ${t.allowed.join(', ')})`;
    return `it is ${found}, ${t.declaredBy} ${t.declared}`;
  }
  if (probe.backingFile !== undefined) return `it has a backing file ("${probe.backingFile.slice(0, 200)}")`;
  if (probe.externalDataFile) return 'it has an external data file';
  const vmdk = probe.vmdk;
  if (vmdk?.kind === 'descriptor-file') return 'a VMDK text descriptor refers to other files';
  if (vmdk?.kind === 'truncated') return 'VMDK header truncated';
  if (vmdk?.kind === 'sparse') {
    if (vmdk.capacitySectors === 0n) return 'VMDK sparse header without capacity (defers to an embedded descriptor)';
    if (vmdk.descriptor !== undefined) return vmdkDescriptorProblem(vmdk.descriptor);
  }
  return undefined;
}

/**
 * Why qemu-img's view of one image (already known to be `format`) makes it unsafe, or undefined
 * when it is fine. A backing file is the caller's to judge when `backingAllowed`.
 */
function unsafeReason(
  info: QemuImgInfo,
  format: string,
  path: string,
  slice?: FileSlice,
  backingAllowed = false,
): string | undefined {
  const backing = info['backing-filename'] ?? info['full-backing-filename'];
  if (!backingAllowed && backing !== undefined) return `it has a backing file ("${String(backing).slice(0, 200)}")`;
  const data = info['format-specific']?.data ?? {};
  if (data['data-file'] !== undefined || data['data-file-raw'] !== undefined) return 'it has an external data file';
  if (info.encrypted === true || data.encrypt !== undefined) return 'it is encrypted';
  if (data.corrupt === true) return 'qemu-img reports it as corrupt';
  if (format === 'vmdk') {
    const type = data['create-type'];
    if (typeof type !== 'string' || !VMDK_CREATE_TYPES.has(type)) {
      return `VMDK create-type "${typeof type === 'string' ? type : 'unknown'}" (only streamOptimized and monolithicSparse are accepted)`;
    }
    const extents = Array.isArray(data.extents) ? data.extents : [];
    if (extents.length === 0) return 'VMDK without extents';
    if (extents.some((e) => !isSelf(e?.filename, path, slice))) return 'a VMDK extent refers to another file';
  }
  const virtualSize = info['virtual-size'];
  if (typeof virtualSize !== 'number' || !Number.isSafeInteger(virtualSize) || virtualSize <= 0)
    return 'no valid virtual size';
  return undefined;
}

/**
 * Pure judgement of qemu-img's JSON for the image at `path` (as qemu-img saw it), which qemu-img
 * was left to probe: its format must be `t.declared`. Throws AgentError naming the image.
 */
export function judgeImageInfo(json: string, t: Omit<ImageTarget, 'file' | 'allowed'> & { path: string }): ImageInfo {
  let info: QemuImgInfo;
  try {
    info = JSON.parse(json) as QemuImgInfo;
  } catch {
    throw unsafe(t, 'qemu-img info output is not JSON');
  }
  if (typeof info !== 'object' || info === null || Array.isArray(info))
    throw unsafe(t, 'qemu-img info printed no JSON object');
  const format = typeof info.format === 'string' ? info.format : 'unknown';
  if (format !== qemuFormat(t.declared)) throw unsafe(t, `it is ${format}, ${t.declaredBy} ${t.declared}`);
  const why = unsafeReason(info, format, t.path, t.slice);
  if (why) throw unsafe(t, why);
  const virtualSize = info['virtual-size'] as number;
  if (virtualSize > MAX_IMAGE_BYTES)
    throw unsafe(t, `its virtual size ${virtualSize} bytes is more than the ${MAX_IMAGE_BYTES} bytes allowed`);
  return { format: t.declared, virtualSize };
}

/**
 * Judges the head of an image kept while streaming (`qx ova inspect` runs no qemu-img): throws
 * AgentError when it shows an image that is not self-contained or not the declared format.
 */
export async function judgeImageHead(head: Buffer, t: Omit<ImageTarget, 'file' | 'slice'>): Promise<void> {
  const why = headerProblem(await parseHeader(head, readWithin(head)), t);
  if (why) throw unsafe(t, why);
}

/**
 * Judges `t.file` (or its slice): our header probe, then `qemu-img info` in the sandbox, where
 * nothing but the image is visible and qemu-img probes the format itself (so it cannot be told
 * "raw" about a qcow2). Throws AgentError (INVALID_ARGUMENT, naming `t.field`) when it is unsafe.
 */
export async function judgeImage(t: ImageTarget): Promise<ImageInfo> {
  const why = headerProblem(await probeFile(t.file, t.slice), t);
  if (why) throw unsafe(t, why);
  let stdout: string;
  try {
    ({ stdout } = await run(
      'bwrap',
      sandboxedQemuImg({ input: t.file }, ['info', '--output=json', '-U', qemuFilename(t.file, undefined, t.slice)]),
      {
        timeoutMs: 60_000,
        maxOutputBytes: 1024 * 1024,
      },
    ));
  } catch (err) {
    if (err instanceof ExecError) {
      const line = err.stderr.split('\n').find((l) => l.trim()) ?? 'qemu-img info failed';
      throw unsafe(t, `qemu-img cannot open it on its own (${line.replace(/^qemu-img:\s*/, '').slice(0, 200)})`);
    }
    throw err;
  }
  return judgeImageInfo(stdout, { ...t, path: sandboxInputPath(t.file) });
}

/** An OVA disk as a target: the OVF declares `format`; errors name the disk by its file `name`. */
export function ovaDisk(name: string, format: string): Omit<ImageTarget, 'file' | 'slice'> {
  return {
    declared: format,
    allowed: OVA_DISK_FORMATS,
    label: `disk "${name}"`,
    field: 'disk',
    declaredBy: 'the OVF says',
  };
}

/** The OVA import's call: judges disk `name` (in `file`, or its `slice`) declared as `format`. */
export function inspectDisk(file: string, format: string, name: string, slice?: FileSlice): Promise<ImageInfo> {
  return judgeImage({ file, slice, ...ovaDisk(name, format) });
}

/** What a volume's backing chain is checked against. */
export interface VolumeChainTarget {
  /** Host path of the volume. */
  path: string;
  /** The format it will be used as (never sniffed by qemu). */
  format: 'qcow2' | 'raw';
  /** The only directory its backing files may lie in (the pool); none: no backing file at all. */
  dir?: string;
  /** Names the volume in errors, e.g. "volume pool1/disk.qcow2". */
  label: string;
}

/**
 * Pure judgement of `qemu-img info --backing-chain --output=json`: every image qcow2 or raw,
 * without data file, each backing file directly in `target.dir`. Throws FAILED_PRECONDITION
 * naming the volume and the offending path.
 */
export function judgeBackingChain(json: string, target: VolumeChainTarget): VolumeChainInfo {
  const refuse = (why: string) => failedPrecondition(`${target.label}: ${why}`);
  let chain: QemuImgInfo[];
  try {
    chain = JSON.parse(json) as QemuImgInfo[];
  } catch {
    throw refuse('qemu-img info output is not JSON');
  }
  if (!Array.isArray(chain) || chain.length === 0) throw refuse('qemu-img info printed no backing chain');
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  chain.forEach((info, i) => {
    const file = str(info.filename) ?? '?';
    const expected = i === 0 ? target.path : str(chain[i - 1]!['full-backing-filename']);
    if (file !== expected) throw refuse(`qemu-img opened ${file} where ${expected ?? 'nothing'} was expected`);
    const backing = str(info['full-backing-filename']) ?? str(info['backing-filename']);
    if (backing !== undefined && (!target.dir || dirname(backing) !== target.dir)) {
      throw refuse(
        `its backing file ${backing} lies outside ${target.dir ?? 'the volume'}; only backing files in the same pool are allowed`,
      );
    }
    const what = i === 0 ? 'it' : `backing file ${file}`;
    const format = str(info.format);
    if ((format !== 'qcow2' && format !== 'raw') || (i === 0 && format !== target.format)) {
      throw refuse(`${what} is ${format ?? 'unknown'}, not ${i === 0 ? target.format : 'qcow2 or raw'}`);
    }
    const why = unsafeReason(info, format, file, undefined, true);
    if (why) throw refuse(i === 0 ? why : `${what}: ${why}`);
  });
  const backingFile = str(chain[0]!['full-backing-filename']) ?? str(chain[0]!['backing-filename']);
  return {
    format: target.format,
    virtualSize: chain[0]!['virtual-size'] as number,
    ...(backingFile === undefined ? {} : { backingFile }),
  };
}

/**
 * Checks the backing chain of a volume with `qemu-img info --backing-chain` run sandboxed with
 * only `target.dir` (or the volume alone) visible, so a chain that leads elsewhere cannot be
 * opened, let alone read; qemu-img's complaint names the path it could not open. The volume may be
 * a running VM's (-U; QEMU's user owns it then).
 */
export async function inspectBackingChain(target: VolumeChainTarget): Promise<VolumeChainInfo> {
  const args = ['info', '--backing-chain', '--output=json', '-U', '-f', target.format, target.path];
  let stdout: string;
  try {
    ({ stdout } = await run(
      'bwrap',
      sandboxedQemuImg({ readOnly: [target.dir ?? target.path], readOtherOwners: true }, args),
      {
        timeoutMs: 60_000,
        maxOutputBytes: 1024 * 1024,
      },
    ));
  } catch (err) {
    if (err instanceof ExecError) {
      const why = err.stderr.split('\n').find((l) => l.trim()) ?? 'qemu-img info failed';
      throw failedPrecondition(
        `${target.label}: its backing chain cannot be opened within ${target.dir ?? target.path} (${why.replace(/^qemu-img:\s*/, '').slice(0, 300)})`,
      );
    }
    throw err;
  }
  return judgeBackingChain(stdout, target);
}
