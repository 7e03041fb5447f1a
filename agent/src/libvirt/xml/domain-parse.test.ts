import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { BootDevice, DiskBus, Firmware, NicKind, NicModel, VideoModel } from '@quantix/proto/v1/vm.js';
import { parseDomainXml } from './domain-parse.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

test('parses what libvirt made of a UEFI domain with every device kind (captured from virsh dumpxml)', () => {
  const d = parseDomainXml(fixture('uefi-all-devices.xml'));
  assert.equal(d.uuid, '6f1c2a8e-3b4d-4e5f-8a9b-0c1d2e3f4a5b');
  assert.equal(d.domainType, 'qemu');
  assert.equal(d.nvramPath, '/var/lib/libvirt/qemu/nvram/6f1c2a8e-3b4d-4e5f-8a9b-0c1d2e3f4a5b_VARS.fd');
  assert.equal(d.vncSocket, '', 'a TCP VNC listener is no graphics socket');
  assert.equal(d.spec.videoModel, VideoModel.VIDEO_MODEL_VGA);
  const s = d.spec;
  assert.equal(s.name, 'qxt-vm-capture');
  assert.equal(s.memoryMib, 512, 'KiB converted to MiB');
  assert.deepEqual([s.sockets, s.cores], [2, 2]);
  assert.equal(s.firmware, Firmware.FIRMWARE_UEFI);
  assert.equal(s.machine, 'pc-i440fx-7.2');
  // libvirt reorders disks by bus; the metadata restores the defined order.
  assert.deepEqual(
    s.disks.map((x) => [x.volume, x.bus, x.readonly]),
    [
      ['a.qcow2', DiskBus.DISK_BUS_VIRTIO, false],
      ['b.raw', DiskBus.DISK_BUS_SATA, false],
      ['c.qcow2', DiskBus.DISK_BUS_SCSI, true],
      ['d.qcow2', DiskBus.DISK_BUS_IDE, false],
    ],
  );
  assert.ok(s.disks.every((x) => x.pool === 'qxt-vm-p'));
  assert.deepEqual(s.cdroms, [
    { pool: 'qxt-vm-p', volume: 'x.iso', bus: DiskBus.DISK_BUS_SATA },
    { pool: '', volume: '', bus: DiskBus.DISK_BUS_IDE },
  ]);
  assert.deepEqual(
    s.nics.map((n) => [n.kind, n.model]),
    [
      [NicKind.NIC_KIND_USER, NicModel.NIC_MODEL_E1000],
      [NicKind.NIC_KIND_USER, NicModel.NIC_MODEL_VMXNET3],
      [NicKind.NIC_KIND_USER, NicModel.NIC_MODEL_VIRTIO],
    ],
  );
  assert.deepEqual(d.macs, ['52:54:00:12:34:56', '52:54:00:0e:e3:59', '52:54:00:b3:43:36']);
  assert.deepEqual(s.bootOrder, [BootDevice.BOOT_DEVICE_CDROM, BootDevice.BOOT_DEVICE_DISK]);
  assert.equal(s.vnc, true);
  assert.equal(s.description, 'Web <front> & "tier"');
  assert.deepEqual(s.tags, ['prod', 'web tier']);
  assert.equal(s.osType, 'linux');
  assert.deepEqual(
    d.files.map((f) => [f.dev, f.device, f.format]),
    [
      ['vda', 'disk', 'qcow2'],
      ['sda', 'disk', 'raw'],
      ['sdb', 'disk', 'qcow2'],
      ['hda', 'disk', 'qcow2'],
      ['sdc', 'cdrom', 'raw'],
      ['hdb', 'cdrom', 'raw'],
    ],
  );
});

test('a foreign domain without Quantix metadata still parses', () => {
  const d = parseDomainXml(`<domain type='kvm'><name>legacy</name><uuid>11111111-2222-3333-4444-555555555555</uuid>
    <memory>1048576</memory><vcpu>2</vcpu><os><type arch='x86_64' machine='q35'>hvm</type><boot dev='network'/></os>
    <devices><disk type='file' device='disk'><source file='/srv/legacy.img'/><target dev='vda' bus='virtio'/></disk>
    <interface type='network'><source network='default'/><mac address='52:54:00:aa:bb:cc'/></interface>
    <graphics type='vnc' port='5901'/></devices></domain>`);
  assert.equal(d.spec.memoryMib, 1024);
  assert.deepEqual([d.spec.sockets, d.spec.cores], [1, 2]);
  assert.equal(d.spec.firmware, Firmware.FIRMWARE_BIOS);
  assert.deepEqual(d.spec.disks, [{ pool: '', volume: 'legacy.img', bus: DiskBus.DISK_BUS_VIRTIO, readonly: false }]);
  assert.equal(d.spec.nics[0]!.source, 'default');
  assert.equal(d.spec.nics[0]!.kind, NicKind.NIC_KIND_NETWORK);
  assert.equal(d.vncSocket, '');
  assert.equal(d.spec.videoModel, VideoModel.VIDEO_MODEL_NONE, 'no <video> element');
  assert.deepEqual(d.spec.bootOrder, [BootDevice.BOOT_DEVICE_NETWORK]);
  assert.deepEqual(d.spec.tags, []);
});

test('refuses a document that is not a domain', () => {
  assert.throws(() => parseDomainXml('<network><name>x</name></network>'), /not a libvirt domain/);
});
