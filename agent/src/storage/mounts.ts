// Mounts as the kernel sees them (/proc/self/mountinfo) and mount/umount through exec/run.ts.
// Used to keep re-attachment idempotent: a mount point is never mounted twice.
import { readFile } from 'node:fs/promises';
import { run } from '../exec/run.js';

export interface MountEntry {
  /** The kernel's mount ID: a remount gets a new one. */
  id: number;
  mountPoint: string;
  fsType: string;
  source: string;
}

/** mountinfo escapes space, tab, newline and backslash as octal. */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Parses /proc/self/mountinfo text (pure; tested against a captured sample). */
export function parseMountInfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const right = line.slice(sep + 3).split(' ');
    if (left.length < 5 || right.length < 2) continue;
    entries.push({
      id: Number(left[0]),
      mountPoint: unescape(left[4]!),
      fsType: right[0]!,
      source: unescape(right[1]!),
    });
  }
  return entries;
}

export async function readMounts(): Promise<MountEntry[]> {
  return parseMountInfo(await readFile('/proc/self/mountinfo', 'utf8'));
}

/** The mount on exactly `mountPoint` (the last one, if stacked), or undefined. */
export async function mountAt(mountPoint: string): Promise<MountEntry | undefined> {
  return (await readMounts()).filter((m) => m.mountPoint === mountPoint).at(-1);
}

/** Mounts a pool filesystem: no device nodes, no set-uid, nothing executable from it. */
export async function mountFilesystem(device: string, mountPoint: string, fsType: string): Promise<void> {
  await run('mount', ['-t', fsType, '-o', 'nodev,nosuid,noexec', '--', device, mountPoint], { timeoutMs: 60_000 });
}

export async function unmount(mountPoint: string): Promise<void> {
  await run('umount', ['--', mountPoint], { timeoutMs: 60_000 });
}
