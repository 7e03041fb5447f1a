// Loop devices through losetup: attach a backing file, find the devices already attached to
// it (`losetup -j`, so re-attaching is idempotent), refresh the size after growth, detach.
import { run } from '../exec/run.js';
import { ensureFreeLoopNode } from './loop-node.js';

const T = { timeoutMs: 30_000 };

/** Attaches `file` to a free loop device and returns the device path. */
export async function loopAttach(file: string): Promise<string> {
  await ensureFreeLoopNode();
  const { stdout } = await run('losetup', ['--find', '--show', '--', file], T);
  return stdout.trim();
}

/** Every loop device that has `file` as its backing file. */
export async function loopFind(file: string): Promise<string[]> {
  const { stdout } = await run('losetup', ['--noheadings', '--output', 'NAME', '--associated', file], T);
  return stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('/dev/loop'));
}

/** Every attached loop device with its backing file (`(deleted)` suffix kept as losetup prints it). */
export async function loopList(): Promise<{ name: string; backFile: string }[]> {
  const { stdout } = await run('losetup', ['--list', '--json', '--output', 'NAME,BACK-FILE'], T);
  if (!stdout.trim()) return [];
  const parsed = JSON.parse(stdout) as { loopdevices?: { name: string; 'back-file': string | null }[] };
  return (parsed.loopdevices ?? []).map((d) => ({ name: d.name, backFile: (d['back-file'] ?? '').trim() }));
}

/** Makes the loop device pick up a changed backing-file size. */
export async function loopRefreshCapacity(device: string): Promise<void> {
  await run('losetup', ['--set-capacity', device], T);
}

export async function loopDetach(device: string): Promise<void> {
  await run('losetup', ['--detach', device], T);
}
