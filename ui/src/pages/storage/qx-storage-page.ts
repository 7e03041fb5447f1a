// Storage: pools of every host (create a loop pool with a size, grow, delete), the volumes of the
// selected pool, and ISO / disk image upload with a real progress bar.
import { LitElement, html, nothing } from 'lit';
import { createPool, deletePool, fetchPools, growPool, type PoolDto } from '../../api/storage.js';
import { fetchHosts, type HostDto } from '../../api/hosts.js';
import { ApiError, fieldError, formError } from '../../api/client.js';
import { canMutate, type UserDto } from '../../api/session.js';
import { ResourceController } from '../../controllers/resource-controller.js';
import { EventsController } from '../../controllers/events-controller.js';
import { followIfTask } from '../../controllers/task-tracker.js';
import { formatBytes, parseSize } from '../../app/format.js';
import { formField } from '../../components/form-field.js';
import { sharedStyles } from '../../components/shared-styles.js';
import '../../components/qx-state-badge.js';
import '../../components/qx-progress-bar.js';
import './qx-pool-volumes.js';

const poolKey = (p: Pick<PoolDto, 'hostId' | 'name'>) => `${p.hostId}/${p.name}`;

export class QxStoragePage extends LitElement {
  static override properties = {
    user: { attribute: false }, selected: { state: true }, createError: { state: true }, busy: { state: true }, error: { state: true },
  };
  declare user: UserDto | undefined;
  declare selected: string;
  declare createError: unknown;
  declare busy: string;
  declare error: string;
  private pools = new ResourceController<PoolDto[]>(this, fetchPools);
  private hosts = new ResourceController<HostDto[]>(this, fetchHosts);

  static override styles = sharedStyles;

  constructor() {
    super();
    this.selected = '';
    this.busy = '';
    this.error = '';
    new EventsController(this, { pool: () => void this.pools.reload() });
  }

  private async onCreate(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const f = new FormData(form);
    const sizeBytes = parseSize(String(f.get('size')));
    this.createError = undefined;
    if (!sizeBytes) {
      this.createError = new ApiError(400, 'Give a size such as 2G or 512M.', 'sizeBytes');
      return;
    }
    this.busy = 'create';
    try {
      await followIfTask(await createPool(String(f.get('hostId')), { name: String(f.get('name')).trim(), kind: 'loop', sizeBytes }));
      form.reset();
    } catch (err) {
      this.createError = err;
    } finally {
      this.busy = '';
      void this.pools.reload();
    }
  }

  private async run(key: string, fn: () => Promise<unknown>): Promise<void> {
    this.busy = key;
    this.error = '';
    try {
      await fn();
    } catch (err) {
      this.error = (err as Error).message;
    } finally {
      this.busy = '';
      void this.pools.reload();
    }
  }

  private grow(p: PoolDto): void {
    const text = prompt(`New size of ${p.name} (currently ${formatBytes(p.capacityBytes)}), e.g. 4G`);
    if (!text) return;
    const size = parseSize(text);
    if (!size) {
      this.error = `"${text}" is not a size: use e.g. 4G or 512M.`;
      return;
    }
    void this.run(poolKey(p), () => growPool(p.hostId, p.name, size));
  }

  override render() {
    const mutate = canMutate(this.user);
    const admin = this.user?.role === 'admin';
    const pools = this.pools.value ?? [];
    const sel = pools.find((p) => poolKey(p) === this.selected);
    const cErr = (k: string) => fieldError(this.createError, k);
    const cTop = formError(this.createError, ['name', 'sizeBytes', 'hostId']);
    const online = (this.hosts.value ?? []).filter((h) => h.status === 'online');
    return html`<h1>Storage</h1>
      ${admin ? html`<form class="card" style="margin-bottom:1rem" @submit=${this.onCreate} aria-label="New loop pool">
        <h2 style="margin-top:0">New loop pool</h2>
        ${cTop ? html`<div class="notice error" role="alert">${cTop}</div>` : nothing}
        <div class="row">
          ${formField('Host', 'pool-host', html`<select id="pool-host" name="hostId" required>${online.map((h) => html`<option value=${h.id}>${h.name}</option>`)}</select>`, cErr('hostId'))}
          ${formField('Pool name', 'pool-name', html`<input id="pool-name" name="name" required aria-invalid=${!!cErr('name')} />`, cErr('name'))}
          ${formField('Size', 'pool-size', html`<input id="pool-size" name="size" placeholder="e.g. 2G" required aria-invalid=${!!cErr('sizeBytes')} />`, cErr('sizeBytes'), 'A sparse backing file, ext4.')}
        </div>
        <button class="primary" type="submit" ?disabled=${this.busy === 'create'}>${this.busy === 'create' ? 'Creating…' : 'Create pool'}</button>
      </form>` : nothing}
      ${this.error ? html`<div class="notice error" role="alert">${this.error}</div>` : nothing}
      ${this.pools.error ? html`<div class="notice error" role="alert">${(this.pools.error as Error).message}</div>` : nothing}
      <table>
        <thead><tr><th>Pool</th><th>Host</th><th>Kind</th><th>State</th><th style="width:22%">Used</th><th class="num">Volumes</th>${admin ? html`<th>Actions</th>` : nothing}</tr></thead>
        <tbody>${pools.map((p) => {
          const pct = p.capacityBytes ? (p.allocationBytes / p.capacityBytes) * 100 : 0;
          return html`<tr data-pool=${p.name} aria-selected=${poolKey(p) === this.selected}>
            <td><button class="link" @click=${() => (this.selected = poolKey(p))}>${p.name}</button></td>
            <td>${p.hostName}</td><td>${p.kind}</td>
            <td><qx-state-badge .state=${p.state}></qx-state-badge>${p.error ? html`<div class="error">${p.error}</div>` : nothing}</td>
            <td><qx-progress-bar .value=${pct} .label=${`${formatBytes(p.allocationBytes)} of ${formatBytes(p.capacityBytes)}`}></qx-progress-bar></td>
            <td class="num">${p.volumeCount}</td>
            ${admin ? html`<td>
              <button ?disabled=${!!this.busy || p.kind !== 'loop'} @click=${() => this.grow(p)}>Grow</button>
              <button class="danger" ?disabled=${!!this.busy} @click=${() => confirm(`Delete pool ${p.name} on ${p.hostName} and its data?`) && this.run(poolKey(p), () => deletePool(p.hostId, p.name, true))}>Delete</button>
            </td>` : nothing}
          </tr>`;
        })}</tbody>
      </table>
      ${pools.length === 0 && !this.pools.loading ? html`<p class="empty">No pools yet.${admin ? ' Create a loop pool above.' : ''}</p>` : nothing}
      ${sel ? html`<qx-pool-volumes .pool=${sel} .canMutate=${mutate} @qx-changed=${() => this.pools.reload()}></qx-pool-volumes>` : nothing}`;
  }
}
customElements.define('qx-storage-page', QxStoragePage);
