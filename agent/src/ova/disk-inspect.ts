// Judges an untrusted disk image with `qemu-img info --output=json` (run sandboxed): only
// self-contained streamOptimized/monolithicSparse VMDK, qcow2 without backing or data file,
// or raw pass. qemu-img follows VMDK extents and backing files to any host path otherwise.
import { AgentError, ErrorCode } from '../errors.js';
import { run, ExecError } from '../exec/run.js';
import { sandboxedQemuImg, sandboxInputPath } from './qemu-sandbox.js';

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

/**
 * Pure judgement of qemu-img's JSON for the image at `path` (as qemu-img saw it).
 * Throws AgentError naming the disk when the image is not self-contained or not `format`.
 */
export function judgeImageInfo(json: string, format: string, path: string, label: string): ImageInfo {
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
    if (extents.some((e) => e.filename !== path)) throw unsafe(label, 'a VMDK extent refers to another file');
  }
  const virtualSize = info['virtual-size'];
  if (typeof virtualSize !== 'number' || !Number.isSafeInteger(virtualSize) || virtualSize <= 0) {
    throw unsafe(label, 'no valid virtual size');
  }
  return { format, virtualSize };
}

/** Runs `qemu-img info` on `file` in the sandbox (nothing else visible) and judges the result. */
export async function inspectDisk(file: string, format: string, label: string): Promise<ImageInfo> {
  const inner = sandboxInputPath(file);
  let stdout: string;
  try {
    ({ stdout } = await run('bwrap', sandboxedQemuImg({ input: file }, ['info', '--output=json', '-f', format, inner]), {
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
  return judgeImageInfo(stdout, format, inner, label);
}
