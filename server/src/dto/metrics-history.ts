// Resource history of a host or VM (GET …/metrics/history?range=): averages per step, oldest
// first; 1h at 5 s, 1d at 1 min, 1y at 30 min. Byte counters become rates (bytes per second);
// values are kept as 32-bit floats (7 significant digits).
import { arr, int, named, num, obj, oneOf } from '../schema/schema.js';
import type { Infer } from '../schema/schema.js';
import { timestamp } from './common.js';

export const HISTORY_RANGES = ['1h', '1d', '1y'] as const;

export const MetricsHistoryQuery = obj({ range: oneOf(HISTORY_RANGES) });

export const HostMetricsSampleDto = named(
  'HostMetricsSampleDto',
  obj({
    at: timestamp(),
    cpuPercent: num(),
    memoryUsedBytes: num(),
    memoryTotalBytes: num(),
    load1: num(),
    netRxBytesPerSecond: num(),
    netTxBytesPerSecond: num(),
    diskReadBytesPerSecond: num(),
    diskWriteBytesPerSecond: num(),
    diskReadOpsPerSecond: num(),
    diskWriteOpsPerSecond: num(),
  }),
);
export type HostMetricsSampleDto = Infer<typeof HostMetricsSampleDto>;

export const VmMetricsSampleDto = named(
  'VmMetricsSampleDto',
  obj({
    at: timestamp(),
    cpuPercent: num(),
    memoryBytes: num(),
    memoryUsedBytes: num(),
    diskReadBytesPerSecond: num(),
    diskWriteBytesPerSecond: num(),
    netRxBytesPerSecond: num(),
    netTxBytesPerSecond: num(),
  }),
);
export type VmMetricsSampleDto = Infer<typeof VmMetricsSampleDto>;

const historyProps = {
  range: oneOf(HISTORY_RANGES),
  stepSeconds: int({ description: 'seconds each sample averages' }),
};

export const HostMetricsHistoryDto = named(
  'HostMetricsHistoryDto',
  obj({ ...historyProps, samples: arr(HostMetricsSampleDto) }),
);
export type HostMetricsHistoryDto = Infer<typeof HostMetricsHistoryDto>;
export const VmMetricsHistoryDto = named(
  'VmMetricsHistoryDto',
  obj({ ...historyProps, samples: arr(VmMetricsSampleDto) }),
);
export type VmMetricsHistoryDto = Infer<typeof VmMetricsHistoryDto>;
