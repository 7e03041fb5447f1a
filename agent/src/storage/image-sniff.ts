// Decides whether an uploaded image may become a volume. `qemu-img info --output=json` runs in
// a bubblewrap sandbox (the image read-only at /image, no network, no host files) and its
// output is treated as untrusted; its verdict must agree with our own header probe.
import { run } from '../exec/run.js';
import type { HeaderProbe } from './volume-probe.js';

export type UploadFormat = 'qcow2' | 'raw' | 'iso';

/** The fields of `qemu-img info --output=json` we look at (everything optional: untrusted). */
export interface QemuImgInfo {
  format?: unknown;
  'virtual-size'?: unknown;
  'backing-filename'?: unknown;
  'full-backing-filename'?: unknown;
  encrypted?: unknown;
  'format-specific'?: { type?: unknown; data?: Record<string, unknown> };
}

/** Runs qemu-img info on `file` inside bubblewrap; parses and returns its JSON. */
export async function sandboxedImageInfo(file: string): Promise<QemuImgInfo> {
  const args = [
    '--unshare-all',
    '--die-with-parent',
    '--new-session',
    '--ro-bind', '/usr', '/usr',
    '--symlink', 'usr/lib', '/lib',
    '--symlink', 'usr/lib64', '/lib64',
    '--symlink', 'usr/bin', '/bin',
    '--symlink', 'usr/sbin', '/sbin',
    '--proc', '/proc',
    '--dev', '/dev',
    '--ro-bind', file, '/image',
    '--',
    'qemu-img', 'info', '--output=json', '--force-share', '/image',
  ];
  const { stdout } = await run('bwrap', args, { timeoutMs: 60_000, maxOutputBytes: 1024 * 1024 });
  const parsed: unknown = JSON.parse(stdout);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error('qemu-img info did not print a JSON object');
  }
  return parsed as QemuImgInfo;
}

/**
 * Returns why an upload declared as `declared` must be refused, or undefined when it is fine.
 * Pure: `probe` is our own header parse, `info` qemu-img's (untrusted) opinion.
 */
export function refusalReason(declared: UploadFormat, probe: HeaderProbe, info: QemuImgInfo): string | undefined {
  const format = typeof info.format === 'string' ? info.format : 'unknown';
  const data = info['format-specific']?.data ?? {};
  if (format === 'vmdk' || probe.format === 'vmdk') {
    return 'VMDK images are not accepted as volumes (their extents can point at any host file); import them as OVA or convert to qcow2';
  }
  if (info['backing-filename'] !== undefined || info['full-backing-filename'] !== undefined || probe.backingFile !== undefined) {
    const name = String(info['backing-filename'] ?? probe.backingFile);
    return `the image has a backing file ("${name.slice(0, 200)}"); upload a standalone image`;
  }
  if (data['data-file'] !== undefined || data['data-file-raw'] !== undefined || probe.externalDataFile) {
    return 'the image uses an external data file; upload a standalone image';
  }
  if (info.encrypted === true || data.encrypt !== undefined) return 'encrypted images are not accepted';
  if (data.corrupt === true) return 'qemu-img reports the image as corrupt';
  if (probe.format === 'other') return `${probe.detail} images are not accepted`;
  if (declared === 'qcow2') {
    if (format !== 'qcow2' || probe.format !== 'qcow2') return `declared qcow2 but the content is ${format}`;
    return undefined;
  }
  if (format !== 'raw' || (probe.format !== 'raw' && probe.format !== 'iso')) {
    return `declared ${declared} but the content is ${format}`;
  }
  if (declared === 'iso' && probe.format !== 'iso') return 'declared iso but there is no ISO9660 signature (CD001 at 0x8001)';
  return undefined;
}
