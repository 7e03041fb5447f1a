// Storage: pools of every host or of one (create a loop pool with a size or a dir pool on a path,
// start/stop, grow, delete), the volumes of the selected pool, and ISO / disk image upload.
import { LitElement, html, nothing } from 'lit';
import type { HostDto } from '@dto/hosts.js';
import type { CreatePoolDto, PoolDto } from '@dto/storage.js';
import type { UserDto } from '@dto/auth.js';
import {
  createPool,
  deletePool,
  fetchHostPools,
  fetchPools,
  growPool,
  startPool,
  stopPool,
} from '../../api/storage.js';
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
    hostFilter: { state: true },
    kind: { state: true },
  };
  declare user: UserDto | undefined;
  declare selected: string;
  /** Only this host's pools ('' = every host's). */
  declare hostFilter: string;
  /** The kind chosen in the new-pool form. */
  declare kind: CreatePoolDto['kind'];
  private pools = new ResourceController<PoolDto[]>(this, (s) =>
    this.hostFilter ? fetchHostPools(this.hostFilter, s) : fetchPools(s),
  );
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
    this.hostFilter = '';
    this.kind = 'loop';
    new EventsController(this, { pool: () => void this.pools.reload() });
  }

  private async onCreate(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const f = new FormData(form);
    const name = String(f.get('name')).trim();
    let req: CreatePoolDto;
    if (this.kind === 'dir') req = { name, kind: 'dir', path: String(f.get('path')).trim() };
    else {
      const sizeBytes = parseSize(String(f.get('size')));
      if (!sizeBytes) {
        this.create.fail(new ApiError(400, 'Give a size such as 2G or 512M.', 'sizeBytes'));
        return;
      }
      req = { name, kind: 'loop', sizeBytes };
    }
    await this.create.run(async () => {
      await this.task.follow(await createPool(String(f.get('hostId')), req));
      form.reset();
      this.kind = 'loop';
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
          ? html`<form class="card" style="margin-bottom:1rem" @submit=${this.onCreate} aria-label="New pool">
              <h2 style="margin-top:0">New pool</h2>
              ${this.create.errorNotice(['name', 'sizeBytes', 'hostId', 'path'])}
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
                ${formField(
                  'Kind',
                  'pool-kind',
                  html`<select
                    id="pool-kind"
                    name="kind"
                    .value=${this.kind}
                    @change=${(e: Event) => (this.kind = (e.target as HTMLSelectElement).value as CreatePoolDto['kind'])}
                  >
                    <option value="loop">Loop (a backing file of its own)</option>
                    <option value="dir">Directory (an existing path)</option>
                  </select>`,
                )}
                ${
                  this.kind === 'dir'
                    ? formField(
                        'Path',
                        'pool-path',
                        html`<input
                          id="pool-path"
                          name="path"
                          placeholder="/srv/images"
                          required
                          aria-invalid=${!!cErr('path')}
                        />`,
                        cErr('path'),
                        'A directory on the host.',
                      )
                    : formField(
                        'Size',
                        'pool-size',
                        html`<input
                          id="pool-size"
                          name="size"
                          placeholder="e.g. 2G"
                          required
                          aria-invalid=${!!cErr('sizeBytes')}
                        />`,
                        cErr('sizeBytes'),
                        'A sparse backing file, ext4.',
                      )
                }
              </div>
              <button class="primary" type="submit" ?disabled=${this.create.busy}>
                ${this.create.busy ? 'Creating…' : 'Create pool'}
              </button>
            </form>`
          : nothing
      }
      ${this.rowAction.errorNotice()} ${this.pools.errorNotice()}
      <div class="toolbar">
        <label for="pool-host-filter">Host</label>
        <select
          id="pool-host-filter"
          @change=${(e: Event) => {
            this.hostFilter = (e.target as HTMLSelectElement).value;
            void this.pools.reload();
          }}
        >
          <option value="">All hosts</option>
          ${(this.hosts.value ?? []).map((h) => html`<option value=${h.id} ?selected=${h.id === this.hostFilter}>${h.name}</option>`)}
        </select>
      </div>
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
                      ${
                        p.state === 'active'
                          ? html`<button
                              ?disabled=${this.create.busy || this.rowAction.busy}
                              @click=${() => this.run(poolKey(p), () => stopPool(p.hostId, p.name))}
                            >
                              Stop
                            </button>`
                          : html`<button
                              ?disabled=${this.create.busy || this.rowAction.busy}
                              @click=${() => this.run(poolKey(p), () => startPool(p.hostId, p.name))}
                            >
                              Start
                            </button>`
                      }
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
