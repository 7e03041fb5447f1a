// VM detail: summary + power actions, console (lazy), snapshots, disks, NICs, settings, tasks.
import { LitElement, css, html, nothing } from 'lit';
import type { HostDto } from '@dto/hosts.js';
import type { KeptDiskDto, VmDto } from '@dto/vms.js';
import type { UserDto } from '@dto/auth.js';
import { actOnVm, deleteVm, fetchVm, keptDisksOf, vmCpuCount, vmIsOn, type VmAction } from '../../api/vms.js';
import { canMutate } from '../../api/session.js';
import { fetchHost } from '../../api/hosts.js';
import { taskTargetLabel } from '../../api/tasks.js';
import { ResourceController } from '../../controllers/resource-controller.js';
import { EventsController } from '../../controllers/events-controller.js';
import { ActionController } from '../../controllers/action-controller.js';
import { TaskController } from '../../controllers/task-controller.js';
import { RecentTasksController } from '../../controllers/recent-tasks-controller.js';
import { navigate } from '../../app/routes.js';
import { formatTime } from '../../app/format.js';
import { sharedStyles } from '../../components/shared-styles.js';
import { emptyView } from '../../components/status-views.js';
import '../../components/qx-state-badge.js';
import '../../components/qx-metrics-history.js';
import './qx-vm-snapshots.js';
import './qx-vm-backups.js';
import './qx-vm-settings.js';
import './qx-vm-more-actions.js';
import './qx-vm-migrate-dialog.js';
import { hardwareSummary } from './vm-hardware-fields.js';
import { autostartLabel } from './vm-devices.js';

const TABS = ['summary', 'console', 'snapshots', 'backups', 'disks', 'nics', 'settings', 'tasks'] as const;
type Tab = (typeof TABS)[number];
const TAB_LABEL: Record<Tab, string> = {
  summary: 'Summary',
  console: 'Console',
  snapshots: 'Snapshots',
  backups: 'Backups',
  disks: 'Disks',
  nics: 'NICs',
  settings: 'Settings',
  tasks: 'Tasks',
};

export class QxVmDetail extends LitElement {
  static override properties = {
    user: { attribute: false },
    params: { attribute: false },
    tab: { state: true },
    consoleReady: { state: true },
    deleted: { state: true },
  };
  declare user: UserDto | undefined;
  declare params: { id: string };
  declare tab: Tab;
  declare consoleReady: boolean;
  /** Set when a delete kept disks: the page then shows which and why instead of the VM. */
  declare deleted: { name: string; kept: KeptDiskDto[] } | undefined;
  private vm = new ResourceController<VmDto>(this, (s) => fetchVm(this.params.id, s));
  private host = new ResourceController<HostDto | undefined>(this, async (s) => {
    const vm = this.vm.value ?? (await fetchVm(this.params.id, s));
    return fetchHost(vm.hostId, s).catch(() => undefined);
  });
  private action = new ActionController(this);
  private task = new TaskController(this);
  private recent = new RecentTasksController(this);

  constructor() {
    super();
    this.tab = 'summary';
    this.consoleReady = false;
    new EventsController(this, {
      vm: (d) => {
        const v = d as VmDto & { removed?: boolean };
        if (v?.id !== this.params.id) return;
        // Our own delete decides where to go once its task says which disks it kept.
        if (v.removed) {
          if (this.action.running !== 'delete') navigate('/vms');
        } else if (this.vm.value) this.vm.set({ ...this.vm.value, ...v });
      },
      host: () => void this.host.reload(),
    });
  }

  static override styles = [
    sharedStyles,
    css`
      .title {
        display: flex;
        align-items: center;
        gap: 0.8rem;
        margin-bottom: 0.6rem;
      }
      .title h1 {
        margin: 0;
      }
    `,
  ];

  private async selectTab(t: Tab): Promise<void> {
    this.tab = t;
    if (t === 'console' && !this.consoleReady) {
      await import('./qx-vm-console-area.js');
      this.consoleReady = true;
    }
  }

  private async act(action: VmAction | 'delete'): Promise<void> {
    const vm = this.vm.value;
    if (!vm) return;
    if (action === 'delete' && !confirm(`Delete VM ${vm.name} and its disk volumes?`)) return;
    await this.action.run(async () => {
      if (action !== 'delete') {
        await this.task.follow(await actOnVm(vm.id, action));
        return;
      }
      const kept = keptDisksOf(await this.task.follow(await deleteVm(vm.id, true)));
      if (kept.length) this.deleted = { name: vm.name, kept };
      else navigate('/vms');
    }, action);
    void this.vm.reload();
  }

