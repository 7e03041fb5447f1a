// Names that try shell, path or XML injection, or that virsh would read as a domain ID or UUID,
// and text XML cannot hold are refused with INVALID_ARGUMENT naming the field, by every VM and
// console entry point, before anything reaches virsh.
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
    await assert.rejects(
      promisify(vm, vm.defineVm)({ spec: guestSpec('qxt-vm-ok', bad, 'v') }),
      invalid('spec.disks[0].pool'),
    );
    await assert.rejects(
      promisify(vm, vm.defineVm)({ spec: guestSpec('qxt-vm-ok', 'p', bad) }),
      invalid('spec.disks[0].volume'),
    );
    const byId = [vm.getVm, vm.startVm, vm.forceOffVm, vm.rebootVm, vm.resetVm, vm.pauseVm, vm.resumeVm] as const;
    for (const m of byId) await assert.rejects(promisify(vm, m)({ id: bad }), invalid('vm.id'));
    await assert.rejects(promisify(vm, vm.getVmStats)({ id: bad }), invalid('vm.id'));
    await assert.rejects(promisify(vm, vm.listSnapshots)({ id: bad }), invalid('vm.id'));
    await assert.rejects(promisify(vm, vm.deleteVm)({ vm: { id: bad }, deleteDisks: true }), invalid('vm.id'));
    await assert.rejects(promisify(vm, vm.shutdownVm)({ vm: { id: bad }, timeoutSeconds: 1 }), invalid('vm.id'));
    await assert.rejects(
      promisify(vm, vm.updateVm)({ vm: { id: bad }, spec: guestSpec('qxt-vm-ok', 'p', 'v') }),
      invalid('vm.id'),
    );
    await assert.rejects(
      promisify(vm, vm.cloneVm)({ source: { id: bad }, name: 'x', linked: true }),
      invalid('source.id'),
    );
    await assert.rejects(
      promisify(vm, vm.cloneVm)({ source: { id: 'qxt-vm-none' }, name: bad, linked: true }),
      invalid('name'),
    );
    await assert.rejects(
      promisify(vm, vm.createSnapshot)({ vm: { id: 'qxt-vm-none' }, name: bad, description: '' }),
      invalid('name'),
    );
    await assert.rejects(promisify(vm, vm.revertSnapshot)({ vm: { id: 'qxt-vm-none' }, name: bad }), invalid('name'));
    const c = new ConsoleClient(agent.clients.console.console()).open(bad);
    await c.ended;
    assert.equal(c.error && (c.error as ServiceError).code, status.INVALID_ARGUMENT);
  }
  assert.deepEqual(await domainsWithPrefix('qxt-vm-ok'), [], 'no domain was created');
});

test('names virsh would read as a domain ID or a UUID, and descriptions XML cannot hold, are refused', async (t) => {
  const agent = await startTestAgent();
  t.after(() => agent.stop());
  const vm = agent.clients.vm;
  const invalid = (field: string, text: RegExp) => (e: ServiceError) =>
    e.code === status.INVALID_ARGUMENT && e.details.startsWith(`${field}: `) && text.test(e.details);
  const digits = /a name of only digits would be read by virsh as a domain ID/;
  const uuidShaped = /shaped like a UUID would be read by virsh as a UUID/;
  await assert.rejects(promisify(vm, vm.defineVm)({ spec: guestSpec('3', 'p', 'v') }), invalid('spec.name', digits));
  await assert.rejects(
    promisify(vm, vm.defineVm)({ spec: guestSpec('4b2c8a0e1f3d4c5b9a7e0d1c2b3a4f5e', 'p', 'v') }),
    invalid('spec.name', uuidShaped),
  );
  // "1" would otherwise force off whichever running domain has ID 1.
  for (const m of [vm.getVm, vm.forceOffVm, vm.resetVm] as const)
    await assert.rejects(promisify(vm, m)({ id: '1' }), invalid('vm.id', digits));
  await assert.rejects(promisify(vm, vm.deleteVm)({ vm: { id: '1' }, deleteDisks: true }), invalid('vm.id', digits));
  await assert.rejects(
    promisify(vm, vm.cloneVm)({ source: { id: 'qxt-vm-none' }, name: '7', linked: true }),
    invalid('name', digits),
  );
  await assert.rejects(
    promisify(vm, vm.defineVm)({ spec: guestSpec('qxt-vm-ok', 'p', 'v', { description: 'bell \u0007' }) }),
    invalid('spec.description', /control character U\+0007/),
  );
  await assert.rejects(
    promisify(vm, vm.createSnapshot)({ vm: { id: 'qxt-vm-none' }, name: 'snap', description: 'esc \u001b[1m' }),
    invalid('description', /control character U\+001B/),
  );
  const c = new ConsoleClient(agent.clients.console.console()).open('2');
  await c.ended;
  assert.equal(c.error && (c.error as ServiceError).code, status.INVALID_ARGUMENT);
  assert.deepEqual(await domainsWithPrefix('qxt-vm-ok'), [], 'no domain was created');
});
