// Storage: pools of every host (create a loop pool with a size, grow, delete), the volumes of the
// selected pool, and ISO / disk image upload with a real progress bar.
import { LitElement, html, nothing } from 'lit';
import type { HostDto } from '@dto/hosts.js';
import type { PoolDto } from '@dto/storage.js';
import type { UserDto } from '@dto/auth.js';
import { createPool, deletePool, fetchPools, growPool } from '../../api/storage.js';
import { fetchHosts } from '../../api/hosts.js';
import { ApiError } from '../../api/client.js';
import { canMutate } from '../../api/session.js';
import { ResourceController } from '../../controllers/resource-controller.js';
import { EventsController } from '../../controllers/events-controller.js';
import { ActionController } from '../../controllers/action-controller.js';
import { TaskController } from '../../controllers/task-controller.js';
import { formatBytes, parseSize } from '../../app/format.js';
import { formField } from '../../components/form-field.js';
import { sharedStyles } from '../../components/shared-styles.js';
import '../../components/qx-state-badge.js';
import '../../components/qx-progress-bar.js';
import './qx-pool-volumes.js';

const poolKey = (p: Pick<PoolDto, 'hostId' | 'name'>) => `${p.hostId}/${p.name}`;

export class QxStoragePage extends LitElement {
  static override properties = {
    user: { attribute: false },
    selected: { state: true },
  };
  declare user: UserDto | undefined;
  declare selected: string;
  private pools = new ResourceController<PoolDto[]>(this, fetchPools);
  private hosts = new ResourceController<HostDto[]>(this, fetchHosts);
  /** The new-pool form (its task is followed until the pool exists). */
  private create = new ActionController(this);
  private task = new TaskController(this);
  /** Grow and delete in the table, keyed by pool. */
  private rowAction = new ActionController(this);

  static override styles = sharedStyles;

  constructor() {
    super();
    this.selected = '';
    new EventsController(this, { pool: () => void this.pools.reload() });
  }

  private async onCreate(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const f = new FormData(form);
    const sizeBytes = parseSize(String(f.get('size')));
    if (!sizeBytes) {
      this.create.fail(new ApiError(400, 'Give a size such as 2G or 512M.', 'sizeBytes'));
      return;
    }
    await this.create.run(async () => {
      await this.task.follow(
        await createPool(String(f.get('hostId')), { name: String(f.get('name')).trim(), kind: 'loop', sizeBytes }),
      );
      form.reset();
    });
    void this.pools.reload();
  }

  private async run(key: string, fn: () => Promise<unknown>): Promise<void> {
    await this.rowAction.run(fn, key);
    void this.pools.reload();
  }

  private grow(p: PoolDto): void {
    const text = prompt(`New size of ${p.name} (currently ${formatBytes(p.capacityBytes)}), e.g. 4G`);
    if (!text) return;
    const size = parseSize(text);
    if (!size) {
      this.rowAction.fail(new Error(`"${text}" is not a size: use e.g. 4G or 512M.`));
      return;
    }
    void this.run(poolKey(p), () => growPool(p.hostId, p.name, { sizeBytes: size }));
  }

  override render() {
    const mutate = canMutate(this.user);
    const admin = this.user?.role === 'admin';
    const pools = this.pools.value ?? [];
    const sel = pools.find((p) => poolKey(p) === this.selected);
    const cErr = (k: string) => this.create.fieldError(k);
    const online = (this.hosts.value ?? []).filter((h) => h.status === 'online');
    return html`<h1>Storage</h1>
      ${
        admin
          ? html`<form class="card" style="margin-bottom:1rem" @submit=${this.onCreate} aria-label="New loop pool">
              <h2 style="margin-top:0">New loop pool</h2>
              ${this.create.errorNotice(['name', 'sizeBytes', 'hostId'])}
              <div class="row">
                ${formField(
                  'Host',
                  'pool-host',
                  html`<select id="pool-host" name="hostId" required>
                    ${online.map((h) => html`<option value=${h.id}>${h.name}</option>`)}
                  </select>`,
                  cErr('hostId'),
                )}
                ${formField('Pool name', 'pool-name', html`<input id="pool-name" name="name" required aria-invalid=${!!cErr('name')} />`, cErr('name'))}
                ${formField('Size', 'pool-size', html`<input id="pool-size" name="size" placeholder="e.g. 2G" required aria-invalid=${!!cErr('sizeBytes')} />`, cErr('sizeBytes'), 'A sparse backing file, ext4.')}
              </div>
              <button class="primary" type="submit" ?disabled=${this.create.busy}>
                ${this.create.busy ? 'Creating…' : 'Create pool'}
              </button>
            </form>`
          : nothing
      }
      ${this.rowAction.errorNotice()} ${this.pools.errorNotice()}
      <table>
        <thead>
          <tr>
            <th>Pool</th>
            <th>Host</th>
            <th>Kind</th>
            <th>State</th>
            <th style="width:22%">Used</th>
            <th class="num">Volumes</th>
            ${admin ? html`<th>Actions</th>` : nothing}
          </tr>
        </thead>
        <tbody>
          ${pools.map((p) => {
            const pct = p.capacityBytes ? (p.allocationBytes / p.capacityBytes) * 100 : 0;
            return html`<tr data-pool=${p.name} aria-selected=${poolKey(p) === this.selected}>
              <td><button class="link" @click=${() => (this.selected = poolKey(p))}>${p.name}</button></td>
              <td>${p.hostName}</td>
              <td>${p.kind}</td>
              <td>
                <qx-state-badge .state=${p.state}></qx-state-badge
                >${p.error ? html`<div class="error">${p.error}</div>` : nothing}
              </td>
              <td>
                <qx-progress-bar
                  .value=${pct}
                  .label=${`${formatBytes(p.allocationBytes)} of ${formatBytes(p.capacityBytes)}`}
                ></qx-progress-bar>
              </td>
              <td class="num">${p.volumeCount}</td>
              ${
                admin
                  ? html`<td>
                      <button
                        ?disabled=${this.create.busy || this.rowAction.busy || p.kind !== 'loop'}
                        @click=${() => this.grow(p)}
                      >
                        Grow
                      </button>
                      <button
                        class="danger"
                        ?disabled=${this.create.busy || this.rowAction.busy}
                        @click=${() => confirm(`Delete pool ${p.name} on ${p.hostName} and its data?`) && this.run(poolKey(p), () => deletePool(p.hostId, p.name, true))}
                      >
                        Delete
                      </button>
                    </td>`
                  : nothing
              }
            </tr>`;
          })}
        </tbody>
      </table>
      ${this.pools.empty(`No pools yet.${admin ? ' Create a loop pool above.' : ''}`)}
      ${sel ? html`<qx-pool-volumes .pool=${sel} .canMutate=${mutate} @qx-changed=${() => this.pools.reload()}></qx-pool-volumes>` : nothing}`;
  }
}
customElements.define('qx-storage-page', QxStoragePage);
