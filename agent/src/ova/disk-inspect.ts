// Judges an untrusted disk image with `qemu-img info --output=json` (run sandboxed): only
// self-contained streamOptimized/monolithicSparse VMDK, qcow2 without backing or data file,
// or raw pass. qemu-img follows VMDK extents and backing files to any host path otherwise.
import { AgentError, ErrorCode } from '../errors.js';
import { run, ExecError } from '../exec/run.js';
import { qemuFilename, sandboxedQemuImg, sandboxInputPath, type FileSlice } from './qemu-sandbox.js';

export interface ImageInfo {
  format: string;
  virtualSize: number;
}

interface QemuImgInfo {
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
  if (info['backing-filename'] || info['full-backing-filename']) throw unsafe(label, 'it has a backing file');
  const data = info['format-specific']?.data ?? {};
  if (data['data-file']) throw unsafe(label, 'it has an external data file');
  if (format === 'vmdk') {
    const type = data['create-type'];
    if (type !== 'streamOptimized' && type !== 'monolithicSparse') {
      throw unsafe(label, `VMDK create-type "${type ?? 'unknown'}" (only streamOptimized and monolithicSparse are accepted)`);
    }
    const extents = data.extents ?? [];
    if (extents.length === 0) throw unsafe(label, 'VMDK without extents');
    if (extents.some((e) => !isSelf(e.filename, path, slice))) throw unsafe(label, 'a VMDK extent refers to another file');
  }
  const virtualSize = info['virtual-size'];
  if (typeof virtualSize !== 'number' || !Number.isSafeInteger(virtualSize) || virtualSize <= 0) {
    throw unsafe(label, 'no valid virtual size');
  }
  return { format, virtualSize };
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