  private onTabKey(e: KeyboardEvent): void {
    const i = TABS.indexOf(this.tab);
    const next =
      e.key === 'ArrowRight'
        ? TABS[(i + 1) % TABS.length]
        : e.key === 'ArrowLeft'
          ? TABS[(i + TABS.length - 1) % TABS.length]
          : undefined;
    if (!next) return;
    e.preventDefault();
    void this.selectTab(next);
    void this.updateComplete.then(() => this.renderRoot.querySelector<HTMLButtonElement>(`#tab-${next}`)?.focus());
  }

  override render() {
    if (this.deleted) return this.renderDeleted(this.deleted);
    return this.vm.render({ complete: (vm) => this.renderVm(vm) });
  }

  private renderVm(vm: VmDto) {
    const mutate = canMutate(this.user);
    const on = vmIsOn(vm.state);
    return html`<p><a href="#/vms">← Virtual machines</a></p>
      <div class="title">
        <h1>${vm.name}</h1>
        <qx-state-badge .state=${vm.state}></qx-state-badge>
      </div>
      ${
        mutate
          ? html`<div class="toolbar" role="toolbar" aria-label="Power actions">
              <button class="primary" ?disabled=${on || this.action.busy} @click=${() => this.act('start')}>
                Start
              </button>
              <button ?disabled=${!on || this.action.busy} @click=${() => this.act('shutdown')}>Shut down</button>
              <button ?disabled=${!on || this.action.busy} @click=${() => this.act('reboot')}>Reboot</button>
              <button class="danger" ?disabled=${!on || this.action.busy} @click=${() => this.act('force-off')}>
                Power off
              </button>
              <qx-vm-more-actions .vm=${vm}></qx-vm-more-actions>
              <qx-vm-migrate-dialog .vm=${vm}></qx-vm-migrate-dialog>
              <span class="spacer"></span>
              <button class="danger" ?disabled=${on || this.action.busy} @click=${() => this.act('delete')}>
                Delete
              </button>
            </div>`
          : nothing
      }
      ${this.action.errorNotice()}
      <div class="tabs" role="tablist" aria-label="VM sections" @keydown=${this.onTabKey}>
        ${TABS.filter((t) => (t !== 'settings' && t !== 'console') || mutate).map(
          (t) =>
            html`<button
              role="tab"
              id="tab-${t}"
              aria-selected=${this.tab === t}
              tabindex=${this.tab === t ? 0 : -1}
              aria-controls="panel"
              @click=${() => this.selectTab(t)}
            >
              ${TAB_LABEL[t]}
            </button>`,
        )}
      </div>
      <section id="panel" role="tabpanel" aria-labelledby="tab-${this.tab}">${this.renderTab(vm)}</section>`;
  }

  private renderDeleted(d: { name: string; kept: KeptDiskDto[] }) {
    return html`<p><a href="#/vms">← Virtual machines</a></p>
      <div class="notice info" role="status" data-testid="kept-disks">
        <p>VM ${d.name} was deleted. ${d.kept.length === 1 ? 'One disk was' : `${d.kept.length} disks were`} kept:</p>
        <ul>
          ${d.kept.map((k) => html`<li><span class="mono">${k.pool ? `${k.pool}/${k.volume}` : k.path || k.volume}</span>: ${k.reason}</li>`)}
        </ul>
      </div>`;
  }

