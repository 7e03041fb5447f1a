// Metrics history at scale: 1,000 VMs with a minute of 5 s samples each. Prints the heap the
// series hold against the size of the same series kept whole (RoundRobinFile.byteLength: what
// one series cost in memory before it lived in its file), the time of a flush, and the disk used.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetricsHistory, VM_FIELDS } from '../services/metrics-history.js';
import { RoundRobinFile, TIERS } from '../services/round-robin-file.js';

const VMS = Number(process.env.QX_BENCH_VMS ?? 1000);
const dir = await mkdtemp(join(tmpdir(), 'qxt-mh-bench-'));
try {
  const h = new MetricsHistory(dir, 3_600_000, () => true);
  const now = Date.now();
  const sample = (i: number, k: number) => ({
    uuid: `vm-${i}`,
    timestampMs: now - (13 - k) * 5000,
    cpuPercent: 10,
    memoryBytes: 1e9,
    memoryUsedBytes: 5e8,
    diskReadBytes: k * 1000,
    diskWriteBytes: k * 2000,
    netRxBytes: k,
    netTxBytes: k,
  });
  global.gc?.();
  const before = process.memoryUsage();
  for (let k = 0; k < 13; k++) for (let i = 0; i < VMS; i++) h.addVm(sample(i, k) as never);
  await h.vmHistory(`vm-${VMS - 1}`, '1h'); // every series loaded and its samples added
  global.gc?.();
  const after = process.memoryUsage();
  const held = after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers;
  const whole = VMS * RoundRobinFile.byteLength(VM_FIELDS.length, TIERS);
  const t0 = performance.now();
  await h.flush();
  const flushMs = performance.now() - t0;
  const used = execFileSync('du', ['-sk', join(dir, 'metrics')])
    .toString()
    .split('\t')[0];
  console.log(
    `metrics history, ${VMS} VMs × 13 samples: memory held ${(held / 1e6).toFixed(1)} MB vs ${(whole / 1e6).toFixed(0)} MB ` +
      `for the series kept whole = ${(held / whole).toFixed(3)}x; first flush ${flushMs.toFixed(0)} ms; ` +
      `disk used ${(Number(used) / 1024).toFixed(1)} MB of ${(whole / 1e6).toFixed(0)} MB apparent`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
