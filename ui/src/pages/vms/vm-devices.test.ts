import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { VolumeDto } from '@dto/storage.js';
import { autostartLabel, hotplugRefusal, volumeChoices } from './vm-devices.js';

const vol = (name: string, format: VolumeDto['format'], usedBy: string[] = []): VolumeDto => ({
  hostId: 'h',
  pool: 'p',
  name,
  format,
  capacityBytes: 1,
  allocationBytes: 1,
  path: `/p/${name}`,
  backingVolume: '',
  usedBy,
});

test('CD-ROM choices are the ISO images; disk choices the free non-ISO volumes', () => {
  const vols = [
    vol('a.iso', 'iso'),
    vol('free.qcow2', 'qcow2'),
    vol('used.qcow2', 'qcow2', ['web']),
    vol('mine.raw', 'raw'),
  ];
  const vm = { disks: [{ pool: 'p', volume: 'mine.raw', bus: 'virtio' as const, readonly: false }] };
  assert.deepEqual(
    volumeChoices(vols, vm, 'iso').map((v) => v.name),
    ['a.iso'],
  );
  assert.deepEqual(
    volumeChoices(vols, vm, 'disk').map((v) => v.name),
    ['free.qcow2'],
  );
});

test('only virtio and SCSI disks unplug from a running VM', () => {
  assert.equal(hotplugRefusal(true, 'virtio'), undefined);
  assert.equal(hotplugRefusal(true, 'scsi'), undefined);
  assert.equal(hotplugRefusal(false, 'sata'), undefined);
  assert.match(hotplugRefusal(true, 'sata')!, /SATA disk cannot be unplugged while the VM runs/);
});

test('autostart label', () => {
  assert.equal(autostartLabel({ autostart: false, autostartOrder: 5, autostartDelaySeconds: 0 }), 'off');
  assert.equal(
    autostartLabel({ autostart: true, autostartOrder: 10, autostartDelaySeconds: 30 }),
    'order 10, 30 s delay',
  );
  assert.equal(autostartLabel({ autostart: true, autostartOrder: 0, autostartDelaySeconds: 0 }), 'order 0');
});
