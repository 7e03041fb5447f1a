// vCPU and memory hotplug on one running test guest (#21), q35 under TCG: a VM defined with 1 of
// at most 2 vCPUs and 128 of at most 256 MiB grows to 2 vCPUs (the guest's kernel sees CPU 1
// appear, QEMU runs two) and to 256 MiB through the balloon (the guest's MemTotal grows); the
// persistent definition follows; beyond the maxima, or taking a vCPU from a running VM, is refused
// naming the field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { startTestAgent } from '../../agent/src/test-support/agent-harness.js';
import { promisify } from '../../agent/src/test-support/promisify.js';
import { Virsh } from '../../agent/src/libvirt/virsh.js';
import { testGuest } from '../guest/fixture.js';
import { ConsoleClient } from './console-client.js';
import { runInGuest } from './guest-run.js';
import { createGuestPool, testName } from './guest-pool.js';
import { guestSpec } from './vm-spec.js';

const virsh = new Virsh('qemu:///system');

test('vCPUs and memory grow on a running VM within its maxima', async (t) => {
  const agent = await startTestAgent();
  const pool = await createGuestPool();
  const name = testName('resize');
  let serial: ConsoleClient | undefined = undefined;
  t.after(async () => {
    serial?.call.end();
    await virsh.exec(['destroy', name]).catch(() => undefined);
    await virsh.exec(['undefine', name]).catch(() => undefined);
    await agent.stop();
    await pool.remove();
  });
  const vm = agent.clients.vm;
  const mem = testGuest.memoryMib;
  await pool.addGuestDisk('resize.qcow2');
  const spec = guestSpec(name, pool.name, 'resize.qcow2', { machine: 'q35', maxVcpus: 2, maxMemoryMib: 2 * mem });
  const defined = await promisify(vm, vm.defineVm)({ spec });
  assert.deepEqual(
    [
      defined.spec!.sockets * defined.spec!.cores,
      defined.spec!.maxVcpus,
      defined.spec!.memoryMib,
      defined.spec!.maxMemoryMib,
    ],
    [1, 2, mem, 2 * mem],
  );
  await promisify(vm, vm.startVm)({ id: name });
  serial = new ConsoleClient(agent.clients.console.console()).open(name);
  await serial.waitFor(testGuest.banner, 180_000);
  /** Runs `cmd` in the guest and returns what it printed. */
  const guest = (cmd: string) => runInGuest(serial!, cmd);
  /** Waits in the guest (up to 30 s) until `test` holds, then runs `cmd`. */
  const guestWhen = (test: string, cmd: string) =>
    guest(`i=0; while ! ${test} && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; ${cmd}`);
  const memTotalMib = async () =>
    Math.round(Number(/MemTotal:\s+(\d+)/.exec(await guest('cat /proc/meminfo'))![1]) / 1024);
  const qemuCpus = async () =>
    (
      JSON.parse(await virsh.exec(['qemu-monitor-command', name, '{"execute":"query-cpus-fast"}'])) as {
        return: unknown[];
      }
    ).return.length;

  assert.equal(await guest('cat /sys/devices/system/cpu/present'), '0');
  assert.equal(await qemuCpus(), 1);
  const refused = (field: string, re: RegExp) => (e: Error & { code?: number }) =>
    e.code === status.INVALID_ARGUMENT && e.message.includes(`${field}:`) && re.test(e.message);

  // vCPUs: beyond the maximum refused; 2 plugged live and kept in the definition.
  await assert.rejects(
    promisify(vm, vm.setVcpus)({ vm: { id: name }, vcpus: 3 }),
    refused('vcpus', /at most 2 vCPUs \(its max_vcpus\)/),
  );
  const grown = await promisify(vm, vm.setVcpus)({ vm: { id: name }, vcpus: 2 });
  assert.equal(grown.spec!.sockets * grown.spec!.cores, 2);
  assert.equal(await qemuCpus(), 2, 'QEMU runs two vCPUs');
  assert.equal(
    await guestWhen('[ -d /sys/devices/system/cpu/cpu1 ]', 'cat /sys/devices/system/cpu/present'),
    '0-1',
    'the guest kernel sees the hot-added CPU',
  );
  assert.match(await virsh.exec(['dumpxml', '--inactive', name]), /<vcpu placement='static'>2<\/vcpu>/);
  await assert.rejects(
    promisify(vm, vm.setVcpus)({ vm: { id: name }, vcpus: 1 }),
    refused('vcpus', /can only grow: shut it down/),
  );

  // Memory: the balloon gives the guest up to the maximum; beyond it refused.
  const before = await memTotalMib();
  await assert.rejects(
    promisify(vm, vm.setMemory)({ vm: { id: name }, memoryMib: 2 * mem + 16 }),
    refused('memory_mib', /at most 256 MiB \(its max_memory_mib\)/),
  );
  await promisify(vm, vm.setMemory)({ vm: { id: name }, memoryMib: 2 * mem });
  let after = before;
  for (let i = 0; i < 300 && after < before + mem / 2; i++) {
    after = await memTotalMib();
    if (after < before + mem / 2) await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(after >= before + mem / 2, `the guest's MemTotal grew from ${before} MiB (now ${after} MiB)`);
  // libvirt hears the balloon's size from QEMU's BALLOON_CHANGE events (rate-limited): wait for it.
  let reported = 0;
  for (let i = 0; i < 150 && reported !== 2 * mem; i++) {
    reported = (await promisify(vm, vm.getVm)({ id: name })).spec!.memoryMib;
    if (reported !== 2 * mem) await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(reported, 2 * mem, 'libvirt reports the balloon at the new size');
  assert.match(
    await virsh.exec(['dumpxml', '--inactive', name]),
    new RegExp(`<currentMemory unit='KiB'>${2 * mem * 1024}</currentMemory>`),
  );
});
