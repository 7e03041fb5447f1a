// The settings' boot order rows: a VM that boots from the disk can be told to boot from its
// CD-ROM first, or from the network, and its order reads back as it was edited.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootOrderOf, bootRows, moveBootRow, toggleBootRow } from './vm-boot-order.js';

test('the rows list the VM’s boot devices in order first, then the others switched off', () => {
  assert.deepEqual(bootRows(['cdrom', 'disk']), [
    { dev: 'cdrom', on: true },
    { dev: 'disk', on: true },
    { dev: 'network', on: false },
  ]);
  assert.deepEqual(bootOrderOf(bootRows(['cdrom', 'disk'])), ['cdrom', 'disk']);
});

test('moving the CD-ROM above the disk and switching network on gives cdrom, disk, network', () => {
  let rows = bootRows(['disk']);
  rows = moveBootRow(toggleBootRow(rows, 1, true), 1, -1);
  assert.deepEqual(bootOrderOf(rows), ['cdrom', 'disk']);
  rows = toggleBootRow(rows, 2, true);
  assert.deepEqual(bootOrderOf(rows), ['cdrom', 'disk', 'network']);
  assert.deepEqual(moveBootRow(rows, 0, -1), rows, 'the first row cannot move up');
  assert.deepEqual(bootOrderOf(toggleBootRow(rows, 1, false)), ['cdrom', 'network']);
});
