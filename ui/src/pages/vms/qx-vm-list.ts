// VM list: search, state filter, sortable columns, live state and IPs, bulk start/stop.
import { LitElement, html, nothing } from 'lit';
import type { UserDto } from '@dto/auth.js';
import type { VmDto } from '@dto/vms.js';
import { fetchVms, forceOffVm, shutdownVm, startVm, vmCpuCount, vmIsOn } from '../../api/vms.js';
import { selectVms, type SortKey } from './vm-select.js';
import { autostartLabel } from './vm-devices.js';
import { canMutate } from '../../api/session.js';
import { ResourceController } from '../../controllers/resource-controller.js';
import { EventsController } from '../../controllers/events-controller.js';
import { ActionController } from '../../controllers/action-controller.js';
import { TaskController } from '../../controllers/task-controller.js';
import { sharedStyles } from '../../components/shared-styles.js';
import { messageOf } from '../../components/status-views.js';
import '../../components/qx-state-badge.js';
import './qx-vm-migrate-dialog.js';

const FIRST_ROWS = 50;
const ROWS_PER_FRAME = 200;

export class QxVmList extends LitElement {
  static override properties = {
    user: { attribute: false },
    query: { state: true },
    stateFilter: { state: true },
    sort: { state: true },
    desc: { state: true },
    selected: { state: true },
    shown: { state: true },
  };
  declare user: UserDto | undefined;
  declare query: string;
  declare stateFilter: string;
  declare sort: SortKey;
  declare desc: boolean;
  declare selected: Set<string>;
  /**
   * Rows drawn so far: a long list draws its first screenful at once and the rest in chunks on
   * the next frames, so 1,000 VMs show as fast as 10 (test/bench/ui-render.bench.ts).
   */
  declare shown: number;
  private growFrame = 0;
  private rowCount = 0;
  private vms = new ResourceController<VmDto[]>(this, fetchVms);
  private action = new ActionController(this);
  private task = new TaskController(this);

  static override styles = sharedStyles;

  constructor() {
    super();
    this.query = '';
    this.stateFilter = '';
    this.sort = 'name';
    this.desc = false;
    this.selected = new Set();
    this.shown = FIRST_ROWS;
    new EventsController(this, { vm: (d) => this.applyVmEvent(d as VmDto & { removed?: boolean }) });
  }

  /** SSE "vm" carries the whole VmDto (or {id, removed}): patch the list in place. */
  private applyVmEvent(d: VmDto & { removed?: boolean }): void {
    const list = this.vms.value;
    if (!list || !d?.id) return;
    const rest = list.filter((v) => v.id !== d.id);
    this.vms.set(
      d.removed
        ? rest
        : list.some((v) => v.id === d.id)
          ? list.map((v) => (v.id === d.id ? { ...v, ...d } : v))
          : [...rest, d],
    );
  }

  private toggleSort(k: SortKey): void {
    if (this.sort === k) this.desc = !this.desc;
    else {
      this.sort = k;
      this.desc = false;
    }
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
    void this.vms.reload();
  }

  private th(label: string, k: SortKey, cls = '') {
    const sorted = this.sort === k ? (this.desc ? 'descending' : 'ascending') : 'none';
    return html`<th class=${cls} aria-sort=${sorted}>
      <button class="sort" @click=${() => this.toggleSort(k)}>
        ${label}${this.sort === k ? (this.desc ? ' ▾' : ' ▴') : ''}
      </button>
    </th>`;
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

  override updated(): void {
    if (this.shown >= this.rowCount || this.growFrame) return;
    this.growFrame = requestAnimationFrame(() => {
      this.growFrame = 0;
      this.shown += ROWS_PER_FRAME;
    });
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    cancelAnimationFrame(this.growFrame);
    this.growFrame = 0;
  }

  override render() {
    const all = this.vms.value ?? [];
    const list = selectVms(all, this.query, this.stateFilter, this.sort, this.desc);
    this.rowCount = list.length;
    const mutate = canMutate(this.user);
    const states = [...new Set(all.map((v) => v.state))].sort();
    return html`<h1>Virtual machines</h1>
      <div class="toolbar">
        <label class="sr-only" for="q">Search</label>
        <input
          id="q"
          type="search"
          placeholder="Search name, host, IP"
          .value=${this.query}
          @input=${(e: InputEvent) => (this.query = (e.target as HTMLInputElement).value)}
        />
        <label class="sr-only" for="state">State</label>
        <select id="state" @change=${(e: Event) => (this.stateFilter = (e.target as HTMLSelectElement).value)}>
          <option value="">All states</option>
          ${states.map((s) => html`<option value=${s}>${s}</option>`)}
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
      ${this.action.errorNotice()} ${this.vms.errorNotice()}
      ${this.vms.value ? html`<p class="muted" data-testid="vm-count">${list.length} of ${all.length} VMs</p>` : nothing}
      <table>
        <thead>
          <tr>
            ${
              mutate
                ? html`<th>
                    <input
                      type="checkbox"
                      aria-label="Select all"
                      .checked=${list.length > 0 && list.every((v) => this.selected.has(v.id))}
                      @change=${(e: Event) => (this.selected = new Set((e.target as HTMLInputElement).checked ? list.map((v) => v.id) : []))}
                    />
                  </th>`
                : nothing
            }
            ${this.th('Name', 'name')}${this.th('State', 'state')}${this.th('Host', 'hostName')}
            ${this.th('vCPUs', 'cpus', 'num')}${this.th('Memory', 'memoryMib', 'num')}
            <th>IP addresses</th>
            <th>Autostart</th>
            ${mutate ? html`<th><span class="sr-only">Console</span></th>` : nothing}
          </tr>
        </thead>
        <tbody>
          ${list.slice(0, this.shown).map(
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
      ${this.vms.empty(all.length ? 'No VM matches the filter.' : 'No virtual machines yet.', list)}`;
  }
}
customElements.define('qx-vm-list', QxVmList);
