// Judges an untrusted disk image with `qemu-img info --output=json` (run sandboxed): only
// self-contained streamOptimized/monolithicSparse VMDK, qcow2 without backing or data file,
// or raw pass. qemu-img follows VMDK extents and backing files to any host path otherwise.
// A volume's backing chain (linked clones) is judged the same way, image by image: qcow2 or raw,
// no data file, every backing file directly in the volume's own directory.
import { dirname } from 'node:path';
import { AgentError, ErrorCode, failedPrecondition } from '../errors.js';
import { run, ExecError } from '../exec/run.js';
import { qemuFilename, sandboxedQemuImg, sandboxInputPath, type FileSlice } from './qemu-sandbox.js';

export interface ImageInfo {
  format: string;
  virtualSize: number;
}

/** A checked volume: its backing file as qemu-img resolved it (absolute), when it has one. */
export interface VolumeChainInfo extends ImageInfo {
  backingFile?: string;
}

interface QemuImgInfo {
  filename?: string;
  format?: string;
  'virtual-size'?: number;
  'backing-filename'?: string;
  'full-backing-filename'?: string;
  'format-specific'?: {
    type?: string;
    data?: {
      'create-type'?: string;
      'data-file'?: string;
      extents?: { filename?: string }[];
    };
  };
}

function unsafe(label: string, why: string): AgentError {
  return new AgentError(ErrorCode.InvalidArgument, `disk "${label}" is not a safe image: ${why}`, 'disk');
}

/** An extent is the image itself: the same file, or for a slice the same raw layer over it. */
function isSelf(filename: string | undefined, path: string, slice?: FileSlice): boolean {
  if (!slice) return filename === path;
  if (!filename?.startsWith('json:')) return false;
  try {
    const f = JSON.parse(filename.slice(5)) as { driver?: string; offset?: number; size?: number; file?: { driver?: string; filename?: string } };
    return f.driver === 'raw' && f.offset === slice.offset && f.size === slice.size && f.file?.driver === 'file' && f.file.filename === path;
  } catch {
    return false;
  }
}

/**
 * Why qemu-img's view of one image (already known to be `format`) makes it unsafe, or undefined
 * when it is fine. A backing file is the caller's to judge when `backingAllowed`.
 */
function unsafeReason(info: QemuImgInfo, format: string, path: string, slice?: FileSlice, backingAllowed = false): string | undefined {
  if (!backingAllowed && (info['backing-filename'] || info['full-backing-filename'])) return 'it has a backing file';
  const data = info['format-specific']?.data ?? {};
  if (data['data-file']) return 'it has an external data file';
  if (format === 'vmdk') {
    const type = data['create-type'];
    if (type !== 'streamOptimized' && type !== 'monolithicSparse') {
      return `VMDK create-type "${type ?? 'unknown'}" (only streamOptimized and monolithicSparse are accepted)`;
    }
    const extents = data.extents ?? [];
    if (extents.length === 0) return 'VMDK without extents';
    if (extents.some((e) => !isSelf(e.filename, path, slice))) return 'a VMDK extent refers to another file';
  }
  const virtualSize = info['virtual-size'];
  if (typeof virtualSize !== 'number' || !Number.isSafeInteger(virtualSize) || virtualSize <= 0) return 'no valid virtual size';
  return undefined;
}

/**
 * Pure judgement of qemu-img's JSON for the image at `path` (as qemu-img saw it).
 * Throws AgentError naming the disk when the image is not self-contained or not `format`.
 */
export function judgeImageInfo(json: string, format: string, path: string, label: string, slice?: FileSlice): ImageInfo {
  let info: QemuImgInfo;
  try {
    info = JSON.parse(json) as QemuImgInfo;
  } catch {
    throw unsafe(label, 'qemu-img info output is not JSON');
  }
  if (info.format !== format) throw unsafe(label, `it is ${info.format ?? 'unknown'}, the OVF says ${format}`);
  const why = unsafeReason(info, format, path, slice);
  if (why) throw unsafe(label, why);
  return { format, virtualSize: info['virtual-size']! };
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
  chain.forEach((info, i) => {
    const file = info.filename ?? '?';
    const expected = i === 0 ? target.path : chain[i - 1]!['full-backing-filename'];
    if (file !== expected) throw refuse(`qemu-img opened ${file} where ${expected ?? 'nothing'} was expected`);
    const backing = info['full-backing-filename'] ?? info['backing-filename'];
    if (backing !== undefined && (!target.dir || dirname(backing) !== target.dir)) {
      throw refuse(`its backing file ${backing} lies outside ${target.dir ?? 'the volume'}; only backing files in the same pool are allowed`);
    }
    const what = i === 0 ? 'it' : `backing file ${file}`;
    const format = info.format;
    if ((format !== 'qcow2' && format !== 'raw') || (i === 0 && format !== target.format)) {
      throw refuse(`${what} is ${format ?? 'unknown'}, not ${i === 0 ? target.format : 'qcow2 or raw'}`);
    }
    const why = unsafeReason(info, format, file, undefined, true);
    if (why) throw refuse(i === 0 ? why : `${what}: ${why}`);
  });
  const backingFile = chain[0]!['full-backing-filename'] ?? chain[0]!['backing-filename'];
  return { format: target.format, virtualSize: chain[0]!['virtual-size']!, ...(backingFile === undefined ? {} : { backingFile }) };
}

/**
 * Runs `qemu-img info` on `file` (or the `slice` of it) in the sandbox, where nothing else is
 * visible, and judges the result.
 */
export async function inspectDisk(file: string, format: string, label: string, slice?: FileSlice): Promise<ImageInfo> {
  const inner = sandboxInputPath(file);
  let stdout: string;
  try {
    ({ stdout } = await run('bwrap', sandboxedQemuImg({ input: file }, ['info', '--output=json', ...(slice ? [] : ['-f', format]), qemuFilename(file, format, slice)]), {
      timeoutMs: 60_000,
      maxOutputBytes: 1024 * 1024,
    }));
  } catch (err) {
    if (err instanceof ExecError) {
      const why = err.stderr.split('\n').find((l) => l.trim()) ?? 'qemu-img info failed';
      throw unsafe(label, `qemu-img cannot open it on its own (${why.replace(/^qemu-img:\s*/, '').slice(0, 200)})`);
    }
    throw err;
  }
  return judgeImageInfo(stdout, format, inner, label, slice);
}

/**
 * Checks the backing chain of a volume with `qemu-img info --backing-chain` run sandboxed with
 * only `target.dir` (or the volume alone) visible, so a chain that leads elsewhere cannot be
 * opened, let alone read; qemu-img's complaint names the path it could not open.
 */
export async function inspectBackingChain(target: VolumeChainTarget): Promise<VolumeChainInfo> {
  const args = ['info', '--backing-chain', '--output=json', '-U', '-f', target.format, target.path];
  let stdout: string;
  try {
    ({ stdout } = await run('bwrap', sandboxedQemuImg({ readOnly: [target.dir ?? target.path] }, args), {
      timeoutMs: 60_000,
      maxOutputBytes: 1024 * 1024,
    }));
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
