// The create-VM wizard sends the server's CreateVmDto (or DeployTemplateDto) shape, and server
// errors map to steps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkMaxima, draftToDeploy, draftToRequest, stepOfField, type Draft } from './vm-create-request.js';
import { applyPreset } from './vm-presets.js';

const base: Draft = {
  preset: '',
  osType: 'other',
  machine: '',
  diskBus: 'virtio',
  secureBoot: false,
  tpm: false,
  cpuMode: 'named',
  cpuModel: 'x86-64-v2-AES',
  videoModel: 'virtio',
  name: ' web-1 ',
  placement: 'auto',
  cores: 2,
  memoryMib: 256,
  pool: 'pool1',
  diskGib: 1,
  bootKind: 'none',
  iso: '',
  image: '',
  templateId: '',
  network: '',
  nicModel: 'e1000',
  firmware: 'bios',
  start: true,
  maxVcpus: 0,
  maxMemoryMib: 0,
};

test('an empty-disk VM with automatic placement', () => {
  const r = draftToRequest(base);
  assert.deepEqual(r, {
    name: 'web-1',
    pool: 'pool1',
    sockets: 1,
    cores: 2,
    memoryMib: 256,
    firmware: 'bios',
    osType: 'other',
    cpuMode: 'named',
    cpuModel: 'x86-64-v2-AES',
    secureBoot: false,
    tpm: false,
    videoModel: 'virtio',
    vnc: true,
    disks: [{ pool: 'pool1', sizeBytes: 1024 ** 3, bus: 'virtio' }],
    cdroms: [],
    nics: [],
    bootOrder: ['disk'],
    start: true,
  });
});

test('booting an ISO pins the ISO host, adds the CD-ROM first in boot order; the NIC is a network source', () => {
  const r = draftToRequest({
    ...base,
    placement: 'cluster:c1',
    bootKind: 'iso',
    iso: 'h2|isos|guest.iso',
    network: 'default',
    diskGib: 0,
  });
  assert.equal(r.hostId, 'h2');
  assert.equal(r.clusterId, undefined);
  assert.deepEqual(r.cdroms, [{ pool: 'isos', volume: 'guest.iso' }]);
  assert.deepEqual(r.bootOrder, ['cdrom', 'disk']);
  assert.deepEqual(r.disks, []);
  assert.deepEqual(r.nics, [{ kind: 'network', source: 'default', model: 'e1000' }]);
});

test('booting an existing disk image attaches that volume first and pins its host', () => {
  const r = draftToRequest({ ...base, bootKind: 'image', image: 'h3|p2|guest.qcow2', diskGib: 0.5 });
  assert.equal(r.hostId, 'h3');
  assert.deepEqual(r.disks, [
    { pool: 'p2', volume: 'guest.qcow2', bus: 'virtio' },
    { pool: 'pool1', sizeBytes: 512 * 1024 ** 2, bus: 'virtio' },
  ]);
  assert.deepEqual(r.bootOrder, ['disk']);
});

test('placement on a cluster or host', () => {
  assert.equal(draftToRequest({ ...base, placement: 'cluster:c1' }).clusterId, 'c1');
  assert.equal(draftToRequest({ ...base, placement: 'host:h1' }).hostId, 'h1');
});

test('server error fields lead to the step that owns them', () => {
  assert.equal(stepOfField('name'), 0);
  assert.equal(stepOfField('disks[0].sizeBytes'), 2);
  assert.equal(stepOfField('nics[0].source'), 4);
  assert.equal(stepOfField('cdroms'), 3);
  assert.equal(stepOfField('whatever'), undefined);
});

test('a template deploy sends the edited vCPUs, keeping the template’s cores per socket when they divide', () => {
  const d = { ...base, bootKind: 'template' as const, templateId: 't1', cores: 6, memoryMib: 512, start: false };
  assert.deepEqual(draftToDeploy(d, { sockets: 2, cores: 2 }), {
    name: 'web-1',
    sockets: 3,
    cores: 2,
    memoryMib: 512,
    start: false,
  });
  assert.deepEqual(draftToDeploy({ ...d, cores: 4 }, { sockets: 2, cores: 2 }), {
    name: 'web-1',
    sockets: 2,
    cores: 2,
    memoryMib: 512,
    start: false,
  });
  assert.deepEqual(draftToDeploy({ ...d, cores: 5 }, { sockets: 1, cores: 2 }), {
    name: 'web-1',
    sockets: 1,
    cores: 5,
    memoryMib: 512,
    start: false,
  });
  assert.deepEqual(draftToDeploy({ ...d, cores: 3 }, undefined), {
    name: 'web-1',
    sockets: 1,
    cores: 3,
    memoryMib: 512,
    start: false,
  });
});

