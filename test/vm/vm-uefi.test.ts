// UEFI VMs: OVMF firmware with a per-VM NVRAM file that libvirt creates on first start and
// DeleteVm removes with the VM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { Firmware, VmState } from '@quantix/proto/v1/vm.js';
import { startTestAgent } from '../../agent/src/test-support/agent-harness.js';
import { promisify } from '../../agent/src/test-support/promisify.js';
import { Virsh } from '../../agent/src/libvirt/virsh.js';
import { createGuestPool, testName } from './guest-pool.js';
import { guestSpec } from './vm-spec.js';

const virsh = new Virsh('qemu:///system');

test('UEFI VM: per-VM NVRAM created on start and deleted with the VM', async (t) => {
  const agent = await startTestAgent();
  const pool = await createGuestPool();
  const name = testName('uefi');
  t.after(async () => {
    await virsh.exec(['destroy', name]).catch(() => undefined);
    await virsh.exec(['undefine', '--nvram', name]).catch(() => undefined);
    await agent.stop();
    await pool.remove();
  });
  const vm = agent.clients.vm;
  const volume = await pool.addGuestDisk(`${name}.qcow2`);
  const defined = await promisify(
    vm,
    vm.defineVm,
  )({
    spec: guestSpec(name, pool.name, volume, { firmware: Firmware.FIRMWARE_UEFI, machine: 'q35' }),
  });
  const uuid = defined.spec!.uuid;
  assert.equal(defined.spec!.firmware, Firmware.FIRMWARE_UEFI);
  const xml = await virsh.exec(['dumpxml', uuid]);
  const nvram = /<nvram[^>]*>([^<]+)<\/nvram>/.exec(xml)![1]!;
  assert.equal(nvram, `/var/lib/libvirt/qemu/nvram/${uuid}_VARS.fd`);
  assert.match(xml, /<loader readonly='yes' type='pflash'>\/usr\/share\/OVMF\/OVMF_CODE/);

  assert.equal((await promisify(vm, vm.startVm)({ id: uuid })).state, VmState.VM_STATE_RUNNING);
  assert.ok(existsSync(nvram), 'NVRAM copied from the OVMF template on start');
  await promisify(vm, vm.forceOffVm)({ id: uuid });
  await promisify(vm, vm.deleteVm)({ vm: { id: uuid }, deleteDisks: true });
  assert.equal(existsSync(nvram), false, 'NVRAM deleted with the VM');
  assert.equal(existsSync(`${pool.dir}/${volume}`), false, 'disk deleted');
});
