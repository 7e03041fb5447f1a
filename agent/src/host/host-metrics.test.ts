// Host disk I/O from /proc/diskstats: only the named whole disks are summed, sectors are 512 bytes;
// a live sample on this machine has the counters of its real disk.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDiskstats, sampleHostMetrics } from './host-metrics.js';

// Captured from this machine (loop devices are pools; vda is the disk; zram is swap in RAM).
const DISKSTATS = `   7       0 loop0 4225 80 72726 1081 6035 5153 1690060 12520 0 5748 17622 0 0 0 0 3294 4019
 253       0 vda 181234 2345 23456789 98765 345678 45678 98765432 876543 0 234567 987654 0 0 0 0 12345 6789
 253       1 vda1 181000 2345 23450000 98700 345600 45678 98765000 876500 0 234500 987600 0 0 0 0 0 0
 252       0 zram0 100 0 800 1 200 0 1600 2 0 3 3 0 0 0 0 0 0
   8      16 sdb 10 0 80 1 20 0 160 2 0 3 3
`;

test('diskstats: whole physical disks summed, partitions, loop and zram left out', () => {
  assert.deepEqual(parseDiskstats(DISKSTATS, new Set(['vda'])), {
    readOps: 181234,
    readBytes: 23456789 * 512,
    writeOps: 345678,
    writeBytes: 98765432 * 512,
  });
  const two = parseDiskstats(DISKSTATS, new Set(['vda', 'sdb']));
  assert.equal(two.readOps, 181244);
  assert.equal(two.writeBytes, (98765432 + 160) * 512);
  assert.deepEqual(parseDiskstats('', new Set(['vda'])), { readOps: 0, readBytes: 0, writeOps: 0, writeBytes: 0 });
});

test('a live host sample carries the disk counters of this machine', async () => {
  const m = await sampleHostMetrics();
  // This machine boots from a virtio disk that has been read from and written to.
  assert.ok(m.diskReadBytes > 0 && m.diskReadOps > 0, JSON.stringify(m));
  assert.ok(m.diskWriteBytes > 0 && m.diskWriteOps > 0, JSON.stringify(m));
});
