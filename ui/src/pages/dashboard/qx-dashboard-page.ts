// Dashboard: hosts up/down, VMs by state, CPU / memory / storage use with small live charts, and
// each host's resource history (1 hour / 1 day / 1 year; the first few hosts, the rest on their pages).
import { LitElement, css, html } from 'lit';
import type { HostDto, HostMetricsDto } from '@dto/hosts.js';
import type { PoolDto } from '@dto/storage.js';
import type { VmPageDto } from '@dto/vms.js';
import { fetchHosts } from '../../api/hosts.js';
import { fetchVmPage } from '../../api/vms.js';
import { fetchPools } from '../../api/storage.js';
import { aggregateUsage, type Usage } from './usage.js';
import { ResourceController } from '../../controllers/resource-controller.js';
import { EventsController } from '../../controllers/events-controller.js';
import { formatBytes } from '../../app/format.js';
import { sharedStyles } from '../../components/shared-styles.js';
import '../../components/qx-sparkline.js';
import '../../components/qx-metrics-history.js';

const HISTORY = 60;
/** Hosts whose history charts the dashboard shows (each loads its own series). */
const HISTORY_HOSTS = 4;
/** VM events refetch the VM counts at most this often. */
const VM_EVENTS_DELAY_MS = 1000;

export class QxDashboardPage extends LitElement {
  private hosts = new ResourceController<HostDto[]>(this, fetchHosts);
  // The VM total and counts by state, counted by the server: one row travels, not every VM.
  private vms = new ResourceController<VmPageDto>(this, (s) => fetchVmPage({ limit: '1' }, s));
  private vmsTimer: ReturnType<typeof setTimeout> | undefined;
  private pools = new ResourceController<PoolDto[]>(this, fetchPools);
  private history: Usage[] = [];
  private timer?: ReturnType<typeof setInterval>;

  constructor() {
    super();
    new EventsController(this, {
      host: () => void this.hosts.reload(),
      'host-metrics': (d) => this.applyMetrics(d as { hostId: string; metrics: HostMetricsDto }),
      pool: () => void this.pools.reload(),
      hello: () => this.reloadAll(),
      vm: () => {
        // A burst of VM events (a host reconnecting, a bulk start) refetches the counts once.
        this.vmsTimer ??= setTimeout(() => {
          this.vmsTimer = undefined;
          void this.vms.reload();
        }, VM_EVENTS_DELAY_MS);
      },
    });
  }

  static override styles = [
    sharedStyles,
    css`
      .tiles {
        display: grid;
        grid-template-columns: repeat(auto-fit, minmax(230px, 1fr));
        gap: 1rem;
        margin-bottom: 1rem;
      }
      .big {
        font-size: 2rem;
        font-weight: 600;
        line-height: 1.1;
      }
      .label {
        color: var(--qx-text-muted);
        font-size: 0.85rem;
        text-transform: uppercase;
        letter-spacing: 0.04em;
      }
      .states {
        display: flex;
        gap: 0.8rem;
        flex-wrap: wrap;
        margin-top: 0.3rem;
        font-size: 0.9rem;
      }
      .ok {
        color: var(--qx-ok);
      }
      .bad {
        color: var(--qx-danger);
      }
      qx-sparkline {
        margin-top: 0.5rem;
      }
    `,
  ];

  /** Live metrics update the host in place (no refetch). */
  private applyMetrics(d: { hostId: string; metrics: HostMetricsDto }): void {
    const hosts = this.hosts.value;
    if (!hosts || !d?.hostId) return;
    this.hosts.set(hosts.map((h) => (h.id === d.hostId ? { ...h, metrics: d.metrics } : h)));
  }

  private reloadAll(): void {
    void this.hosts.reload();
    void this.vms.reload();
    void this.pools.reload();
  }

