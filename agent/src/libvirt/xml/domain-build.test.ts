import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CpuMode,
  BootDevice,
  DiskBus,
  Firmware,
  NicKind,
  NicModel,
  VideoModel,
  type VmSpec,
} from '@quantix/proto/v1/vm.js';
import { buildDomainXml, targetDevs } from './domain-build.js';
import { parseDomainXml } from './domain-parse.js';
import { xmlReader } from './parser.js';
import { validateVmSpec } from '../../vm/vm-spec-validate.js';

const uuid = '0b8a3c1e-1111-4222-8333-944455556666';
const base = (over: Partial<VmSpec> = {}): VmSpec =>
  validateVmSpec({
    name: 'web01',
    uuid: '',
    sockets: 1,
    cores: 2,
    memoryMib: 1024,
    firmware: Firmware.FIRMWARE_BIOS,
    machine: '',
    disks: [{ pool: 'p', volume: 'web01.qcow2', bus: DiskBus.DISK_BUS_VIRTIO, readonly: false }],
    cdroms: [],
    nics: [
      { kind: NicKind.NIC_KIND_NETWORK, source: 'lan', model: NicModel.NIC_MODEL_VMXNET3, mac: '52:54:00:01:02:03' },
    ],
    bootOrder: [],
    vnc: false,
    videoModel: VideoModel.VIDEO_MODEL_NONE,
    description: '',
    tags: [],
    osType: '',
    cpuMode: CpuMode.CPU_MODE_UNSPECIFIED,
    cpuModel: '',
    secureBoot: false,
    tpm: false,
    autostart: false,
    autostartOrder: 0,
    autostartDelaySeconds: 0,
    maxVcpus: 0,
    maxMemoryMib: 0,
    ...over,
  });
const vol = { path: '/pools/p/web01.qcow2', format: 'qcow2' };
const consoleLog = `/var/log/libvirt/qemu/qx-${uuid}-serial0.log`;

test('BIOS domain: type from the host, topology, memory, disk, NIC, serial pty with its log, ACPI, no VNC', () => {
  const xml = buildDomainXml({ spec: base(), uuid, domainType: 'qemu', disks: [vol], cdroms: [], consoleLog });
  const d = xmlReader([])(xml).domain;
  assert.equal(d['@type'], 'qemu');
  assert.equal(d.vcpu['#text'], '2');
  assert.deepEqual(d.cpu.topology, { '@sockets': '1', '@dies': '1', '@cores': '2', '@threads': '1' });
  assert.equal(d.memory['@unit'], 'MiB');
  assert.equal(d.os.loader, undefined);
  assert.equal(d.os.boot['@dev'], 'hd');
  assert.ok('acpi' in d.features);
  assert.equal(d.devices.disk.source['@file'], '/pools/p/web01.qcow2');
  assert.equal(d.devices.disk.target['@dev'], 'vda');
  assert.equal(d.devices.interface['@type'], 'network');
  assert.equal(d.devices.interface.source['@network'], 'lan');
  assert.equal(d.devices.interface.model['@type'], 'vmxnet3');
  assert.equal(d.devices.serial['@type'], 'pty');
  // The console's scrollback: appended across restarts, not truncated at each start.
  assert.deepEqual(d.devices.serial.log, { '@file': consoleLog, '@append': 'on' });
  assert.equal(d.devices.console.target['@type'], 'serial');
  assert.equal(d.devices.graphics, undefined);
  assert.equal(d.devices.video, undefined);
});

test('video device: VGA when VNC is asked without a model; a video device alone opens no VNC', () => {
  const build = (over: Partial<VmSpec>) =>
    xmlReader([])(buildDomainXml({ spec: base(over), uuid, domainType: 'qemu', disks: [vol], cdroms: [], consoleLog }))
      .domain.devices;
  const vga = build({ vnc: true, videoModel: VideoModel.VIDEO_MODEL_UNSPECIFIED });
  assert.equal(vga.video.model['@type'], 'vga');
  assert.deepEqual(vga.graphics, { '@type': 'vnc', listen: { '@type': 'socket' } });
  const headless = build({ vnc: false, videoModel: VideoModel.VIDEO_MODEL_VIRTIO });
  assert.equal(headless.video.model['@type'], 'virtio');
  assert.equal(headless.graphics, undefined);
  const none = build({ vnc: true, videoModel: VideoModel.VIDEO_MODEL_NONE });
  assert.equal(none.video, undefined);
  assert.equal(none.graphics, undefined, 'no VNC without a video device');
});

