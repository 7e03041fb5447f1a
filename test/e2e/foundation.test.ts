// The first whole-stack test: a real agent over mutual TLS defines and starts the test guest on
// the real libvirtd, the banner is read through ConsoleService.Console, then the VM is destroyed
// and undefined — and no domain, `virsh console` process or temp file of this test is left.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { DiskBus, VmSpec, VmState } from '@quantix/proto/v1/vm.js';
import { startTestAgent } from '../../agent/src/test-support/agent-harness.js';
import { promisify } from '../../agent/src/test-support/promisify.js';
import { createGuestPool, testName } from '../vm/guest-pool.js';
import { ConsoleClient } from '../vm/console-client.js';
import { consoleProcesses, domainsWithPrefix, eventually, tempEntries } from '../vm/leftovers.js';
import { testGuest } from '../guest/fixture.js';
import { Virsh } from '../../agent/src/libvirt/virsh.js';

const virsh = new Virsh('qemu:///system');

test('agent over mTLS defines and starts the test guest, the console shows its banner, nothing is left', async (t) => {
  const agent = await startTestAgent();
  const pool = await createGuestPool();
  const name = testName('foundation');
  t.after(async () => {
    // Does real work only when an assertion failed half-way.
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
    spec: VmSpec.fromPartial({
      name,
      uuid: '',
      sockets: 1,
      cores: 1,
      memoryMib: testGuest.memoryMib,
      firmware: 0,
      machine: '',
      disks: [{ pool: pool.name, volume, bus: DiskBus.DISK_BUS_VIRTIO, readonly: false }],
      cdroms: [],
      nics: [],
      bootOrder: [],
      vnc: false,
      description: 'foundation e2e',
      tags: ['e2e'],
      osType: 'linux',
    }),
  });
  const uuid = defined.spec!.uuid;
  assert.equal(defined.state, VmState.VM_STATE_SHUTOFF);
  assert.equal(defined.spec!.name, name);
  assert.equal(
    defined.domainType,
    (await promisify(agent.clients.host, agent.clients.host.getHostInfo)({})).domainType,
  );

  const started = await promisify(vm, vm.startVm)({ id: uuid });
  assert.equal(started.state, VmState.VM_STATE_RUNNING);

  const consoleClient = new ConsoleClient(agent.clients.console.console()).open(uuid);
  await consoleClient.waitFor(testGuest.banner, 90_000);
  consoleClient.send('hello foundation\r');
  await consoleClient.waitFor(`${testGuest.echoPrefix}hello foundation`, 30_000);
  consoleClient.call.end();
  await consoleClient.ended;
  assert.equal(consoleClient.error, undefined);
  assert.ok(await eventually(async () => (await consoleProcesses([uuid, name])).length === 0), 'virsh console exited');

  const off = await promisify(vm, vm.forceOffVm)({ id: uuid });
  assert.equal(off.state, VmState.VM_STATE_SHUTOFF);
  await promisify(vm, vm.deleteVm)({ vm: { id: uuid }, deleteDisks: true });

  assert.deepEqual(
    (await domainsWithPrefix()).filter((n) => n === name),
    [],
  );
  assert.equal(existsSync(`${pool.dir}/${volume}`), false, 'disk volume deleted');
  await agent.stop();
  await pool.remove();
  assert.equal(existsSync(agent.dataDir), false, 'agent data dir removed');
  assert.deepEqual(
    (await tempEntries()).filter((e) => e.startsWith(pool.name)),
    [],
  );
  assert.deepEqual(await consoleProcesses([uuid, name]), []);
});
