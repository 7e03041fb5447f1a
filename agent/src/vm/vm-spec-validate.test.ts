import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CpuMode, DiskBus, Firmware, NicKind, NicModel, VideoModel, type VmSpec } from '@quantix/proto/v1/vm.js';
import type { AgentError } from '../errors.js';
import { validateVmSpec } from './vm-spec-validate.js';

const spec = (over: Partial<VmSpec> = {}): VmSpec => ({
  name: 'web01',
  uuid: '',
  sockets: 0,
  cores: 0,
  memoryMib: 256,
  firmware: Firmware.FIRMWARE_UNSPECIFIED,
  machine: '',
  disks: [{ pool: 'p', volume: 'v', bus: DiskBus.DISK_BUS_UNSPECIFIED, readonly: false }],
  cdroms: [{ pool: '', volume: '', bus: DiskBus.DISK_BUS_UNSPECIFIED }],
  nics: [{ kind: NicKind.NIC_KIND_USER, source: '', model: NicModel.NIC_MODEL_UNSPECIFIED, mac: '' }],
  bootOrder: [],
  vnc: false,
  videoModel: VideoModel.VIDEO_MODEL_UNSPECIFIED,
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

const rejects = (s: VmSpec, field: string) =>
  assert.throws(
    () => validateVmSpec(s),
    (e: AgentError) => e.code === 'INVALID_ARGUMENT' && e.field === field,
  );

test('defaults: 1 socket × 1 core, BIOS, virtio disk, SATA CD-ROM, virtio NIC, boot from disk', () => {
  const s = validateVmSpec(spec());
  assert.deepEqual([s.sockets, s.cores, s.firmware], [1, 1, Firmware.FIRMWARE_BIOS]);
  assert.equal(s.disks[0]!.bus, DiskBus.DISK_BUS_VIRTIO);
  assert.equal(s.cdroms[0]!.bus, DiskBus.DISK_BUS_SATA);
  assert.equal(s.nics[0]!.model, NicModel.NIC_MODEL_VIRTIO);
  assert.deepEqual(s.bootOrder, [1]);
});

test('injection names never pass, wherever they appear', () => {
  for (const bad of ['a;rm -rf /', '$(reboot)', '../x', '<x>', '', '-x', 'a'.repeat(64)]) {
    rejects(spec({ name: bad }), 'spec.name');
    rejects(spec({ disks: [{ pool: bad, volume: 'v', bus: 0, readonly: false }] }), 'spec.disks[0].pool');
    rejects(spec({ disks: [{ pool: 'p', volume: bad, bus: 0, readonly: false }] }), 'spec.disks[0].volume');
    if (bad)
      rejects(
        spec({ nics: [{ kind: NicKind.NIC_KIND_NETWORK, source: bad, model: 0, mac: '' }] }),
        'spec.nics[0].source',
      );
  }
});

test('each invalid field is named', () => {
  rejects(spec({ memoryMib: 0 }), 'spec.memory_mib');
  rejects(spec({ memoryMib: 8 }), 'spec.memory_mib');
  rejects(spec({ sockets: 16, cores: 32 }), 'spec.cores');
  rejects(spec({ uuid: 'nope' }), 'spec.uuid');
  rejects(spec({ machine: 'pc; reboot' }), 'spec.machine');
  rejects(
    spec({ machine: 'q35', disks: [{ pool: 'p', volume: 'v', bus: DiskBus.DISK_BUS_IDE, readonly: false }] }),
    'spec.disks[0].bus',
  );
  rejects(spec({ cdroms: [{ pool: '', volume: '', bus: DiskBus.DISK_BUS_VIRTIO }] }), 'spec.cdroms[0].bus');
  rejects(spec({ nics: [{ kind: NicKind.NIC_KIND_USER, source: '', model: 0, mac: 'zz:zz' }] }), 'spec.nics[0].mac');
  rejects(
    spec({ nics: [{ kind: NicKind.NIC_KIND_USER, source: '', model: 0, mac: '01:00:5e:00:00:01' }] }),
    'spec.nics[0].mac',
  );
  rejects(spec({ nics: [{ kind: NicKind.NIC_KIND_UNSPECIFIED, source: '', model: 0, mac: '' }] }), 'spec.nics[0].kind');
  rejects(spec({ nics: [{ kind: NicKind.NIC_KIND_USER, source: 'x', model: 0, mac: '' }] }), 'spec.nics[0].source');
  rejects(
    spec({ nics: [{ kind: NicKind.NIC_KIND_BRIDGE, source: 'a-very-long-bridge', model: 0, mac: '' }] }),
    'spec.nics[0].source',
  );
  rejects(spec({ bootOrder: [1, 1] }), 'spec.boot_order[1]');
  rejects(spec({ tags: ['ok', 'bad\u0000'] }), 'spec.tags[1]');
  rejects(spec({ tags: ['tab\there'] }), 'spec.tags[0]');
  rejects(spec({ description: 'x'.repeat(4097) }), 'spec.description');
  rejects(spec({ osType: 'beos' }), 'spec.os_type');
  assert.throws(() => validateVmSpec(undefined), /spec: is required/);
});

test('description: control characters XML 1.0 cannot carry are refused; tabs and newlines are kept', () => {
  for (const bad of ['bell\u0007', 'nul\u0000', 'esc \u001b[31m', 'form\u000cfeed', '\ufffe']) {
    rejects(spec({ description: bad }), 'spec.description');
  }
  const text = 'line 1\n\tline 2\r\n<b> & "x"';
  assert.equal(validateVmSpec(spec({ description: text })).description, text);
});

test('names virsh would read as a domain ID or a UUID are refused for the VM and its references', () => {
  for (const bad of ['3', '0', '4b2c8a0e-1f3d-4c5b-9a7e-0d1c2b3a4f5e']) {
    rejects(spec({ name: bad }), 'spec.name');
    rejects(spec({ disks: [{ pool: bad, volume: 'v', bus: 0, readonly: false }] }), 'spec.disks[0].pool');
    rejects(
      spec({ nics: [{ kind: NicKind.NIC_KIND_NETWORK, source: bad, model: 0, mac: '' }] }),
      'spec.nics[0].source',
    );
  }
  assert.throws(
    () => validateVmSpec(spec({ name: '42' })),
    /^AgentError: spec\.name: "42" is not a valid name: a name of only digits would be read by virsh as a domain ID$/,
  );
});

test('hotplug ceilings below the boot size, or not a multiple of the cores, are refused naming the field', () => {
  assert.throws(() => validateVmSpec(spec({ sockets: 2, cores: 2, maxVcpus: 3 })), /spec\.max_vcpus/);
  assert.throws(() => validateVmSpec(spec({ sockets: 1, cores: 2, maxVcpus: 5 })), /multiple of 2 cores/);
  assert.throws(() => validateVmSpec(spec({ memoryMib: 512, maxMemoryMib: 256 })), /spec\.max_memory_mib/);
  assert.equal(validateVmSpec(spec({ sockets: 1, cores: 2, maxVcpus: 6 })).maxVcpus, 6);
});
