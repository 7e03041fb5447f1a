// Resource history of hosts and VMs (server/src/dto/metrics-history.ts), and the live SSE samples
// turned into the same shape (counters into bytes per second) so charts can append them. No Lit.
import type { HostMetricsDto } from '@dto/hosts.js';
import type { VmStatsDto } from '@dto/vms.js';
import type {
  HostMetricsHistoryDto,
  HostMetricsSampleDto,
  VmMetricsHistoryDto,
  VmMetricsSampleDto,
} from '@dto/metrics-history.js';
import { apiGet } from './client.js';

export type HistoryRange = '1h' | '1d' | '1y';
export const HISTORY_RANGES: { range: HistoryRange; label: string }[] = [
  { range: '1h', label: '1 hour' },
  { range: '1d', label: '1 day' },
  { range: '1y', label: '1 year' },
];

export const fetchHostHistory = (id: string, range: HistoryRange, signal?: AbortSignal) =>
  apiGet<HostMetricsHistoryDto>(`/hosts/${encodeURIComponent(id)}/metrics/history?range=${range}`, { signal });
export const fetchVmHistory = (id: string, range: HistoryRange, signal?: AbortSignal) =>
  apiGet<VmMetricsHistoryDto>(`/vms/${encodeURIComponent(id)}/metrics/history?range=${range}`, { signal });

/** Bytes per second between two counter readings; undefined without an earlier one or after a reset. */
function rate(prev: { at: string; v: number } | undefined, at: string, v: number): number | undefined {
  if (!prev) return undefined;
  const dt = (Date.parse(at) - Date.parse(prev.at)) / 1000;
  return dt > 0 && v >= prev.v ? (v - prev.v) / dt : undefined;
}

/** A live host sample as a history sample, given the previous live one (undefined for the first). */
export function hostSample(m: HostMetricsDto, prev: HostMetricsDto | undefined): HostMetricsSampleDto | undefined {
  const r = (k: 'netRxBytes' | 'netTxBytes' | 'diskReadBytes' | 'diskWriteBytes' | 'diskReadOps' | 'diskWriteOps') =>
    rate(prev && { at: prev.at, v: prev[k] }, m.at, m[k]);
  const rates = [
    r('netRxBytes'),
    r('netTxBytes'),
    r('diskReadBytes'),
    r('diskWriteBytes'),
    r('diskReadOps'),
    r('diskWriteOps'),
  ];
  if (rates.some((v) => v === undefined)) return undefined;
  const [rx, tx, dr, dw, dro, dwo] = rates as number[];
  const { at, cpuPercent, memoryUsedBytes, memoryTotalBytes, load1 } = m;
  return {
    at,
    cpuPercent,
    memoryUsedBytes,
    memoryTotalBytes,
    load1,
    netRxBytesPerSecond: rx!,
    netTxBytesPerSecond: tx!,
    diskReadBytesPerSecond: dr!,
    diskWriteBytesPerSecond: dw!,
    diskReadOpsPerSecond: dro!,
    diskWriteOpsPerSecond: dwo!,
  };
}

/** A live VM sample as a history sample, given the previous live one (undefined for the first). */
export function vmSample(s: VmStatsDto, prev: VmStatsDto | undefined): VmMetricsSampleDto | undefined {
  const r = (k: 'diskReadBytes' | 'diskWriteBytes' | 'netRxBytes' | 'netTxBytes') =>
    rate(prev && { at: prev.at, v: prev[k] }, s.at, s[k]);
  const [dr, dw, rx, tx] = [r('diskReadBytes'), r('diskWriteBytes'), r('netRxBytes'), r('netTxBytes')];
  if (dr === undefined || dw === undefined || rx === undefined || tx === undefined) return undefined;
  return {
    at: s.at,
    cpuPercent: s.cpuPercent,
    memoryBytes: s.memoryBytes,
    memoryUsedBytes: s.memoryUsedBytes,
    diskReadBytesPerSecond: dr,
    diskWriteBytesPerSecond: dw,
    netRxBytesPerSecond: rx,
    netTxBytesPerSecond: tx,
  };
}
