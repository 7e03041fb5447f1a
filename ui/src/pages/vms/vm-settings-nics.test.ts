// The VM settings tab can add a NIC to a VM without one and remove NICs; the update keeps the MAC
// of every kept NIC and gives each added one a new MAC (never a removed NIC's, never twice).
import type { NicDto } from '@dto/vms.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addNicRow, changeNicRow, nicsPatch, randomMac, removeNicRow, sourceOptions } from './vm-settings-nics.js';

const a: NicDto = { kind: 'network', source: 'default', model: 'virtio', mac: '52:54:00:00:00:0a' };
const b: NicDto = { kind: 'user', source: '', model: 'e1000', mac: '52:54:00:00:00:0b' };

test('a VM created with no network gets a NIC on a chosen network and model', () => {
  const rows = changeNicRow(addNicRow([], 'default'), 0, { key: 'network:lab', model: 'virtio' });
  assert.deepEqual(
    nicsPatch(rows, () => '52:54:00:12:34:56'),
    [{ kind: 'network', source: 'lab', model: 'virtio', mac: '52:54:00:12:34:56' }],
  );
  assert.match(randomMac(), /^52:54:00(:[0-9a-f]{2}){3}$/);
});

test('removing a NIC keeps the others with their MACs', () => {
  assert.deepEqual(nicsPatch(removeNicRow([a, b], 0)), [
    { kind: 'user', source: '', model: 'e1000', mac: '52:54:00:00:00:0b' },
  ]);
  assert.deepEqual(nicsPatch(removeNicRow([a], 0)), []);
  const fresh = ['52:54:00:00:00:0b', '52:54:00:00:00:0c', '52:54:00:00:00:0d'];
  assert.deepEqual(
    nicsPatch(addNicRow(addNicRow(removeNicRow([a, b], 0), 'default'), 'lab'), () => fresh.shift()!),
    [
      { kind: 'user', source: '', model: 'e1000', mac: '52:54:00:00:00:0b' },
      { kind: 'network', source: 'default', model: 'e1000', mac: '52:54:00:00:00:0c' },
      { kind: 'network', source: 'lab', model: 'e1000', mac: '52:54:00:00:00:0d' },
    ],
  );
});

test('a NIC’s network choices are its current source, then the host networks', () => {
  assert.deepEqual(sourceOptions(b, [{ name: 'default' }, { name: 'lab' }]), [
    'user:',
    'network:default',
    'network:lab',
  ]);
  assert.deepEqual(sourceOptions(a, [{ name: 'default' }]), ['network:default']);
});
