// Ten VMs (128 MiB, TCG) defined and started in parallel through the agent all reach running;
// then all are forced off and deleted with their disks, and none is left.
import { test } from 'node:test';
import { readdir } from 'node:fs/promises';
import assert from 'node:assert/strict';
import { VmState } from '@quantix/proto/v1/vm.js';
import { startTestAgent } from '../../agent/src/test-support/agent-harness.js';
import { promisify } from '../../agent/src/test-support/promisify.js';
import { Virsh } from '../../agent/src/libvirt/virsh.js';
import { createGuestPool, testName } from './guest-pool.js';
import { guestSpec } from './vm-spec.js';
import { domainsWithPrefix } from './leftovers.js';

const virsh = new Virsh('qemu:///system');

test('10 VMs created and started in parallel all reach running', async (t) => {
  const agent = await startTestAgent();
  const pool = await createGuestPool();
  const prefix = testName('par');
  const names = Array.from({ length: 10 }, (_, i) => `${prefix}-${i}`);
  t.after(async () => {
    for (const n of names) {
      await virsh.exec(['destroy', n]).catch(() => undefined);
      await virsh.exec(['undefine', '--nvram', n]).catch(() => undefined);
    }
    await agent.stop();
    await pool.remove();
  });
  const vm = agent.clients.vm;
  const started = await Promise.all(
    names.map(async (n) => {
      const volume = await pool.addGuestDisk(`${n}.qcow2`);
      await promisify(vm, vm.defineVm)({ spec: guestSpec(n, pool.name, volume) });
      return promisify(vm, vm.startVm)({ id: n });
    }),
  );
  assert.deepEqual(
    started.map((v) => v.state),
    names.map(() => VmState.VM_STATE_RUNNING),
  );
  const listed = (await promisify(vm, vm.listVms)({})).vms.filter((v) => v.spec!.name.startsWith(prefix));
  assert.equal(listed.length, 10);
  assert.ok(listed.every((v) => v.state === VmState.VM_STATE_RUNNING));
  assert.equal(new Set(listed.map((v) => v.spec!.uuid)).size, 10);

  await Promise.all(
    names.map(async (n) => {
      await promisify(vm, vm.forceOffVm)({ id: n });
      await promisify(vm, vm.deleteVm)({ vm: { id: n }, deleteDisks: true });
    }),
  );
  assert.deepEqual(await domainsWithPrefix(prefix), []);
  const volumes = (await readdir(pool.dir)).filter((f) => !f.startsWith('.'));
  assert.deepEqual(volumes, [pool.baseVolume], 'deleting the VMs with their disks leaves only the shared base image');
});
