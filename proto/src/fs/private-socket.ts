// A Unix socket only its owner can reach: the agent's local gRPC socket, which the server on the
// same host uses instead of mutual TLS. Node exposes no peer credentials (SO_PEERCRED), so the file
// system carries the check on both ends: the socket (0600) sits in a directory of its own (0700),
// both owned by the listener's user; the client checks the same before it connects.
import { chmod, lstat, mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** `unix:/abs/path` → `/abs/path`; undefined for any other address. */
export function unixSocketPath(address: string): string | undefined {
  return address.startsWith('unix:') ? address.slice('unix:'.length) : undefined;
}

/** The agent's bulk socket (raw upload bytes, #26), beside its local gRPC socket in the same private directory. */
export function bulkSocketPath(localSocket: string): string {
  return join(dirname(localSocket), 'bulk.sock');
}

/** Owners we trust: our own user and root (who can reach any socket anyway). */
function trustedOwner(uid: number): boolean {
  return uid === process.getuid?.() || uid === 0;
}

/** Why `path`'s directory or the socket itself could be reached or replaced by another user, or undefined. */
export async function privateSocketProblem(path: string, socketToo = true): Promise<string | undefined> {
  const dir = dirname(path);
  const d = await lstat(dir).catch(() => undefined);
  if (!d) return `directory ${dir} does not exist`;
  if (!d.isDirectory()) return `${dir} is not a directory (a symbolic link?)`;
  if (!trustedOwner(d.uid)) return `directory ${dir} is owned by uid ${d.uid}, not by this user or root`;
  if ((d.mode & 0o077) !== 0) return `directory ${dir} has mode ${(d.mode & 0o777).toString(8)}, expected 700`;
  if (!socketToo) return undefined;
  const s = await lstat(path).catch(() => undefined);
  if (!s) return `socket ${path} does not exist (is the agent running?)`;
  if (!s.isSocket()) return `${path} is not a socket`;
  if (!trustedOwner(s.uid)) return `socket ${path} is owned by uid ${s.uid}, not by this user or root`;
  if ((s.mode & 0o077) !== 0) return `socket ${path} has mode ${(s.mode & 0o777).toString(8)}, expected 600`;
  return undefined;
}

/** Throws unless the socket at `path` is private (see privateSocketProblem). */
export async function checkPrivateSocket(path: string): Promise<void> {
  const problem = await privateSocketProblem(path);
  if (problem) throw new Error(`refusing the local agent socket: ${problem}`);
}

/** Before listening: the directory made (0700) and checked, a socket left by a crash removed. */
export async function preparePrivateSocket(path: string): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const d = await lstat(dir);
  // Ours and a real directory: only then narrow its mode (never chmod through a link).
  if (d.isDirectory() && d.uid === process.getuid?.()) await chmod(dir, 0o700);
  const problem = await privateSocketProblem(path, false);
  if (problem) throw new Error(`local socket ${path}: ${problem}`);
  await rm(path, { force: true });
}

/** After listening: the socket narrowed to 0600 (the 0700 directory covers the moment before). */
export async function restrictPrivateSocket(path: string): Promise<void> {
  await chmod(path, 0o600);
  const problem = await privateSocketProblem(path);
  if (problem) throw new Error(`local socket ${path}: ${problem}`);
}
