// Host detail: facts, live CPU/memory charts (host-metrics events), resource history, its VMs, maintenance,
// removal, and the host shell for admins (the terminal chunk loads when the shell opens).
import { LitElement, html, nothing } from 'lit';
import type { HostDto, HostMetricsDto } from '@dto/hosts.js';
import { agentVersionNotice } from './agent-version-notice.js';
import type { UserDto } from '@dto/auth.js';
import type { VmDto } from '@dto/vms.js';
import { createShellTicket, fetchHost, removeHost, updateHost } from '../../api/hosts.js';
import { fetchVmPage, socketUrl, vmCpuCount } from '../../api/vms.js';
import { ResourceController } from '../../controllers/resource-controller.js';
import { ActionController } from '../../controllers/action-controller.js';
import { EventsController } from '../../controllers/events-controller.js';
import { navigate } from '../../app/routes.js';
import { formatBytes, formatTime } from '../../app/format.js';
import { sharedStyles } from '../../components/shared-styles.js';
import { errorNotice } from '../../components/status-views.js';
import '../../components/qx-state-badge.js';
import '../../components/qx-sparkline.js';
import '../../components/qx-metrics-history.js';
import './qx-host-evacuation.js';
import './qx-host-system-update.js';

const HISTORY = 60;
/** VMs listed on a host page (the most the API sends at once; a host holds far fewer). */
const HOST_VMS_SHOWN = 1000;

export class QxHostDetail extends LitElement {
  static override properties = { user: { attribute: false }, params: { attribute: false }, shell: { state: true } };
  declare user: UserDto | undefined;
  declare params: { id: string };
  declare shell: boolean;
  private action = new ActionController(this);
  private host = new ResourceController<HostDto>(this, (s) => fetchHost(this.params.id, s));
  // This host's VMs only, filtered by the server (not every VM of the vDC).
  private vms = new ResourceController<VmDto[]>(
    this,
    async (s) => (await fetchVmPage({ hostId: this.params.id, limit: String(HOST_VMS_SHOWN) }, s)).items,
  );
  private cpu: number[] = [];
  private mem: number[] = [];

  static override styles = sharedStyles;

  constructor() {
    super();
    this.shell = false;
    new EventsController(this, {
      host: (d) => {
        if ((d as { id?: string })?.id === this.params.id) void this.host.reload();
      },
      'host-metrics': (d) => {
        const m = d as { hostId: string; metrics: HostMetricsDto };
        if (m?.hostId !== this.params.id || !m.metrics) return;
        this.pushMetrics(m.metrics);
        this.requestUpdate();
      },
      vm: (d) => {
        if ((d as { hostId?: string })?.hostId === this.params.id) void this.vms.reload();
      },
    });
  }

  private pushMetrics(m: HostMetricsDto): void {
    this.cpu = [...this.cpu, m.cpuPercent].slice(-HISTORY);
    this.mem = [...this.mem, m.memoryTotalBytes ? (m.memoryUsedBytes / m.memoryTotalBytes) * 100 : 0].slice(-HISTORY);
  }

  override willUpdate(): void {
    const m = this.host.value?.metrics;
    if (m && this.cpu.length === 0) this.pushMetrics(m);
  }

  private async run(fn: () => Promise<unknown>): Promise<void> {
    await this.action.run(fn);
    void this.host.reload();
  }

  private async openShell(): Promise<void> {
    await import('../../components/console/qx-serial-console.js');
    this.shell = true;
  }

  override render() {
    return this.host.render({ complete: (h) => this.renderHost(h) });
  }

  /** Entering maintenance: the operator asked to move the stopped VMs too. */
  private moveStopped(): boolean {
    return this.renderRoot.querySelector<HTMLInputElement>('#evacuate-stopped')?.checked ?? false;
  }

