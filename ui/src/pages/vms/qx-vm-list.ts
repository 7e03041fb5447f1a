// VM list: one page at a time, searched, filtered by state and sorted by the server (a 10,000-VM
// vDC loads 100 rows, not every VM); live state and IPs on the page, bulk start/stop.
import { LitElement, html, nothing } from 'lit';
import type { UserDto } from '@dto/auth.js';
import { VM_STATES } from '@dto/enums.js';
import type { VmDto, VmPageDto, VmPageSort } from '@dto/vms.js';
import { fetchVmPage, forceOffVm, shutdownVm, startVm, vmCpuCount, vmIsOn } from '../../api/vms.js';
import { autostartLabel } from './vm-devices.js';
import { canMutate } from '../../api/session.js';
import { PagedListController } from '../../controllers/paged-list-controller.js';
import { EventsController } from '../../controllers/events-controller.js';
import { ActionController } from '../../controllers/action-controller.js';
import { TaskController } from '../../controllers/task-controller.js';
import { sharedStyles } from '../../components/shared-styles.js';
import { messageOf } from '../../components/status-views.js';
import '../../components/qx-state-badge.js';
import './qx-vm-migrate-dialog.js';

/** VMs added or removed (live events) refetch the page at most this often. */
const REFRESH_DELAY_MS = 1000;

export class QxVmList extends LitElement {
  static override properties = {
    user: { attribute: false },
    selected: { state: true },
  };
  declare user: UserDto | undefined;
  declare selected: Set<string>;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private vms = new PagedListController<VmPageDto, VmPageSort>(this, {
    sort: 'name',
    noun: 'VMs',
    listName: 'VM list',
    fetch: ({ filter, ...page }, signal) => fetchVmPage({ ...page, state: filter }, signal),
    onFirstPage: () => (this.selected = new Set()),
  });
  private action = new ActionController(this);
  private task = new TaskController(this);

  static override styles = sharedStyles;

  constructor() {
    super();
    this.selected = new Set();
    new EventsController(this, { vm: (d) => this.applyVmEvent(d as VmDto & { removed?: boolean }) });
  }

  /**
   * SSE "vm" carries the whole VmDto (or {id, removed}): a VM on the page is patched in place; any
   * other (added, removed, changed elsewhere) refetches the page, debounced: the server decides
   * its rows and total.
   */
  private applyVmEvent(d: VmDto & { removed?: boolean }): void {
    const page = this.vms.page.value;
    if (!page || !d?.id) return;
    if (!d.removed && page.items.some((v) => v.id === d.id)) {
      this.vms.page.set({ ...page, items: page.items.map((v) => (v.id === d.id ? { ...v, ...d } : v)) });
      // A new state may move the VM off this page (state filter or sort): the server re-sorts.
      if (!this.vms.filter && this.vms.sort !== 'state') return;
    }
    this.refreshTimer ??= setTimeout(() => {
      this.refreshTimer = undefined;
      void this.vms.page.reload();
    }, REFRESH_DELAY_MS);
  }

