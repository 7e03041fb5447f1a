// Cluster-wide CPU / memory / storage totals for the dashboard (pure; unit-tested).
import type { HostDto } from '@dto/hosts.js';
import type { PoolDto } from '@dto/storage.js';

export interface Usage {
  cpu: number;
  memUsed: number;
  memTotal: number;
  stUsed: number;
  stTotal: number;
}

/** Totals over online hosts and pools (pure). */
export function aggregateUsage(hosts: HostDto[], pools: PoolDto[]): Usage {
  const on = hosts.filter((h) => h.status === 'online');
  const cpu = on.length ? on.reduce((s, h) => s + (h.metrics?.cpuPercent ?? 0), 0) / on.length : 0;
  const sum = (xs: (number | undefined)[]) => xs.reduce<number>((s, x) => s + (x ?? 0), 0);
  return {
    cpu,
    memUsed: sum(on.map((h) => h.metrics?.memoryUsedBytes ?? h.memoryTotalBytes - h.memoryFreeBytes)),
    memTotal: sum(on.map((h) => h.metrics?.memoryTotalBytes ?? h.memoryTotalBytes)),
    stUsed: sum(pools.map((p) => p.allocationBytes)),
    stTotal: sum(pools.map((p) => p.capacityBytes)),
  };
}