  private renderHost(h: HostDto) {
    const admin = this.user?.role === 'admin';
    const m = h.metrics;
    const vms = this.vms.value ?? [];
    return html`<p><a href="#/hosts">← Hosts & clusters</a></p>
      <h1>
        ${h.name}
        <qx-state-badge .state=${h.status}></qx-state-badge
        >${h.maintenance ? html` <qx-state-badge state="maintenance"></qx-state-badge>` : nothing}
      </h1>
      ${errorNotice(h.status !== 'online' ? h.statusMessage : '')}
      <qx-host-evacuation .host=${h}></qx-host-evacuation>
      ${
        admin
          ? html`<div class="toolbar">
              <button
                @click=${() =>
                  this.run(() =>
                    updateHost(h.id, {
                      maintenance: !h.maintenance,
                      ...(h.maintenance ? {} : { stoppedVms: this.moveStopped() ? 'move' : 'leave' }),
                    }),
                  )}
              >
                ${h.maintenance ? 'Exit maintenance mode' : 'Enter maintenance mode'}
              </button>
              ${
                h.maintenance
                  ? nothing
                  : html`<label><input type="checkbox" id="evacuate-stopped" /> also move its stopped VMs</label>`
              }
              <button ?disabled=${h.status !== 'online'} @click=${this.openShell}>Open host shell</button>
              <span class="spacer"></span>
              ${
                h.local
                  ? nothing
                  : html`<button
                      class="danger"
                      @click=${() =>
                        confirm(`Remove host ${h.name}?`) &&
                        this.run(async () => {
                          const removed = await removeHost(h.id);
                          if (!removed.agentReleased) alert(removed.message); // the agent still trusts this vDC
                          navigate('/hosts');
                        })}
                    >
                      Remove host
                    </button>`
              }
            </div>`
          : nothing
      }
      ${this.action.errorNotice()}
      <div class="grid">
        <section class="card" aria-label="CPU">
          <div class="muted">CPU</div>
          <strong>${m ? `${Math.round(m.cpuPercent)}%` : '—'}</strong> of ${h.cpuCount} CPUs
          <qx-sparkline .values=${this.cpu} label="CPU use of ${h.name}"></qx-sparkline>
        </section>
        <section class="card" aria-label="Memory">
          <div class="muted">Memory</div>
          <strong>${m ? formatBytes(m.memoryUsedBytes) : formatBytes(h.memoryTotalBytes - h.memoryFreeBytes)}</strong>
          of ${formatBytes(h.memoryTotalBytes)}
          <qx-sparkline .values=${this.mem} label="Memory use of ${h.name}"></qx-sparkline>
        </section>
      </div>
      <h2>Resource history</h2>
      <qx-metrics-history kind="host" target-id=${h.id} label=${h.name}></qx-metrics-history>
      <qx-host-system-update .host=${h} ?admin=${admin}></qx-host-system-update>
      <h2>Details</h2>
      <div class="card">
        <dl class="props">
          <dt>Address</dt>
          <dd class="mono">${h.address}</dd>
          <dt>Hostname</dt>
          <dd>${h.hostname}</dd>
          <dt>IP addresses</dt>
          <dd class="mono">${h.addresses.join(', ')}</dd>
          <dt>CPU</dt>
          <dd>${h.cpuModel} (${h.cpuCount})</dd>
          <dt>Virtualization</dt>
          <dd>${h.domainType === 'kvm' ? 'KVM' : 'QEMU (TCG, no hardware acceleration)'}</dd>
          <dt>Versions</dt>
          <dd>libvirt ${h.libvirtVersion}, QEMU ${h.qemuVersion}, agent ${h.agentVersion} ${agentVersionNotice(h)}</dd>
          <dt>OS</dt>
          <dd>${h.osRelease} · ${h.kernel}</dd>
          <dt>Fingerprint</dt>
          <dd class="mono" style="word-break:break-all">${h.fingerprint}</dd>
          <dt>Last seen</dt>
          <dd>${formatTime(h.lastSeenAt ?? undefined)}</dd>
        </dl>
      </div>
      <h2>Virtual machines on ${h.name}</h2>
      <table>
        <thead>
          <tr>
            <th>Name</th>
            <th>State</th>
            <th class="num">vCPUs</th>
            <th class="num">Memory</th>
            <th>IP addresses</th>
          </tr>
        </thead>
        <tbody>
          ${vms.map(
            (v) =>
              html`<tr>
                <td><a href="#/vms/${encodeURIComponent(v.id)}">${v.name}</a></td>
                <td><qx-state-badge .state=${v.state}></qx-state-badge></td>
                <td class="num">${vmCpuCount(v)}</td>
                <td class="num">${v.memoryMib} MiB</td>
                <td class="mono">${v.ipAddresses.join(', ') || '—'}</td>
              </tr>`,
          )}
        </tbody>
      </table>
      ${this.vms.empty('No VMs on this host.')}
      ${
        this.shell
          ? html`<h2>Host shell</h2>
              <qx-serial-console
                .label=${`Shell on ${h.name}`}
                .connectUrl=${async () => socketUrl((await createShellTicket(h.id)).url)}
              ></qx-serial-console>`
          : nothing
      }`;
  }
}
customElements.define('qx-host-detail', QxHostDetail);
