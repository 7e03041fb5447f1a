// Host CPU, memory, load and network counters from /proc, sampled as deltas between calls.
import { readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import type { HostMetrics } from '@quantix/proto/v1/host.js';
import { memInfo } from './host-info.js';

let lastCpu: { busy: number; total: number } | undefined;

async function cpuTimes(): Promise<{ busy: number; total: number }> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

async function netCounters(): Promise<{ rx: number; tx: number }> {
  const lines = (await readFile('/proc/net/dev', 'utf8')).split('\n').slice(2);
  let rx = 0;
  let tx = 0;
  for (const l of lines) {
    const [name, rest] = l.split(':');
    if (!rest || name?.trim() === 'lo') continue;
    const f = rest.trim().split(/\s+/).map(Number);
    rx += f[0] ?? 0;
    tx += f[8] ?? 0;
  }
  return { rx, tx };
}

export async function sampleHostMetrics(): Promise<HostMetrics> {
  const [cpu, mem, net] = await Promise.all([cpuTimes(), memInfo(), netCounters()]);
  const prev = lastCpu;
  lastCpu = cpu;
  const cpuPercent = prev && cpu.total > prev.total ? (100 * (cpu.busy - prev.busy)) / (cpu.total - prev.total) : 0;
  return {
    timestampMs: Date.now(),
    cpuPercent: Math.round(cpuPercent * 10) / 10,
    memoryTotalBytes: mem.total,
    memoryUsedBytes: mem.total - mem.available,
    load1: loadavg()[0] ?? 0,
    netRxBytes: net.rx,
    netTxBytes: net.tx,
  };
}
