// The wizard preselects a sole (active) pool and the appliance's active vm-nat network, and nothing
// when the choice is the operator's to make.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultNetwork, defaultPool } from './vm-wizard-defaults.js';

test('a sole active pool is preselected; one name on several hosts counts once', () => {
  assert.equal(defaultPool([]), '');
  assert.equal(defaultPool([{ name: 'local', state: 'active' }]), 'local');
  assert.equal(
    defaultPool([
      { name: 'local', state: 'active' },
      { name: 'local', state: 'active' },
    ]),
    'local',
  );
  assert.equal(
    defaultPool([
      { name: 'local', state: 'active' },
      { name: 'old', state: 'inactive' },
    ]),
    'local',
  );
  assert.equal(
    defaultPool([
      { name: 'a', state: 'active' },
      { name: 'b', state: 'active' },
    ]),
    '',
  );
});

test('the active default NAT network vm-nat is preselected, never another one', () => {
  const c = (name: string) => ({ name, detail: '' });
  const nets = [
    { name: 'vm-nat', kind: 'nat' as const, active: true },
    { name: 'lan', kind: 'bridged' as const, active: true },
    { name: 'lab', kind: 'nat' as const, active: true },
  ];
  assert.equal(defaultNetwork([], nets), '');
  assert.equal(defaultNetwork([c('lan'), c('vm-nat'), c('lab')], nets), 'vm-nat');
  assert.equal(defaultNetwork([c('lan'), c('lab')], nets), '', 'vm-nat not offered where the VM runs');
  assert.equal(defaultNetwork([c('lab')], nets), '', 'a sole other network is the operator’s choice');
  const stopped = nets.map((n) => (n.name === 'vm-nat' ? { ...n, active: false } : n));
  assert.equal(defaultNetwork([c('vm-nat')], stopped), '', 'an inactive vm-nat is not preselected');
});
