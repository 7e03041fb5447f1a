// The wizard preselects a sole (active) pool and the default NAT network, and nothing when the
// choice is the operator's to make.
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

test('the sole network, else vm-nat, else the only NAT network is preselected', () => {
  const c = (name: string) => ({ name, detail: '' });
  const nets = [
    { name: 'vm-nat', kind: 'nat' as const },
    { name: 'lan', kind: 'bridged' as const },
    { name: 'lab', kind: 'nat' as const },
    { name: 'iso', kind: 'isolated' as const },
  ];
  assert.equal(defaultNetwork([], nets), '');
  assert.equal(defaultNetwork([c('lan')], nets), 'lan');
  assert.equal(defaultNetwork([c('lan'), c('vm-nat'), c('lab')], nets), 'vm-nat');
  assert.equal(defaultNetwork([c('lan'), c('lab')], nets), 'lab');
  assert.equal(defaultNetwork([c('lan'), c('iso')], nets), '');
});
