// The one sandbox for qemu-img (and qemu-nbd) on untrusted images (uploads, OVA disks, volumes): bubblewrap argv
// with no network or other namespaces shared, no environment, no /proc, no host files but the
// qemu-img binary and libraries and what the caller binds: an input read-only at /in/…, an output
// directory writable at /out, or host paths (a pool's directory, the one file being written) at
// their own place so backing names resolve as on the host.
import { basename } from 'node:path';

export interface SandboxMounts {
  /** Host path of the input image, visible read-only as /in/<basename>. */
  input?: string;
  /** Host directory visible writable as /out. */
  outputDir?: string;
  /** Host paths visible read-only at their own place (e.g. a pool directory). */
  readOnly?: readonly string[];
  /** Existing host paths visible writable at their own place, bound after `readOnly`. */
  writable?: readonly string[];
  /**
   * Read files of other owners: a running VM's disks belong to QEMU's user (libvirt's dynamic
   * ownership), and an uploaded one is mode 0600, so root reads it only with CAP_DAC_READ_SEARCH.
   * That one capability is kept, without a user namespace: in one, it would not cover files of
   * an owner the namespace does not map.
   */
  readOtherOwners?: boolean;
}

/**
 * `qemu-img convert`'s output cache mode for a copy that must survive a power cut: its default,
 * "unsafe", never flushes the written data (strace: its only fdatasyncs are while it creates the
 * empty image); "writeback" flushes it before qemu-img exits.
 */
export const FLUSHED_OUTPUT = ['-t', 'writeback'] as const;

/** Every namespace but the user one (`--unshare-all` less `--unshare-user-try`). */
const UNSHARE_ALL_BUT_USER = [
  '--unshare-ipc',
  '--unshare-pid',
  '--unshare-net',
  '--unshare-uts',
  '--unshare-cgroup-try',
];

/** Where the input appears inside the sandbox. */
export function sandboxInputPath(input: string): string {
  return `/in/${basename(input)}`;
}

/** A byte range of a file (a disk inside an OVA's tar). */
export interface FileSlice {
  offset: number;
  size: number;
}

/**
 * The qemu filename for `input` inside the sandbox: the plain path, or for a slice qemu's
 * json: syntax (`format`, or without it qemu's own probe, over a raw layer with offset/size) so
 * the disk is read inside the tar.
 */
export function qemuFilename(input: string, format: string | undefined, slice?: FileSlice): string {
  const path = sandboxInputPath(input);
  if (!slice) return path;
  const file = { driver: 'raw', offset: slice.offset, size: slice.size, file: { driver: 'file', filename: path } };
  return `json:${JSON.stringify(format === undefined ? { file } : { driver: format, file })}`;
}

/** `bwrap` arguments that run `qemu-img <args…>` inside the sandbox. */
export function sandboxedQemuImg(mounts: SandboxMounts, args: readonly string[]): string[] {
  return sandboxed('/usr/bin/qemu-img', mounts, args);
}

/** `bwrap` arguments that run `qemu-nbd <args…>` inside the same sandbox (its socket in a `writable` dir). */
export function sandboxedQemuNbd(mounts: SandboxMounts, args: readonly string[]): string[] {
  return sandboxed('/usr/bin/qemu-nbd', mounts, args);
}

function sandboxed(program: string, mounts: SandboxMounts, args: readonly string[]): string[] {
  // prettier-ignore
  return [
    ...(mounts.readOtherOwners ? UNSHARE_ALL_BUT_USER : ['--unshare-all']),
    // Run by root, bwrap would leave the program every capability (in its user namespace, or
    // without one on the host): none is needed but the one asked for.
    '--cap-drop', 'ALL',
    ...(mounts.readOtherOwners ? ['--cap-add', 'CAP_DAC_READ_SEARCH'] : []),
    '--die-with-parent',
    '--new-session',
    '--clearenv',
    '--setenv', 'PATH', '/usr/bin',
    '--ro-bind', '/usr/lib', '/usr/lib',
    '--ro-bind-try', '/usr/lib64', '/usr/lib64',
    '--ro-bind', program, program,
    '--symlink', 'usr/lib', '/lib',
    '--symlink', 'usr/lib64', '/lib64',
    '--dev', '/dev',
    ...(mounts.input ? ['--ro-bind', mounts.input, sandboxInputPath(mounts.input)] : []),
    ...(mounts.outputDir ? ['--bind', mounts.outputDir, '/out'] : []),
    ...(mounts.readOnly ?? []).flatMap((p) => ['--ro-bind', p, p]),
    ...(mounts.writable ?? []).flatMap((p) => ['--bind', p, p]),
    '--chdir', '/',
    program,
    ...args,
  ];
}
