// Live SSE samples become history samples: counters turn into bytes per second between two
// readings; the first reading, or one after a counter reset (agent restart), gives no sample.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HostMetricsDto } from '@dto/hosts.js';
import type { VmStatsDto } from '@dto/vms.js';
import { hostSample, vmSample } from './metrics.js';

const host = (at: string, rx: number, tx: number): HostMetricsDto => ({
  at,
  cpuPercent: 12,
  memoryTotalBytes: 1000,
  memoryUsedBytes: 250,
  load1: 0.5,
  netRxBytes: rx,
  netTxBytes: tx,
  diskReadBytes: rx * 2,
  diskWriteBytes: tx * 2,
  diskReadOps: rx / 10,
  diskWriteOps: tx / 10,
});

test('host counters become rates between two samples', () => {
  const a = host('2026-01-01T00:00:00.000Z', 1000, 500);
  const b = host('2026-01-01T00:00:05.000Z', 6000, 500);
  assert.equal(hostSample(a, undefined), undefined, 'the first sample has no rate');
  assert.deepEqual(hostSample(b, a), {
    at: b.at,
    cpuPercent: 12,
    memoryUsedBytes: 250,
    memoryTotalBytes: 1000,
    load1: 0.5,
    netRxBytesPerSecond: 1000,
    netTxBytesPerSecond: 0,
    diskReadBytesPerSecond: 2000,
    diskWriteBytesPerSecond: 0,
    diskReadOpsPerSecond: 100,
    diskWriteOpsPerSecond: 0,
  });
  assert.equal(hostSample(host(b.at, 10, 10), a), undefined, 'a counter reset gives no sample');
});

test('VM disk and network counters become rates', () => {
  const vm = (at: string, n: number): VmStatsDto => ({
    at,
    cpuPercent: 3,
    memoryBytes: 128,
    memoryUsedBytes: 64,
    diskReadBytes: n,
    diskWriteBytes: 2 * n,
    netRxBytes: 3 * n,
    netTxBytes: 4 * n,
  });
  const s = vmSample(vm('2026-01-01T00:00:10.000Z', 200), vm('2026-01-01T00:00:00.000Z', 100));
  assert.deepEqual(
    [s?.diskReadBytesPerSecond, s?.diskWriteBytesPerSecond, s?.netRxBytesPerSecond, s?.netTxBytesPerSecond],
    [10, 20, 30, 40],
  );
  assert.equal(s?.memoryBytes, 128);
});
