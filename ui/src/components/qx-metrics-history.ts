// Resource charts of a host or VM with a 1 hour / 1 day / 1 year choice: loads the server's
// history for the range, then appends live SSE samples (host-metrics / vm-metrics) to it.
import { LitElement, css, html } from 'lit';
import type { HostMetricsDto } from '@dto/hosts.js';
import type { VmStatsDto } from '@dto/vms.js';
import type { HostMetricsSampleDto, VmMetricsSampleDto } from '@dto/metrics-history.js';
import {
  HISTORY_RANGES,
  fetchHostHistory,
  fetchVmHistory,
  hostSample,
  vmSample,
  type HistoryRange,
} from '../api/metrics.js';
import { fetchVmStats } from '../api/vms.js';
import { EventsController } from '../controllers/events-controller.js';
import { formatBytes } from '../app/format.js';
import { sharedStyles } from './shared-styles.js';
import './qx-sparkline.js';

type Sample = HostMetricsSampleDto | VmMetricsSampleDto;

interface Chart {
  title: string;
  /** The plotted value of a sample, and the scale's top (undefined = the largest value). */
  value: (s: Sample) => number;
  max?: number;
  show: (v: number) => string;
}

const pct = (v: number) => `${Math.round(v)}%`;
const perSecond = (v: number) => `${formatBytes(v)}/s`;
const iops = (v: number) => `${v < 10 ? v.toFixed(1) : Math.round(v)} IOPS`;
const host = (s: Sample) => s as HostMetricsSampleDto;
const vm = (s: Sample) => s as VmMetricsSampleDto;

const HOST_CHARTS: Chart[] = [
  { title: 'CPU', value: (s) => s.cpuPercent, max: 100, show: pct },
  {
    title: 'Memory',
    value: (s) => (host(s).memoryTotalBytes ? (s.memoryUsedBytes / host(s).memoryTotalBytes) * 100 : 0),
    max: 100,
    show: pct,
  },
  { title: 'Network in', value: (s) => s.netRxBytesPerSecond, show: perSecond },
  { title: 'Network out', value: (s) => s.netTxBytesPerSecond, show: perSecond },
  {
    title: 'Disk read',
    value: (s) => host(s).diskReadBytesPerSecond,
    show: perSecond,
  },
  { title: 'Disk write', value: (s) => host(s).diskWriteBytesPerSecond, show: perSecond },
  { title: 'Disk IOPS', value: (s) => host(s).diskReadOpsPerSecond + host(s).diskWriteOpsPerSecond, show: iops },
];
const VM_CHARTS: Chart[] = [
  { title: 'CPU', value: (s) => s.cpuPercent, max: 100, show: pct },
  {
    title: 'Memory',
    value: (s) => (vm(s).memoryBytes ? (s.memoryUsedBytes / vm(s).memoryBytes) * 100 : 0),
    max: 100,
    show: pct,
  },
  { title: 'Disk read', value: (s) => vm(s).diskReadBytesPerSecond, show: perSecond },
  { title: 'Disk write', value: (s) => vm(s).diskWriteBytesPerSecond, show: perSecond },
  { title: 'Network in', value: (s) => s.netRxBytesPerSecond, show: perSecond },
  { title: 'Network out', value: (s) => s.netTxBytesPerSecond, show: perSecond },
];
/** Points kept per chart: the longest range's row count bounds memory anyway; live ones are capped. */
const MAX_POINTS = 1500;

export class QxMetricsHistory extends LitElement {
  static override properties = {
    kind: { type: String },
    targetId: { type: String, attribute: 'target-id' },
    label: { type: String },
    range: { state: true },
    samples: { state: true },
    error: { state: true },
  };
  declare kind: 'host' | 'vm';
  declare targetId: string;
  declare label: string;
  declare range: HistoryRange;
  declare samples: Sample[];
  declare error: string;
  private lastHost: HostMetricsDto | undefined;
  private lastVm: VmStatsDto | undefined;
  private abort: AbortController | undefined;

  static override styles = [
    sharedStyles,
    css`
      .ranges {
        display: flex;
        gap: 0.4rem;
        margin-bottom: 0.6rem;
      }
      .ranges button[aria-pressed='true'] {
        font-weight: bold;
        border-color: var(--qx-accent);
      }
      .charts {
        display: grid;
        grid-template-columns: repeat(auto-fill, minmax(14rem, 1fr));
        gap: 0.8rem;
      }
    `,
  ];

  constructor() {
    super();
    this.kind = 'host';
    this.targetId = '';
    this.label = '';
    this.range = '1h';
    this.samples = [];
    this.error = '';
    new EventsController(this, {
      'host-metrics': (d) => {
        const m = d as { hostId: string; metrics?: HostMetricsDto };
        if (this.kind !== 'host' || m?.hostId !== this.targetId || !m.metrics) return;
        this.addLive(hostSample(m.metrics, this.lastHost));
        this.lastHost = m.metrics;
      },
      'vm-metrics': (d) => {
        if (this.kind !== 'vm') return;
        const s = (d as { stats?: (VmStatsDto & { id: string })[] })?.stats?.find((x) => x.id === this.targetId);
        if (!s) return;
        this.addLive(vmSample(s, this.lastVm));
        this.lastVm = s;
      },
    });
  }

  override willUpdate(changed: Map<string, unknown>): void {
    if (changed.has('targetId') || changed.has('kind') || changed.has('range')) void this.load();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.abort?.abort();
  }

  private async load(): Promise<void> {
    if (!this.targetId) return;
    this.abort?.abort();
    const abort = (this.abort = new AbortController());
    try {
      const h =
        this.kind === 'host'
          ? await fetchHostHistory(this.targetId, this.range, abort.signal)
          : await fetchVmHistory(this.targetId, this.range, abort.signal);
      if (abort.signal.aborted) return;
      this.samples = h.samples;
      this.error = '';
      // The VM's counters now: the first live sample then already yields rates (a VM that is off has none).
      if (this.kind === 'vm' && !this.lastVm) {
        this.lastVm = await fetchVmStats(this.targetId, abort.signal).catch(() => undefined);
      }
    } catch (err) {
      if (!abort.signal.aborted) this.error = (err as Error).message;
    }
  }

  /** Live samples extend the 1 hour view only (longer ranges are averages of minutes or more). */
  private addLive(s: Sample | undefined): void {
    if (!s || this.range !== '1h') return;
    this.samples = [...this.samples, s].slice(-MAX_POINTS);
  }

  override render() {
    const charts = this.kind === 'host' ? HOST_CHARTS : VM_CHARTS;
    const last = this.samples.at(-1);
    return html`<div class="ranges" role="group" aria-label="Time range">
        ${HISTORY_RANGES.map(
          (r) =>
            html`<button
              aria-pressed=${this.range === r.range ? 'true' : 'false'}
              @click=${() => (this.range = r.range)}
            >
              ${r.label}
            </button>`,
        )}
      </div>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : ''}
      <div class="charts">
        ${charts.map((c) => {
          const values = this.samples.map(c.value);
          const max = c.max ?? Math.max(1, ...values);
          return html`<section class="card" aria-label=${c.title}>
            <div class="muted">${c.title}</div>
            <strong>${last ? c.show(c.value(last)) : '—'}</strong>
            <qx-sparkline
              .values=${values}
              .max=${max}
              label="${c.title} of ${this.label} over ${HISTORY_RANGES.find((r) => r.range === this.range)?.label}"
            ></qx-sparkline>
          </section>`;
        })}
      </div>`;
  }
}
customElements.define('qx-metrics-history', QxMetricsHistory);
