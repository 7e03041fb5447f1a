// Scrollback for VM serial consoles: every VM the agent defines has libvirt copy its serial
// output into a log file (<serial><log file=… append='on'/>), written by virtlogd, which rotates
// it (virtlogd.conf max_size, 2 MiB by default, × max_backups files), so a guest that floods its
// console cannot fill the disk. A viewer that attaches late first gets the end of that file:
// the boot messages and whatever the console showed before, as a terminal attached earlier would.
import { closeSync, openSync, readSync, fstatSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/** What a viewer is shown of the past on attach: enough for a boot log, a screen or two more than xterm shows. */
const REPLAY_BYTES = 64 * 1024;
/** virtlogd keeps rotated copies as <file>.0, <file>.1, … (max_backups, 3 by default). */
const MAX_ROTATED = 10;

/**
 * libvirt's own log directory for the connection, where it also writes <name>.log for each
 * domain and virtlogd may write (a session libvirt of a fresh user has not made it yet).
 */
function libvirtLogDir(uri: string): string {
  if (/^qemu(\+unix)?:\/\/\/session\b/.test(uri)) {
    return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'libvirt', 'qemu', 'log');
  }
  return '/var/log/libvirt/qemu';
}

/** The serial log of VM `uuid` on connection `uri`. */
export function consoleLogPath(uri: string, uuid: string): string {
  return join(libvirtLogDir(uri), `qx-${uuid}-serial0.log`);
}

/** The serial log path for a VM being defined, its directory made if missing. */
export async function prepareConsoleLog(uri: string, uuid: string): Promise<string> {
  const path = consoleLogPath(uri, uuid);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  return path;
}

/**
 * The last `maxBytes` of a log, starting at a line boundary (a cut line or escape sequence would
 * garble the terminal); empty when there is no log (a VM defined elsewhere, or never started).
 * Synchronous on purpose: the caller hands it to a viewer before any later pty output, which a
 * callback in between could deliver first.
 */
export function readConsoleTail(path: string, maxBytes = REPLAY_BYTES): Buffer {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return Buffer.alloc(0);
  }
  try {
    const size = fstatSync(fd).size;
    const start = Math.max(0, size - maxBytes);
    const buf = Buffer.alloc(size - start);
    const read = readSync(fd, buf, 0, buf.length, start);
    return fromLineStart(buf.subarray(0, read), start > 0);
  } catch {
    return Buffer.alloc(0);
  } finally {
    closeSync(fd);
  }
}

/** `tail` without the partial first line when it was cut out of a longer log. */
function fromLineStart(tail: Buffer, cut: boolean): Buffer {
  if (!cut) return tail;
  const newline = tail.indexOf(0x0a);
  return newline < 0 ? Buffer.alloc(0) : tail.subarray(newline + 1);
}

/** Removes a deleted VM's serial log and virtlogd's rotated copies of it. */
export async function removeConsoleLog(path: string): Promise<void> {
  const files = [path, ...Array.from({ length: MAX_ROTATED }, (_, i) => `${path}.${i}`)];
  await Promise.all(files.map((f) => rm(f, { force: true })));
}
