// Every value of each REST list (dto/enums.ts) has a proto number and reads back as itself; a
// number the server does not know reads as the table's fallback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as Rest from '../dto/enums.js';
import {
  bootDevice,
  diskBus,
  firmware,
  networkKind,
  nicKind,
  nicModel,
  poolKind,
  poolState,
  vmState,
  volumeFormat,
} from './proto-enums.js';

test('proto enum tables: each REST value round-trips, unknown numbers fall back', () => {
  const tables: [string, { str: (n: never) => string; num: (s: never) => number }, readonly string[], string][] = [
    ['vmState', vmState, Rest.VM_STATES.filter((s) => s !== 'unknown'), 'unknown'],
    ['firmware', firmware, Rest.FIRMWARES, 'bios'],
    ['diskBus', diskBus, Rest.DISK_BUSES, 'virtio'],
    ['nicModel', nicModel, Rest.NIC_MODELS, 'virtio'],
    ['nicKind', nicKind, Rest.NIC_KINDS, 'user'],
    ['bootDevice', bootDevice, Rest.BOOT_DEVICES, 'disk'],
    ['poolKind', poolKind, Rest.POOL_KINDS, 'dir'],
    ['poolState', poolState, Rest.POOL_STATES.filter((s) => s !== 'unknown'), 'unknown'],
    ['volumeFormat', volumeFormat, Rest.VOLUME_FORMATS, 'unknown'],
    ['networkKind', networkKind, Rest.NETWORK_KINDS, 'unknown'],
  ];
  for (const [name, t, values, fallback] of tables) {
    const nums = values.map((v) => t.num(v as never));
    assert.ok(
      nums.every((n) => n > 0),
      `${name}: every value has a proto number (${nums.join(', ')})`,
    );
    assert.equal(new Set(nums).size, nums.length, `${name}: no two values share a number`);
    assert.deepEqual(
      nums.map((n) => t.str(n as never)),
      [...values],
      `${name}: values read back`,
    );
    assert.equal(t.str(999 as never), fallback, `${name}: an unknown number`);
  }
});
