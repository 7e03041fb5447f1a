// Where a migration's local files live on the source: a private directory for the UNIX socket that
// carries libvirt's control connection to the pipe, and the rewritten domain XML. Records of
// migrations in flight under <dataDir>/migration for cleanup.
import { chown, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../exec/run.js';
import { invalidArgument } from '../errors.js';

export const SOCKET_ROOT = '/run/quantix/migration';
const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function checkMigrationId(id: string): string {
  if (!ID.test(id)) throw invalidArgument('migration_id', 'must be a lower-case UUID');
  return id;
}

export const socketDir = (id: string) => join(SOCKET_ROOT, checkMigrationId(id));
/** What the agents' pipe carries: libvirt's control connection only (QEMU's streams go direct, TLS). */
export const CHANNELS = ['libvirt'] as const;
export type Channel = (typeof CHANNELS)[number];

/** uid/gid QEMU runs as under the system libvirtd (Debian: libvirt-qemu), root when there is none. */
export function qemuOwner(): Promise<{ uid: number; gid: number }> {
  // Looked up once per agent: two process spawns per call add up on a loaded host.
  owner ??= lookUpQemuOwner();
  return owner;
}
let owner: Promise<{ uid: number; gid: number }> | undefined;

async function lookUpQemuOwner(): Promise<{ uid: number; gid: number }> {
  try {
    const uid = Number((await run('id', ['-u', 'libvirt-qemu'])).stdout.trim());
    const gid = Number((await run('id', ['-g', 'libvirt-qemu'])).stdout.trim());
    return { uid, gid };
  } catch {
    return { uid: 0, gid: 0 };
  }
}

/** A fresh socket directory for `id`, 0700 and owned by QEMU's user. */
export async function makeSocketDir(id: string): Promise<string> {
  const dir = socketDir(id);
  await mkdir(SOCKET_ROOT, { recursive: true, mode: 0o755 });
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { mode: 0o700 });
  const { uid, gid } = await qemuOwner();
  await chown(dir, uid, gid);
  return dir;
}

export async function removeSocketDir(id: string): Promise<void> {
  await rm(socketDir(id), { recursive: true, force: true });
}

/** The libvirt daemon socket behind a qemu:///system URI (the destination end of "libvirt"). */
export function libvirtSocket(uri: string): string {
  const socket = /[?&]socket=([^&]+)/.exec(uri)?.[1];
  return socket ? decodeURIComponent(socket) : '/run/libvirt/libvirt-sock';
}

export const recordDir = (dataDir: string, side: 'incoming' | 'outgoing') => join(dataDir, 'migration', side);

export async function listRecords(dataDir: string, side: 'incoming' | 'outgoing'): Promise<string[]> {
  try {
    return (await readdir(recordDir(dataDir, side))).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5));
  } catch {
    return [];
  }
}
