// Host and VM resource history kept on the server: each 5 s sample from the agents goes into a
// fixed-size round-robin series per host/VM (counters turned into rates) kept in its file under
// <dataDir>/metrics/, the new rows written every flush interval and at stop; a deleted VM's series
// and file are removed.
import { mkdir, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { HostMetrics } from '@quantix/proto/v1/host.js';
import type { VmStats } from '@quantix/proto/v1/vm.js';
import type { HostMetricsHistoryDto, VmMetricsHistoryDto } from '../dto/metrics-history.js';
import { log } from '../log.js';
import { RoundRobinFile, TIERS } from './round-robin-file.js';

export const HOST_FIELDS = [
  'cpuPercent',
  'memoryUsedBytes',
  'memoryTotalBytes',
  'load1',
  'netRxBytesPerSecond',
  'netTxBytesPerSecond',
  // Added after the first release: older host files have the fields above only (widened on load).
  'diskReadBytesPerSecond',
  'diskWriteBytesPerSecond',
  'diskReadOpsPerSecond',
  'diskWriteOpsPerSecond',
] as const;
export const VM_FIELDS = [
  'cpuPercent',
  'memoryBytes',
  'memoryUsedBytes',
  'diskReadBytesPerSecond',
  'diskWriteBytesPerSecond',
  'netRxBytesPerSecond',
  'netTxBytesPerSecond',
] as const;

/** History ranges and the tier (resolution) each one reads. */
export const RANGES = { '1h': 0, '1d': 1, '1y': 2 } as const;
export type HistoryRange = keyof typeof RANGES;

type Kind = 'host' | 'vm';
const SAFE_ID = /^[A-Za-z0-9_.-]{1,128}$/;

interface Entry {
  series: RoundRobinFile;
  /** The last raw counters and their time, to turn the next sample's counters into rates. */
  last?: { at: number; counters: number[] };
}

export class MetricsHistory {
  private readonly entries = new Map<string, Promise<Entry>>();
  /** VMs the inventory dropped, by uuid → when; removed at a flush if no host has them then. */
  private readonly gone = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private readonly dir: string;

  constructor(
    dataDir: string,
    private readonly flushMs: number,
    /** Whether any host still lists this VM (a migrated VM is dropped by one and added by another). */
    private readonly vmPresent: (uuid: string) => boolean,
  ) {
    this.dir = join(dataDir, 'metrics');
  }

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.flushMs);
    this.timer.unref();
  }

  /** Stops the timer and writes what is pending. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  addHost(hostId: string, m: HostMetrics): void {
    const at = m.timestampMs || Date.now();
    this.add(
      'host',
      hostId,
      at,
      [m.cpuPercent, m.memoryUsedBytes, m.memoryTotalBytes, m.load1],
      [m.netRxBytes, m.netTxBytes, m.diskReadBytes, m.diskWriteBytes, m.diskReadOps, m.diskWriteOps],
    );
  }

  addVm(s: VmStats): void {
    // A late sample of a VM just deleted must not bring its series back.
    if (!this.vmPresent(s.uuid)) return;
    const at = s.timestampMs || Date.now();
    this.gone.delete(s.uuid);
    this.add(
      'vm',
      s.uuid,
      at,
      [s.cpuPercent, s.memoryBytes, s.memoryUsedBytes],
      [s.diskReadBytes, s.diskWriteBytes, s.netRxBytes, s.netTxBytes],
    );
  }

  /** The inventory dropped the VM: its series goes at the next flush unless a host lists it again. */
  vmDropped(uuid: string): void {
    this.gone.set(uuid, Date.now());
  }

  async hostHistory(hostId: string, range: HistoryRange): Promise<HostMetricsHistoryDto> {
    const h = await this.history('host', hostId, range);
    return { range, stepSeconds: h.stepSeconds, samples: h.points.map((p) => sample(HOST_FIELDS, p)) };
  }

  async vmHistory(uuid: string, range: HistoryRange): Promise<VmMetricsHistoryDto> {
    const h = await this.history('vm', uuid, range);
    return { range, stepSeconds: h.stepSeconds, samples: h.points.map((p) => sample(VM_FIELDS, p)) };
  }

  /** A host removed from the vDC: its series and file go (its VMs' series stay until they are deleted). */
  hostRemoved(hostId: string): Promise<void> {
    if (!SAFE_ID.test(hostId)) return this.flushing;
    this.flushing = this.flushing.then(async () => {
      this.entries.delete(`host-${hostId}`);
      await unlink(this.fileOf('host', hostId)).catch(() => undefined);
    });
    return this.flushing;
  }

  /** The points of a host's or VM's series for `range`, oldest first, with their step. */
  async history(
    kind: Kind,
    id: string,
    range: HistoryRange,
    nowMs = Date.now(),
  ): Promise<{ stepSeconds: number; points: { at: number; values: number[] }[] }> {
    const tier = RANGES[range];
    const step = TIERS[tier]!.stepSeconds;
    if (!SAFE_ID.test(id)) return { stepSeconds: step, points: [] };
    const e = await this.entry(kind, id);
    return { stepSeconds: step, points: await e.series.points(tier, nowMs) };
  }

  /** Writes the changed series and removes those of VMs gone for a whole flush interval. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.flushNow());
    return this.flushing;
  }

  fileOf(kind: Kind, id: string): string {
    return join(this.dir, `${kind}-${id}.rrd`);
  }

  private async flushNow(): Promise<void> {
    const now = Date.now();
    for (const [uuid, since] of this.gone) {
      if (now - since < this.flushMs) continue;
      this.gone.delete(uuid);
      if (this.vmPresent(uuid)) continue;
      this.entries.delete(`vm-${uuid}`);
      await unlink(this.fileOf('vm', uuid)).catch(() => undefined);
    }
    for (const [key, p] of this.entries) {
      const e = await p;
      if (!e.series.pending || this.entries.get(key) !== p) continue;
      try {
        await mkdir(this.dir, { recursive: true, mode: 0o700 });
        await e.series.flush();
      } catch (err) {
        log.warn('cannot write metrics history', { key, error: (err as Error).message });
      }
    }
  }

  private add(kind: Kind, id: string, at: number, gauges: number[], counters: number[]): void {
    if (!SAFE_ID.test(id)) return;
    void this.entry(kind, id).then((e) => {
      const last = e.last;
      e.last = { at, counters };
      const dt = last ? (at - last.at) / 1000 : 0;
      // The first sample after a start, or a counter reset (agent restart), gives no rate.
      if (!last || dt <= 0 || counters.some((c, i) => c < last.counters[i]!)) return;
      e.series.add(at, [...gauges, ...counters.map((c, i) => (c - last.counters[i]!) / dt)]);
    });
  }

  private entry(kind: Kind, id: string): Promise<Entry> {
    const key = `${kind}-${id}`;
    let p = this.entries.get(key);
    if (!p) {
      p = this.load(kind, id);
      this.entries.set(key, p);
    }
    return p;
  }

  private async load(kind: Kind, id: string): Promise<Entry> {
    const fields = kind === 'host' ? HOST_FIELDS.length : VM_FIELDS.length;
    const file = this.fileOf(kind, id);
    try {
      // A file from before fields were added gets them (empty in its old rows).
      return { series: await RoundRobinFile.open(file, fields, TIERS) };
    } catch (err) {
      // A torn or foreign file costs that history, not the server: start it afresh, loudly.
      log.warn('metrics history file unreadable, starting it afresh', { file, error: (err as Error).message });
      return { series: RoundRobinFile.empty(file, fields, TIERS) };
    }
  }

  /** Files on disk (for tests and diagnostics). */
  async files(): Promise<string[]> {
    return (await readdir(this.dir).catch(() => [] as string[])).filter((f) => f.endsWith('.rrd'));
  }
}

function sample<F extends readonly string[]>(
  fields: F,
  p: { at: number; values: number[] },
): { at: string } & Record<F[number], number> {
  const out: Record<string, number | string> = { at: new Date(p.at).toISOString() };
  fields.forEach((f, i) => (out[f] = p.values[i]!));
  return out as { at: string } & Record<F[number], number>;
}