  private renderTab(vm: VmDto) {
    switch (this.tab) {
      case 'summary':
        return html`<div class="card">
            <dl class="props">
              <dt>State</dt>
              <dd><qx-state-badge .state=${vm.state}></qx-state-badge></dd>
              <dt>Host</dt>
              <dd>
                <a href="#/hosts/${encodeURIComponent(vm.hostId)}">${vm.hostName}</a
                >${vm.hostOnline ? '' : html` <span class="error">(offline: state is the last known one)</span>`}
              </dd>
              <dt>vCPUs</dt>
              <dd>${vmCpuCount(vm)} (${vm.sockets} socket × ${vm.cores} core)</dd>
              <dt>Memory</dt>
              <dd>${vm.memoryMib} MiB</dd>
              <dt>CPU model</dt>
              <dd data-testid="vm-cpu">${hardwareSummary(vm).cpu}</dd>
              <dt>Firmware</dt>
              <dd data-testid="vm-firmware">${hardwareSummary(vm).firmware}</dd>
              <dt>IP addresses</dt>
              <dd class="mono" data-testid="vm-ips">${vm.ipAddresses.join(', ') || '—'}</dd>
              <dt>Guest agent</dt>
              <dd data-testid="vm-guest-agent">${vm.guestAgentRunning ? 'running' : 'not running'}</dd>
              <dt>Autostart</dt>
              <dd data-testid="vm-autostart">${autostartLabel(vm)}</dd>
              <dt>Disks</dt>
              <dd>${vm.disks.length} disk(s), ${vm.cdroms.length} CD-ROM(s)</dd>
              <dt>Boot order</dt>
              <dd>${vm.bootOrder.join(', ') || '—'}</dd>
              <dt>State since</dt>
              <dd>${formatTime(vm.stateChangedAt ?? undefined)}</dd>
              ${
                vm.description
                  ? html`<dt>Description</dt>
                      <dd>${vm.description}</dd>`
                  : nothing
              }
            </dl>
          </div>
          <h2>Resources</h2>
          <qx-metrics-history kind="vm" target-id=${vm.id} label=${vm.name}></qx-metrics-history>`;
      case 'console':
        return this.renderConsole(vm);
      case 'snapshots':
        return html`<qx-vm-snapshots .vmId=${vm.id} .canMutate=${canMutate(this.user)}></qx-vm-snapshots>`;
      case 'disks':
        return html`<table>
            <thead>
              <tr>
                <th>Device</th>
                <th>Pool</th>
                <th>Volume</th>
                <th>Bus</th>
                <th>Mode</th>
              </tr>
            </thead>
            <tbody>
              ${vm.disks.map(
                (d) =>
                  html`<tr>
                    <td>disk</td>
                    <td>${d.pool}</td>
                    <td>${d.volume}</td>
                    <td>${d.bus}</td>
                    <td>${d.readonly ? 'read-only' : 'read-write'}</td>
                  </tr>`,
              )}
              ${vm.cdroms.map(
                (d) =>
                  html`<tr>
                    <td>CD-ROM</td>
                    <td>${d.pool || '—'}</td>
                    <td>${d.volume || 'empty'}</td>
                    <td>${d.bus}</td>
                    <td>read-only</td>
                  </tr>`,
              )}
            </tbody>
          </table>
          ${vm.disks.length + vm.cdroms.length === 0 ? emptyView('No disks.') : nothing}`;
      case 'nics':
        return html`<table>
            <thead>
              <tr>
                <th>MAC</th>
                <th>Attached to</th>
                <th>Model</th>
              </tr>
            </thead>
            <tbody>
              ${vm.nics.map(
                (n) =>
                  html`<tr>
                    <td class="mono">${n.mac}</td>
                    <td>${n.kind} ${n.source}</td>
                    <td>${n.model}</td>
                  </tr>`,
              )}
            </tbody>
          </table>
          ${vm.nics.length === 0 ? emptyView('No network interfaces.') : nothing}
          <p>IP addresses: <span class="mono">${vm.ipAddresses.join(', ') || '— (none reported yet)'}</span></p>`;
      case 'backups':
        return html`<qx-vm-backups
          .vmId=${vm.id}
          .hostId=${vm.hostId}
          .vmName=${vm.name}
          .vmState=${vm.state}
          .canMutate=${canMutate(this.user)}
        ></qx-vm-backups>`;
      case 'settings':
        return html`<qx-vm-settings .vm=${vm} @qx-saved=${() => this.vm.reload()}></qx-vm-settings>`;
      case 'tasks': {
        const mine = this.recent.tasks.filter((t) => t.target?.id === vm.id || taskTargetLabel(t) === vm.name);
        return html`<table>
            <thead>
              <tr>
                <th>Task</th>
                <th>Status</th>
                <th>Started</th>
                <th>Message</th>
              </tr>
            </thead>
            <tbody>
              ${mine.map(
                (t) =>
                  html`<tr>
                    <td>${t.kind}</td>
                    <td><qx-state-badge .state=${t.status}></qx-state-badge></td>
                    <td>${formatTime(t.createdAt)}</td>
                    <td class=${t.status === 'failed' ? 'error' : ''}>${t.error ?? t.phase}</td>
                  </tr>`,
              )}
            </tbody>
          </table>
          ${mine.length === 0 ? emptyView('No recent tasks for this VM.') : nothing}`;
      }
    }
  }

  private renderConsole(vm: VmDto) {
    if (!this.consoleReady) return html`<p class="muted">Loading console…</p>`;
    const host = this.host.value;
    const offline =
      (host && host.status !== 'online') || !vm.hostOnline
        ? `The host ${host?.name ?? vm.hostName} is offline: the console is unavailable until it is back.`
        : '';
    return html`<qx-vm-console-area .vm=${vm} .offline=${offline} popout></qx-vm-console-area>`;
  }
}
customElements.define('qx-vm-detail', QxVmDetail);
