// Test fixture: a transient libvirt dir pool (prefix qxt-srv-) holding copies of the test guest
// (the agent refuses volumes whose backing chain leaves their pool), and cleanup of qxt-srv-
// domains. Subprocesses with argv arrays only.
import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { constants, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const exec = promisify(execFile);
export const GUEST_QCOW2 = fileURLToPath(new URL('../../../build/cache/guest/qx-test-guest.qcow2', import.meta.url));

export const srvName = (what: string) => `qxt-srv-${what}-${randomBytes(3).toString('hex')}`;

export async function virsh(args: string[], uri = 'qemu:///system'): Promise<string> {
  return (await exec('virsh', ['-c', uri, ...args], { timeout: 60_000 })).stdout.trim();
}

export interface GuestPool {
  name: string;
  dir: string;
  /** Adds a copy of the test guest qcow2 (~27 MB; a reflink where the filesystem can) as volume `volume`. */
  addGuestDisk(volume: string): Promise<string>;
  remove(): Promise<void>;
}

export async function createGuestPool(): Promise<GuestPool> {
  if (!existsSync(GUEST_QCOW2)) throw new Error(`test guest missing at ${GUEST_QCOW2}: run \`make guest\``);
  const name = srvName('pool');
  const dir = await mkdtemp(join(tmpdir(), `${name}-`));
  await chmod(dir, 0o755);
  await virsh(['pool-create-as', name, 'dir', '--target', dir]);
  return {
    name,
    dir,
    async addGuestDisk(volume) {
      await copyFile(GUEST_QCOW2, join(dir, volume), constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
      await virsh(['pool-refresh', name]);
      return volume;
    },
    async remove() {
      await virsh(['pool-destroy', name]).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Destroys and undefines a domain (ignores "not found"). */
export async function removeDomain(name: string, uri = 'qemu:///system'): Promise<void> {
  await virsh(['destroy', name], uri).catch(() => undefined);
  await virsh(['undefine', name, '--nvram'], uri).catch(() => virsh(['undefine', name], uri).catch(() => undefined));
}

/**
 * Removes libvirt pool `name` if it is still defined: a test's own DELETE of its pool is a task
 * that the server's and agent's stop can cut short, which left the pool defined in libvirt.
 */
export async function removeLibvirtPool(name: string, uri = 'qemu:///system'): Promise<void> {
  await virsh(['pool-destroy', name], uri).catch(() => undefined);
  await virsh(['pool-undefine', name], uri).catch(() => undefined);
}

export async function eventually<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
