// A VM with no disk boots the test guest's ISO from a pool volume attached as a CD-ROM — the
// "install from an ISO in the library" path (libvirt reports such volumes with format "iso").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BootDevice, DiskBus } from '@quantix/proto/v1/vm.js';
import { startTestAgent } from '../../agent/src/test-support/agent-harness.js';
import { promisify } from '../../agent/src/test-support/promisify.js';
import { Virsh } from '../../agent/src/libvirt/virsh.js';
import { testGuest } from '../guest/fixture.js';
import { ConsoleClient } from './console-client.js';
import { createGuestPool, testName } from './guest-pool.js';
import { domainsWithPrefix } from './leftovers.js';
import { guestSpec } from './vm-spec.js';

const virsh = new Virsh('qemu:///system');

test('a diskless VM boots the test guest ISO from a pool CD-ROM', async (t) => {
  const agent = await startTestAgent();
  const pool = await createGuestPool();
  const name = testName('cdrom');
  t.after(async () => {
    await virsh.exec(['destroy', name]).catch(() => undefined);
    await virsh.exec(['undefine', name]).catch(() => undefined);
    await agent.stop();
    await pool.remove();
  });
  await copyFile(testGuest.iso, join(pool.dir, 'guest.iso'));
  await virsh.exec(['pool-refresh', pool.name]);
  assert.match(await virsh.exec(['vol-dumpxml', '--pool', pool.name, 'guest.iso']), /<format type='iso'\/>/);

  const vm = agent.clients.vm;
  const spec = guestSpec(name, pool.name, 'unused', {
    disks: [],
    cdroms: [{ pool: pool.name, volume: 'guest.iso', bus: DiskBus.DISK_BUS_SATA }],
    bootOrder: [BootDevice.BOOT_DEVICE_CDROM],
  });
  const defined = await promisify(vm, vm.defineVm)({ spec });
  const xml = await virsh.exec(['dumpxml', defined.spec!.uuid]);
  assert.match(xml, /<disk type='file' device='cdrom'>\s*<driver name='qemu' type='raw'\/>/);

  await promisify(vm, vm.startVm)({ id: name });
  const console = new ConsoleClient(agent.clients.console.console()).open(name);
  await console.waitFor(testGuest.banner, 180_000);
  console.call.end();
  await promisify(vm, vm.forceOffVm)({ id: name });
  await promisify(vm, vm.deleteVm)({ vm: { id: name }, deleteDisks: true });
  assert.ok(!(await domainsWithPrefix(name)).length, 'VM removed');
  assert.match(await virsh.exec(['vol-list', pool.name]), /guest\.iso/, 'deleting disks never deletes a CD-ROM image');
});
