// Names that try shell, path or XML injection are refused with INVALID_ARGUMENT naming the
// field, by every VM and console entry point, before anything reaches virsh.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status, type ServiceError } from '@grpc/grpc-js';
import { startTestAgent } from '../../agent/src/test-support/agent-harness.js';
import { promisify } from '../../agent/src/test-support/promisify.js';
import { ConsoleClient } from './console-client.js';
import { guestSpec } from './vm-spec.js';
import { domainsWithPrefix } from './leftovers.js';

const INJECTIONS = ['a;rm -rf /', '$(reboot)', '../x', '<x>'];

test('injection names are refused everywhere with INVALID_ARGUMENT', async (t) => {
  const agent = await startTestAgent();
  t.after(() => agent.stop());
  const vm = agent.clients.vm;
  const invalid = (field: string) => (e: ServiceError) =>
    e.code === status.INVALID_ARGUMENT && e.details.startsWith(`${field}: `) && e.metadata.get('qx-field')[0] === field;
  for (const bad of INJECTIONS) {
    await assert.rejects(promisify(vm, vm.defineVm)({ spec: guestSpec(bad, 'p', 'v') }), invalid('spec.name'));
    await assert.rejects(promisify(vm, vm.defineVm)({ spec: guestSpec('qxt-vm-ok', bad, 'v') }), invalid('spec.disks[0].pool'));
    await assert.rejects(promisify(vm, vm.defineVm)({ spec: guestSpec('qxt-vm-ok', 'p', bad) }), invalid('spec.disks[0].volume'));
    const byId = [vm.getVm, vm.startVm, vm.forceOffVm, vm.rebootVm, vm.resetVm, vm.pauseVm, vm.resumeVm] as const;
    for (const m of byId) await assert.rejects(promisify(vm, m)({ id: bad }), invalid('vm.id'));
    await assert.rejects(promisify(vm, vm.getVmStats)({ id: bad }), invalid('vm.id'));
    await assert.rejects(promisify(vm, vm.listSnapshots)({ id: bad }), invalid('vm.id'));
    await assert.rejects(promisify(vm, vm.deleteVm)({ vm: { id: bad }, deleteDisks: true }), invalid('vm.id'));
    await assert.rejects(promisify(vm, vm.shutdownVm)({ vm: { id: bad }, timeoutSeconds: 1 }), invalid('vm.id'));
    await assert.rejects(promisify(vm, vm.updateVm)({ vm: { id: bad }, spec: guestSpec('qxt-vm-ok', 'p', 'v') }), invalid('vm.id'));
    await assert.rejects(promisify(vm, vm.cloneVm)({ source: { id: bad }, name: 'x', linked: true }), invalid('source.id'));
    await assert.rejects(promisify(vm, vm.cloneVm)({ source: { id: 'qxt-vm-none' }, name: bad, linked: true }), invalid('name'));
    await assert.rejects(promisify(vm, vm.createSnapshot)({ vm: { id: 'qxt-vm-none' }, name: bad, description: '' }), invalid('name'));
    await assert.rejects(promisify(vm, vm.revertSnapshot)({ vm: { id: 'qxt-vm-none' }, name: bad }), invalid('name'));
    const c = new ConsoleClient(agent.clients.console.console()).open(bad);
    await c.ended;
    assert.equal(c.error && (c.error as ServiceError).code, status.INVALID_ARGUMENT);
  }
  assert.deepEqual(await domainsWithPrefix('qxt-vm-ok'), [], 'no domain was created');
});
