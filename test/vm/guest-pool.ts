// Test fixture: a transient libvirt dir pool (prefix qxt-vm-) in a temp dir holding qcow2
// overlays of the test guest. The guest image is copied into the pool once (the agent refuses
// backing files outside a volume's pool), every overlay names it relatively. remove() deletes
// the pool and the directory.
import { chmod, copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { run } from '../../agent/src/exec/run.js';
import { Virsh } from '../../agent/src/libvirt/virsh.js';
import { assertGuestBuilt, testGuest } from '../guest/fixture.js';

export const TEST_PREFIX = 'qxt-vm-';

/** A unique name with the VM engineer's test prefix. */
export const testName = (what: string) => `${TEST_PREFIX}${what}-${randomBytes(3).toString('hex')}`;

export interface GuestPool {
  name: string;
  dir: string;
  /** The copy of the test guest that every overlay names as its backing file. */
  baseVolume: string;
  /** Adds a qcow2 overlay of the test guest as volume `volume` and returns its name. */
  addGuestDisk(volume: string): Promise<string>;
  remove(): Promise<void>;
}

export async function createGuestPool(virsh: Virsh = new Virsh('qemu:///system')): Promise<GuestPool> {
  assertGuestBuilt();
  const name = testName('pool');
  const dir = await mkdtemp(join(tmpdir(), `${name}-`));
  await chmod(dir, 0o755);
  const base = 'qxt-guest-base.qcow2';
  await copyFile(testGuest.qcow2, join(dir, base));
  await virsh.exec(['pool-create-as', name, 'dir', '--target', dir]);
  return {
    name,
    dir,
    baseVolume: base,
    async addGuestDisk(volume) {
      await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', base, join(dir, volume)]);
      await virsh.exec(['pool-refresh', name]);
      return volume;
    },
    async remove() {
      await virsh.exec(['pool-destroy', name]).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