test('round trip: what is built parses back to the same spec', () => {
  const spec = base({
    sockets: 2,
    cores: 3,
    machine: 'q35',
    firmware: Firmware.FIRMWARE_UEFI,
    disks: [
      { pool: 'p', volume: 'a', bus: DiskBus.DISK_BUS_SATA, readonly: false },
      { pool: 'p', volume: 'b', bus: DiskBus.DISK_BUS_SCSI, readonly: true },
      { pool: 'q', volume: 'c', bus: DiskBus.DISK_BUS_VIRTIO, readonly: false },
    ],
    cdroms: [{ pool: 'iso', volume: 'debian.iso', bus: DiskBus.DISK_BUS_SATA }],
    nics: [
      { kind: NicKind.NIC_KIND_BRIDGE, source: 'br0', model: NicModel.NIC_MODEL_E1000E, mac: '52:54:00:aa:00:01' },
      { kind: NicKind.NIC_KIND_USER, source: '', model: NicModel.NIC_MODEL_RTL8139, mac: '52:54:00:aa:00:02' },
    ],
    bootOrder: [BootDevice.BOOT_DEVICE_CDROM, BootDevice.BOOT_DEVICE_DISK, BootDevice.BOOT_DEVICE_NETWORK],
    vnc: true,
    videoModel: VideoModel.VIDEO_MODEL_QXL,
    description: 'line one\nline two',
    tags: ['a', 'b c'],
    osType: 'windows',
  });
  const xml = buildDomainXml({
    spec,
    uuid,
    domainType: 'kvm',
    disks: [vol, vol, vol],
    cdroms: [{ path: '/iso/debian.iso', format: 'raw' }],
    consoleLog,
    uefi: {
      code: '/usr/share/OVMF/OVMF_CODE_4M.fd',
      varsTemplate: '/usr/share/OVMF/OVMF_VARS_4M.fd',
      nvram: '/nv/x_VARS.fd',
    },
  });
  const parsed = parseDomainXml(xml);
  assert.deepEqual(parsed.spec, { ...spec, uuid });
  assert.equal(parsed.domainType, 'kvm');
  assert.equal(parsed.nvramPath, '/nv/x_VARS.fd');
  assert.match(xml, /<controller type="scsi" index="0" model="virtio-scsi"\/>/);
  assert.match(
    xml,
    /<graphics type="vnc">\s*<listen type="socket"\/>\s*<\/graphics>/,
    'VNC on a Unix socket, no TCP port',
  );
  assert.match(xml, /<video>\s*<model type="qxl"\/>\s*<\/video>/);
  assert.match(xml, /<clock offset="localtime"\/>/);
});

test('text and attributes are escaped by the builder: no markup injection', () => {
  const evil = '</qx:description></qx:vm></metadata><devices><disk/></devices><x a="';
  const xml = buildDomainXml({
    spec: base({ description: evil, tags: ['"><b>'] }),
    uuid,
    domainType: 'qemu',
    disks: [vol],
    cdroms: [],
    consoleLog,
  });
  assert.equal((xml.match(/<disk /g) ?? []).length, 1);
  const parsed = parseDomainXml(xml);
  assert.equal(parsed.spec.description, evil);
  assert.deepEqual(parsed.spec.tags, ['"><b>']);
});

test('target names: vd for virtio, sd shared by SATA and SCSI, hd for IDE', () => {
  assert.deepEqual(
    targetDevs([
      DiskBus.DISK_BUS_VIRTIO,
      DiskBus.DISK_BUS_SATA,
      DiskBus.DISK_BUS_SCSI,
      DiskBus.DISK_BUS_IDE,
      DiskBus.DISK_BUS_VIRTIO,
      DiskBus.DISK_BUS_IDE,
    ]),
    ['vda', 'sda', 'sdb', 'hda', 'vdb', 'hdb'],
  );
});

test('hotplug ceilings: 2 of 6 vCPUs plugged (topology spans 6), 512 of 1024 MiB; the spec reads back', () => {
  const spec = base({ sockets: 1, cores: 2, maxVcpus: 6, memoryMib: 512, maxMemoryMib: 1024 });
  const xml = buildDomainXml({ spec, uuid, domainType: 'qemu', disks: [vol], cdroms: [], consoleLog });
  const d = xmlReader([])(xml).domain;
  assert.deepEqual([d.vcpu['@current'], d.vcpu['#text']], ['2', '6']);
  assert.deepEqual(d.cpu.topology, { '@sockets': '3', '@dies': '1', '@cores': '2', '@threads': '1' });
  assert.deepEqual([d.memory['#text'], d.currentMemory['#text']], ['1024', '512']);
  const back = parseDomainXml(xml).spec;
  assert.deepEqual([back.sockets, back.cores, back.maxVcpus, back.memoryMib, back.maxMemoryMib], [1, 2, 6, 512, 1024]);
  // Without ceilings nothing changes: no `current`, and the spec says 0 (no growth).
  const plain = parseDomainXml(
    buildDomainXml({ spec: base(), uuid, domainType: 'qemu', disks: [vol], cdroms: [], consoleLog }),
  ).spec;
  assert.deepEqual([plain.maxVcpus, plain.maxMemoryMib], [0, 0]);
});
