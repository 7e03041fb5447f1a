import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VmState } from '@quantix/proto/v1/vm.js';
import { parseLifecycleLine, stateAfter } from './domain-events.js';

test('parses virsh lifecycle event lines (captured from `virsh event --loop --event lifecycle`)', () => {
  const e = parseLifecycleLine("event 'lifecycle' for domain 'qxt-vm-probe': Defined Added");
  assert.deepEqual(e, { name: 'qxt-vm-probe', event: 'Defined', detail: 'Added' });
  assert.deepEqual(
    parseLifecycleLine("2026-11-22 14:18:00.087+0000: event 'lifecycle' for domain 'a b': Undefined Removed"),
    {
      name: 'a b',
      event: 'Undefined',
      detail: 'Removed',
    },
  );
  assert.equal(parseLifecycleLine('events received: 2'), undefined);
  assert.equal(parseLifecycleLine(''), undefined);
});

test('maps events to the state they leave the VM in', () => {
  const s = (event: string, detail = '') => stateAfter({ name: 'x', event, detail });
  assert.equal(s('Started', 'Booted'), VmState.VM_STATE_RUNNING);
  assert.equal(s('Stopped', 'Destroyed'), VmState.VM_STATE_SHUTOFF);
  assert.equal(s('Suspended', 'Paused'), VmState.VM_STATE_PAUSED);
  assert.equal(s('Resumed', 'Unpaused'), VmState.VM_STATE_RUNNING);
  assert.equal(s('Shutdown', 'Finished'), VmState.VM_STATE_SHUTTING_DOWN);
  assert.equal(s('Crashed', 'Panicked'), VmState.VM_STATE_CRASHED);
  assert.equal(s('Something'), VmState.VM_STATE_UNSPECIFIED);
});
