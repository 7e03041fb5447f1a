// Host CPU, memory, load, network and disk I/O counters from /proc, sampled as deltas between calls.
import { access, readFile, readdir } from 'node:fs/promises';
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

export interface DiskCounters {
  readBytes: number;
  writeBytes: number;
  readOps: number;
  writeOps: number;
}

/** /proc/diskstats counts sectors of 512 bytes whatever the device's sector size. */
const SECTOR_BYTES = 512;

/**
 * Sums /proc/diskstats over `disks` (whole devices by name). Fields after the name: reads
 * completed, merged, sectors read, ms reading, writes completed, merged, sectors written, …
 * (https://docs.kernel.org/admin-guide/iostats.html).
 */
export function parseDiskstats(text: string, disks: ReadonlySet<string>): DiskCounters {
  const out = { readBytes: 0, writeBytes: 0, readOps: 0, writeOps: 0 };
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || !disks.has(f[2]!)) continue;
    out.readOps += Number(f[3]) || 0;
    out.readBytes += (Number(f[5]) || 0) * SECTOR_BYTES;
    out.writeOps += Number(f[7]) || 0;
    out.writeBytes += (Number(f[9]) || 0) * SECTOR_BYTES;
  }
  return out;
}

/**
 * The host's physical disks: block devices backed by hardware (/sys/block/X/device exists).
 * Partitions, loop, device-mapper, md and zram devices are left out: their I/O is also counted on
 * the disk below them, or never reaches a disk.
 */
async function physicalDisks(): Promise<Set<string>> {
  const names = await readdir('/sys/block').catch(() => [] as string[]);
  const found = await Promise.all(
    names.map((n) =>
      access(`/sys/block/${n}/device`).then(
        () => n,
        () => undefined,
      ),
    ),
  );
  return new Set(found.filter((n): n is string => n !== undefined && !/^(loop|ram|zram|dm-|md)/.test(n)));
}

async function diskCounters(): Promise<DiskCounters> {
  const [text, disks] = await Promise.all([readFile('/proc/diskstats', 'utf8'), physicalDisks()]);
  return parseDiskstats(text, disks);
}

export async function sampleHostMetrics(): Promise<HostMetrics> {
  const [cpu, mem, net, disk] = await Promise.all([cpuTimes(), memInfo(), netCounters(), diskCounters()]);
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
    diskReadBytes: disk.readBytes,
    diskWriteBytes: disk.writeBytes,
    diskReadOps: disk.readOps,
    diskWriteOps: disk.writeOps,
  };
}