  /** Runs `action` on every selected VM; the error names each VM that failed and why. */
  private async bulk(action: 'start' | 'shutdown' | 'force-off'): Promise<void> {
    const fn = action === 'start' ? startVm : action === 'shutdown' ? shutdownVm : forceOffVm;
    const ids = [...this.selected];
    await this.action.run(async () => {
      const results = await Promise.allSettled(ids.map(async (id) => this.task.follow(await fn(id))));
      const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`${ids[i]}: ${messageOf(r.reason)}`] : []));
      if (failed.length) throw new Error(failed.join('; '));
    }, action);
    this.selected = new Set();
    void this.vms.page.reload();
  }

  /** Console in one click: the pop-out console window of a running VM, in a new window. */
  private consoleLink(v: VmDto) {
    if (!vmIsOn(v.state) || !v.hostOnline) return nothing;
    return html`<a
      href="#/vms/${encodeURIComponent(v.id)}/console"
      target="_blank"
      rel="noopener"
      aria-label="Open the console of ${v.name}"
      >Console</a
    >`;
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
  }

  override render() {
    const list = this.vms.page.value?.items ?? [];
    const mutate = canMutate(this.user);
    return html`<h1>Virtual machines</h1>
      <div class="toolbar">
        <label class="sr-only" for="q">Search</label>
        <input
          id="q"
          type="search"
          placeholder="Search name, host, IP"
          .value=${this.vms.query}
          @input=${(e: InputEvent) => this.vms.search((e.target as HTMLInputElement).value)}
        />
        <label class="sr-only" for="state">State</label>
        <select id="state" @change=${(e: Event) => this.vms.setFilter((e.target as HTMLSelectElement).value)}>
          <option value="">All states</option>
          ${VM_STATES.map((s) => html`<option value=${s}>${s}</option>`)}
        </select>
        <span class="spacer"></span>
        ${
          mutate
            ? html`<button ?disabled=${!this.selected.size || this.action.busy} @click=${() => this.bulk('start')}>
                  Start selected
                </button>
                <button ?disabled=${!this.selected.size || this.action.busy} @click=${() => this.bulk('shutdown')}>
                  Shut down selected
                </button>
                <button ?disabled=${!this.selected.size || this.action.busy} @click=${() => this.bulk('force-off')}>
                  Power off selected
                </button>
                <a
                  class="button primary"
                  href="#/vms/new"
                  style="background:var(--qx-accent);color:var(--qx-accent-text)"
                  >New VM</a
                >`
            : nothing
        }
      </div>
      ${this.action.errorNotice()} ${this.vms.page.errorNotice()} ${this.vms.pager('vm-count')}
      <table>
        <thead>
          <tr>
            ${
              mutate
                ? html`<th>
                    <input
                      type="checkbox"
                      aria-label="Select all on this page"
                      .checked=${list.length > 0 && list.every((v) => this.selected.has(v.id))}
                      @change=${(e: Event) => (this.selected = new Set((e.target as HTMLInputElement).checked ? list.map((v) => v.id) : []))}
                    />
                  </th>`
                : nothing
            }
            ${this.vms.sortHeader('Name', 'name')}${this.vms.sortHeader('State', 'state')}${this.vms.sortHeader('Host', 'host')}
            <th class="num">vCPUs</th>
            <th class="num">Memory</th>
            <th>IP addresses</th>
            <th>Autostart</th>
            ${mutate ? html`<th><span class="sr-only">Console</span></th>` : nothing}
          </tr>
        </thead>
        <tbody>
          ${list.map(
            (v) =>
              html`<tr data-vm=${v.name}>
                ${
                  mutate
                    ? html`<td>
                        <input
                          type="checkbox"
                          aria-label="Select ${v.name}"
                          .checked=${this.selected.has(v.id)}
                          @change=${(e: Event) => {
                            const s = new Set(this.selected);
                            if ((e.target as HTMLInputElement).checked) s.add(v.id);
                            else s.delete(v.id);
                            this.selected = s;
                          }}
                        />
                      </td>`
                    : nothing
                }
                <td><a href="#/vms/${encodeURIComponent(v.id)}">${v.name}</a></td>
                <td><qx-state-badge .state=${v.state}></qx-state-badge></td>
                <td>${v.hostName}${v.hostOnline ? '' : html` <span class="error">(host offline)</span>`}</td>
                <td class="num">${vmCpuCount(v)}</td>
                <td class="num">${v.memoryMib} MiB</td>
                <td class="mono">${v.ipAddresses.join(', ') || html`<span class="muted">—</span>`}</td>
                <td data-testid="vm-autostart">${autostartLabel(v)}</td>
                ${
                  mutate
                    ? html`<td>${this.consoleLink(v)} <qx-vm-migrate-dialog .vm=${v}></qx-vm-migrate-dialog></td>`
                    : nothing
                }
              </tr>`,
          )}
        </tbody>
      </table>
      ${this.vms.page.empty(this.vms.narrowed ? 'No VM matches the filter.' : 'No virtual machines yet.', list)}`;
  }
}
customElements.define('qx-vm-list', QxVmList);
