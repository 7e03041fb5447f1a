// libvirt's migration job figures (`virsh domjobinfo --rawstats`) turned into progress.
import type { MigrateProgress } from '@quantix/proto/v1/migration.js';

/** `name: value` lines of --rawstats with a whole-number value. */
export function parseJobStats(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^\s*([a-z_]+)\s*:\s*(\d+)\s*$/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

const percent = (done: number | undefined, total: number | undefined) =>
  total ? Math.min(100, Math.round(((done ?? 0) / total) * 1000) / 10) : 0;

/** Disks copy first (NBD), then memory (pre-copy); the switchover is the last few percent. */
export function progressOf(stats: Record<string, number>): MigrateProgress {
  const disk = percent(stats.disk_processed, stats.disk_total);
  const memory = percent(stats.memory_processed, stats.memory_total);
  return {
    phase: stats.disk_total && disk < 100 ? 'disks' : 'memory',
    diskPercent: stats.disk_total ? disk : 100,
    memoryPercent: memory,
    expectedDowntimeMs: stats.downtime ?? 0,
    totalMs: 0,
    downtimeMs: 0,
  };
}