test('the Windows 11 preset asks for UEFI + Secure Boot + TPM on q35, a SATA disk and an e1000e NIC', () => {
  const r = draftToRequest({ ...applyPreset(base, 'windows-11'), network: 'default' });
  assert.deepEqual(
    [r.firmware, r.machine, r.secureBoot, r.tpm, r.osType, r.cores, r.memoryMib, r.cpuMode, r.cpuModel],
    ['uefi', 'q35', true, true, 'windows', 2, 4096, 'named', 'x86-64-v2-AES'],
  );
  assert.deepEqual(r.disks, [{ pool: 'pool1', sizeBytes: 64 * 1024 ** 3, bus: 'sata' }]);
  assert.deepEqual(r.nics, [{ kind: 'network', source: 'default', model: 'e1000e' }]);
  assert.deepEqual([r.videoModel, r.vnc], ['vga', true], 'standard VGA: Windows has no virtio-gpu driver of its own');
  assert.equal(stepOfField('secureBoot'), 5);
  assert.equal(stepOfField('videoModel'), 5);
  assert.equal(stepOfField('cpuModel'), 1);
});

test('Linux (modern) is virtio everywhere; a mode other than named sends no model', () => {
  const r = draftToRequest({ ...applyPreset(base, 'linux-modern'), cpuMode: 'max' });
  assert.deepEqual(r.disks, [{ pool: 'pool1', sizeBytes: 20 * 1024 ** 3, bus: 'virtio' }]);
  assert.deepEqual(
    [r.firmware, r.secureBoot, r.tpm, r.memoryMib, r.cpuMode, r.cpuModel],
    ['uefi', false, false, 2048, 'max', undefined],
  );
  assert.equal(r.videoModel, 'virtio');
});

test('video none asks for no graphical console; the legacy Linux preset chooses standard VGA', () => {
  const none = draftToRequest({ ...base, videoModel: 'none' });
  assert.deepEqual([none.videoModel, none.vnc], ['none', false]);
  assert.equal(draftToRequest(applyPreset(base, 'linux-legacy')).videoModel, 'vga');
});

test('the hotplug maxima: sent when set, checked like the agent (at least the boot size, vCPUs in steps of the cores)', () => {
  assert.deepEqual(
    [draftToRequest(base).maxVcpus, draftToRequest(base).maxMemoryMib],
    [undefined, undefined],
    '0 = no growth: not sent',
  );
  const r = draftToRequest({ ...base, maxVcpus: 6, maxMemoryMib: 1024 });
  assert.deepEqual([r.maxVcpus, r.maxMemoryMib], [6, 1024]);
  assert.equal(checkMaxima({ ...base, maxVcpus: 6, maxMemoryMib: 1024 }), undefined);
  assert.equal(checkMaxima(base), undefined);
  assert.equal(checkMaxima({ ...base, maxVcpus: 1 })?.field, 'maxVcpus', 'fewer than the 2 at boot');
  assert.equal(checkMaxima({ ...base, maxVcpus: 5 })?.field, 'maxVcpus', 'not a multiple of 2 cores');
  assert.equal(checkMaxima({ ...base, maxVcpus: 258 })?.field, 'maxVcpus');
  assert.equal(checkMaxima({ ...base, maxMemoryMib: 128 })?.field, 'maxMemoryMib', 'below the 256 MiB at boot');
  assert.match(checkMaxima({ ...base, maxMemoryMib: 128 })!.message, /256 MiB \(the memory at boot\)/);
  assert.deepEqual(
    ['maxVcpus', 'maxMemoryMib', 'spec.max_vcpus', 'spec.max_memory_mib'].map(stepOfField),
    [1, 1, 1, 1],
    'a server error about a maximum leads back to the hardware step',
  );
});
