// Pure parsers of the storage part against captured text: /proc/self/mountinfo, domain XML
// disks (virsh dumpxml), pool XML targets (virsh pool-dumpxml).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDomainDisks } from './disk-usage.js';
import { parsePoolTarget } from './libvirt-pool.js';
import { parseMountInfo } from './mounts.js';

test('parseMountInfo reads mount id, point (unescaped), type and source', () => {
  const text = [
    '24 27 0:6 / /dev rw,relatime - devtmpfs devtmpfs rw,size=12334460k,nr_inodes=3083615,mode=755',
    '412 31 7:3 / /var/lib/quantix/agent/mnt/pool\\040one rw,nodev,noexec,relatime shared:200 - ext4 /dev/loop3 rw',
    'garbage line',
  ].join('\n');
  assert.deepEqual(parseMountInfo(text), [
    { id: 24, mountPoint: '/dev', fsType: 'devtmpfs', source: 'devtmpfs' },
    { id: 412, mountPoint: '/var/lib/quantix/agent/mnt/pool one', fsType: 'ext4', source: '/dev/loop3' },
  ]);
});

test('parseDomainDisks finds file, block and pool/volume sources', () => {
  const xml = `<domain type='qemu'><name>vm1</name><devices>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/pools/a/disk.qcow2' index='2'/><target dev='vda' bus='virtio'/></disk>
    <disk type='volume' device='cdrom'><driver name='qemu' type='raw'/><source pool='isos' volume='debian.iso'/><target dev='hdc' bus='ide'/><readonly/></disk>
    <disk type='block' device='disk'><source dev='/dev/sdb'/><target dev='vdb'/></disk>
    <disk type='file' device='cdrom'><target dev='hdd' bus='ide'/><readonly/></disk>
  </devices></domain>`;
  assert.deepEqual(parseDomainDisks(xml), [
    { file: '/pools/a/disk.qcow2' },
    { pool: 'isos', volume: 'debian.iso' },
    { file: '/dev/sdb' },
  ]);
  assert.deepEqual(parseDomainDisks('<domain><devices/></domain>'), []);
});

test('parsePoolTarget reads the target path of pool XML', () => {
  const xml = `<pool type='dir'><name>p</name><uuid>9ab29f87-4db6-42a6-af78-7a8c875da98b</uuid><capacity unit='bytes'>0</capacity>
    <target><path>/var/lib/quantix/agent/mnt/p</path><permissions><mode>0711</mode></permissions></target></pool>`;
  assert.equal(parsePoolTarget(xml), '/var/lib/quantix/agent/mnt/p');
  assert.equal(parsePoolTarget('<pool/>'), undefined);
});
