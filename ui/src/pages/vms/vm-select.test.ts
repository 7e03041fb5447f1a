// VM list search / filter / sort.
import type { VmDto } from '@dto/vms.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selectVms } from './vm-select.js';

const vm = (name: string, state: VmDto['state'], cores: number, ip: string[] = []): VmDto =>
  ({ id: name, name, state, hostName: 'h1', sockets: 1, cores, memoryMib: 128, ipAddresses: ip }) as VmDto;
const vms = [vm('b', 'running', 2, ['10.0.0.5']), vm('a', 'shutoff', 4), vm('c', 'running', 1)];

test('search matches names and IPs; state filters', () => {
  assert.deepEqual(
    selectVms(vms, '10.0.0', '', 'name', false).map((v) => v.name),
    ['b'],
  );
  assert.deepEqual(
    selectVms(vms, '', 'running', 'name', false).map((v) => v.name),
    ['b', 'c'],
  );
});

test('sort by name and by vCPU count, both directions', () => {
  assert.deepEqual(
    selectVms(vms, '', '', 'name', false).map((v) => v.name),
    ['a', 'b', 'c'],
  );
  assert.deepEqual(
    selectVms(vms, '', '', 'cpus', true).map((v) => v.name),
    ['a', 'b', 'c'],
  );
  assert.deepEqual(
    selectVms(vms, '', '', 'cpus', false).map((v) => v.name),
    ['c', 'b', 'a'],
  );
});
