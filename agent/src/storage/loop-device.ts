// Loop devices through losetup: attach a backing file, find the devices already attached to
// it (`losetup -j`, so re-attaching is idempotent), refresh the size after growth, detach.
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { run } from '../exec/run.js';
import { log } from '../log.js';
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

/**
 * Detaches `device` (done if it is detached already). While something still holds it (e.g. a
 * mount namespace being torn down) the kernel only marks it for auto-clear, so this waits a little
 * for the backing file to go.
 */
export async function loopDetach(device: string, waitMs = 10_000): Promise<void> {
  const backing = `/sys/block/${basename(device)}/loop/backing_file`;
  await run('losetup', ['--detach', device], T).catch((err: unknown) => {
    // Already detached (an earlier detach of a busy device marked it for auto-clear, and it has
    // cleared since): what was asked for is done. Anything else is an error.
    if (existsSync(backing) || !existsSync(`/sys/block/${basename(device)}`)) throw err;
  });
  const deadline = Date.now() + waitMs;
  while (existsSync(backing) && Date.now() < deadline) await sleep(100);
  if (existsSync(backing)) log.warn('loop device still busy; it detaches once released', { device });
}
