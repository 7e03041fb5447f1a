// Makes sure the block node of the next free loop device exists before losetup uses it.
// Here /dev is devtmpfs and the kernel creates /dev/loopN itself; without udev on a static
// /dev it would not, so a missing node is made with mknod (block major 7).
import { existsSync } from 'node:fs';
import { run } from '../exec/run.js';

const LOOP_MAJOR = 7;

/** Returns the next free loop device, creating its node when it is missing. */
export async function ensureFreeLoopNode(): Promise<string> {
  const { stdout } = await run('losetup', ['--find'], { timeoutMs: 10_000 });
  const device = stdout.trim();
  const minor = /^\/dev\/loop(\d+)$/.exec(device)?.[1];
  if (minor === undefined) throw new Error(`losetup --find printed an unexpected device "${device}"`);
  if (!existsSync(device)) {
    await run('mknod', ['-m', '0660', device, 'b', String(LOOP_MAJOR), minor], { timeoutMs: 10_000 });
  }
  return device;
}
