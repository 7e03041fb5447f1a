// The smallest VmSpec that boots the test guest from a pool volume (tests override fields).
import { DiskBus, Firmware, VideoModel, VmSpec } from '@quantix/proto/v1/vm.js';
import { testGuest } from '../guest/fixture.js';

export function guestSpec(name: string, pool: string, volume: string, over: Partial<VmSpec> = {}): VmSpec {
  // fromPartial: fields added to VmSpec later get their proto defaults here too.
  return VmSpec.fromPartial({
    name,
    uuid: '',
    sockets: 1,
    cores: 1,
    memoryMib: testGuest.memoryMib,
    firmware: Firmware.FIRMWARE_BIOS,
    machine: '',
    disks: [{ pool, volume, bus: DiskBus.DISK_BUS_VIRTIO, readonly: false }],
    cdroms: [],
    nics: [],
    bootOrder: [],
    vnc: false,
    videoModel: VideoModel.VIDEO_MODEL_NONE,
    description: '',
    tags: [],
    osType: 'linux',
    autostart: false,
    autostartOrder: 0,
    autostartDelaySeconds: 0,
    ...over,
  });
}