  override connectedCallback(): void {
    super.connectedCallback();
    // Events keep it live; a slow full refresh covers anything missed while the stream reconnected.
    this.timer = setInterval(() => this.reloadAll(), 10000);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    clearInterval(this.timer);
    clearTimeout(this.vmsTimer);
    this.vmsTimer = undefined;
  }

  override willUpdate(): void {
    if (!this.hosts.value) return;
    const u = aggregateUsage(this.hosts.value, this.pools.value ?? []);
    const last = this.history.at(-1);
    if (!last || JSON.stringify(last) !== JSON.stringify(u) || this.history.length < 2) {
      this.history = [...this.history, u].slice(-HISTORY);
    }
  }

  override render() {
    const hosts = this.hosts.value ?? [];
    const vmTotal = this.vms.value?.total ?? 0;
    const up = hosts.filter((h) => h.status === 'online').length;
    const down = hosts.filter((h) => h.status === 'offline').length;
    const connecting = hosts.length - up - down;
    const byState = Object.entries(this.vms.value?.stateCounts ?? {});
    const u = this.history.at(-1) ?? aggregateUsage([], []);
    const pct = (a: number, b: number) => (b ? (a / b) * 100 : 0);
    return html`<h1>Dashboard</h1>
      ${this.hosts.status === 'error' ? this.hosts.errorNotice() : this.vms.errorNotice()}
      <div class="tiles">
        <section class="card" aria-label="Hosts">
          <div class="label">Hosts</div>
          <div class="big" data-testid="hosts-up">${up} / ${hosts.length}</div>
          <div class="states">
            <span class="ok">${up} up</span
            ><span class=${down ? 'bad' : 'muted'}>${down} down</span
            >${connecting ? html`<span class="muted">${connecting} connecting</span>` : ''}
          </div>
        </section>
        <section class="card" aria-label="Virtual machines">
          <div class="label">Virtual machines</div>
          <div class="big" data-testid="vms-total">${vmTotal}</div>
          <div class="states">
            ${byState.map(([s, n]) => html`<span>${n} ${s}</span>`)}${vmTotal === 0 ? html`<span class="muted">none yet</span>` : ''}
          </div>
        </section>
      </div>
      <div class="tiles">
        <section class="card" aria-label="CPU">
          <div class="label">CPU</div>
          <div class="big">${Math.round(u.cpu)}%</div>
          <qx-sparkline .values=${this.history.map((h) => h.cpu)} label="CPU use over time"></qx-sparkline>
        </section>
        <section class="card" aria-label="Memory">
          <div class="label">Memory</div>
          <div class="big">${Math.round(pct(u.memUsed, u.memTotal))}%</div>
          <div class="muted">${formatBytes(u.memUsed)} of ${formatBytes(u.memTotal)}</div>
          <qx-sparkline
            .values=${this.history.map((h) => pct(h.memUsed, h.memTotal))}
            label="Memory use over time"
          ></qx-sparkline>
        </section>
        <section class="card" aria-label="Storage">
          <div class="label">Storage</div>
          ${
            u.stTotal
              ? html`<div class="big">${Math.round(pct(u.stUsed, u.stTotal))}%</div>
                  <div class="muted">${formatBytes(u.stUsed)} of ${formatBytes(u.stTotal)}</div>`
              : html`<div class="big">—</div>
                  <div class="muted">No active storage pool: <a href="#/storage">create one</a></div>`
          }
          <qx-sparkline
            .values=${this.history.map((h) => pct(h.stUsed, h.stTotal))}
            label="Storage use over time"
          ></qx-sparkline>
        </section>
      </div>
      ${hosts.slice(0, HISTORY_HOSTS).map(
        (h) =>
          html`<h2><a href="#/hosts/${encodeURIComponent(h.id)}">${h.name}</a></h2>
            <qx-metrics-history kind="host" target-id=${h.id} label=${h.name}></qx-metrics-history>`,
      )}`;
  }
}
customElements.define('qx-dashboard-page', QxDashboardPage);
