// Hosts and clusters: host list one page at a time, searched, filtered by status and sorted by the
// server, with live status, maintenance and removal; clusters with their members; the add-host
// wizard (admin).
import { LitElement, html, nothing } from 'lit';
import { HOST_STATUSES } from '@dto/enums.js';
import type { ClusterDto, HostDto, HostPageDto, HostPageSort } from '@dto/hosts.js';
import { agentVersionNotice } from './agent-version-notice.js';
import type { UserDto } from '@dto/auth.js';
import {
  createCluster,
  deleteCluster,
  fetchClusters,
  fetchHostPage,
  fetchHosts,
  removeHost,
  updateCluster,
  updateHost,
} from '../../api/hosts.js';
import { ResourceController } from '../../controllers/resource-controller.js';
import { PagedListController } from '../../controllers/paged-list-controller.js';
import { ActionController } from '../../controllers/action-controller.js';
import { EventsController } from '../../controllers/events-controller.js';
import { formatBytes, formatTime } from '../../app/format.js';
import { formField } from '../../components/form-field.js';
import { sharedStyles } from '../../components/shared-styles.js';
import '../../components/qx-state-badge.js';
import './qx-add-host-wizard.js';

export class QxHostList extends LitElement {
  static override properties = {
    user: { attribute: false },
    adding: { state: true },
  };
  declare user: UserDto | undefined;
  declare adding: boolean;
  private hosts = new PagedListController<HostPageDto, HostPageSort>(this, {
    sort: 'name',
    noun: 'hosts',
    listName: 'Host list',
    fetch: ({ filter, ...page }, signal) => fetchHostPage({ ...page, status: filter }, signal),
  });
  /** Every host, by id, to name the members of each cluster (hosts number hundreds, not thousands). */
  private allHosts = new ResourceController<HostDto[]>(this, fetchHosts);
  private clusters = new ResourceController<ClusterDto[]>(this, fetchClusters);
  /** Actions in the tables (maintenance, cluster membership, removal, rename). */
  private rowAction = new ActionController(this);
  /** The new-cluster form. */
  private clusterForm = new ActionController(this);

  static override styles = sharedStyles;

  constructor() {
    super();
    this.adding = false;
    new EventsController(this, {
      host: () => {
        void this.hosts.page.reload();
        void this.allHosts.reload();
      },
      cluster: () => void this.clusters.reload(),
    });
  }

  private async run(fn: () => Promise<unknown>): Promise<void> {
    await this.rowAction.run(fn);
    void this.hosts.page.reload();
    void this.allHosts.reload();
    void this.clusters.reload();
  }

  private async onCreateCluster(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    await this.clusterForm.run(async () => {
      await createCluster({ name: String(new FormData(form).get('name')).trim() });
      form.reset();
      void this.clusters.reload();
    });
  }

  override render() {
    const admin = this.user?.role === 'admin';
    const hosts = this.hosts.page.value?.items ?? [];
    const allHosts = this.allHosts.value ?? [];
    const clusters = this.clusters.value ?? [];
    const clusterName = (id: string | null) => clusters.find((c) => c.id === id)?.name ?? '—';
    return html`<h1>Hosts & clusters</h1>
      <div class="toolbar">
        <label class="sr-only" for="host-q">Search hosts</label>
        <input
          id="host-q"
          type="search"
          placeholder="Search name, address, hostname"
          .value=${this.hosts.query}
          @input=${(e: InputEvent) => this.hosts.search((e.target as HTMLInputElement).value)}
        />
        <label class="sr-only" for="host-status">Status</label>
        <select id="host-status" @change=${(e: Event) => this.hosts.setFilter((e.target as HTMLSelectElement).value)}>
          <option value="">All statuses</option>
          ${HOST_STATUSES.map((st) => html`<option value=${st}>${st}</option>`)}
        </select>
        <span class="spacer"></span
        >${admin ? html`<button class="primary" @click=${() => (this.adding = !this.adding)} aria-expanded=${this.adding}>Add host</button>` : nothing}
      </div>
      ${
        this.adding
          ? html`<qx-add-host-wizard
              .clusters=${clusters}
              @qx-done=${() => {
                this.adding = false;
                void this.hosts.page.reload();
                void this.allHosts.reload();
              }}
              @qx-cancel=${() => (this.adding = false)}
            ></qx-add-host-wizard>`
          : nothing
      }
      ${this.rowAction.errorNotice()} ${this.hosts.page.errorNotice()} ${this.hosts.pager('host-count')}
      <table>
        <thead>
          <tr>
            ${this.hosts.sortHeader('Name', 'name')}${this.hosts.sortHeader('Status', 'status')}
            <th>Address</th>
            ${this.hosts.sortHeader('Cluster', 'cluster')}
            <th class="num">CPU</th>
            <th class="num">Memory</th>
            ${this.hosts.sortHeader('VMs', 'vms', 'num')}${this.hosts.sortHeader('Joined', 'joined')}
            ${admin ? html`<th>Actions</th>` : nothing}
          </tr>
        </thead>
        <tbody>
          ${hosts.map(
            (h) =>
              html`<tr data-host=${h.name}>
                <td><a href="#/hosts/${encodeURIComponent(h.id)}">${h.name}</a>${applianceNote(h)}</td>
                <td>
                  <qx-state-badge .state=${h.status}></qx-state-badge
                  >${h.maintenance ? html` <qx-state-badge state="maintenance"></qx-state-badge>` : nothing}
                  ${h.status !== 'online' && h.statusMessage ? html`<div class="error" style="font-size:.85rem">${h.statusMessage}</div>` : nothing}
                  ${agentVersionNotice(h)}
                </td>
                <td class="mono">${h.address}</td>
                <td>
                  ${
                    admin
                      ? html`<label class="sr-only" for="cl-${h.id}">Cluster of ${h.name}</label
                          ><select
                            id="cl-${h.id}"
                            @change=${(e: Event) => this.run(() => updateHost(h.id, { clusterId: (e.target as HTMLSelectElement).value || null }))}
                          >
                            <option value="">—</option>
                            ${clusters.map((c) => html`<option value=${c.id} ?selected=${h.clusterId === c.id}>${c.name}</option>`)}
                          </select>`
                      : clusterName(h.clusterId)
                  }
                </td>
                <td class="num">
                  ${h.metrics ? `${Math.round(h.metrics.cpuPercent)}%` : '—'}
                  <span class="muted">of ${h.cpuCount}</span>
                </td>
                <td class="num">
                  ${formatBytes(h.memoryTotalBytes - h.memoryFreeBytes)} / ${formatBytes(h.memoryTotalBytes)}
                </td>
                <td class="num">${h.vmCount}</td>
                <td>${formatTime(h.joinedAt)}</td>
                ${
                  admin
                    ? html`<td>
                        <button @click=${() => this.run(() => updateHost(h.id, { maintenance: !h.maintenance }))}>
                          ${h.maintenance ? 'Exit maintenance' : 'Maintenance'}
                        </button>
                        ${
                          h.local
                            ? nothing
                            : html`<button
                                class="danger"
                                @click=${() =>
                                  confirm(`Remove host ${h.name}? Its VMs keep running there.`) &&
                                  this.run(async () => {
                                    const removed = await removeHost(h.id);
                                    if (!removed.agentReleased) throw new Error(removed.message); // the agent still trusts this vDC
                                  })}
                              >
                                Remove
                              </button>`
                        }
                      </td>`
                    : nothing
                }
              </tr>`,
          )}
        </tbody>
      </table>
      ${this.hosts.page.empty(this.hosts.narrowed ? 'No host matches the filter.' : 'No hosts.', hosts)}

      <h2>Clusters</h2>
      ${
        admin
          ? html`<form class="toolbar" @submit=${this.onCreateCluster} aria-label="New cluster">
              ${formField('New cluster name', 'cluster-name', html`<input id="cluster-name" name="name" required aria-invalid=${!!this.clusterForm.fieldError('name')} />`, this.clusterForm.fieldError('name'))}
              <button type="submit">Create cluster</button>
              ${this.clusterForm.formError(['name']) ? html`<span class="error" role="alert">${this.clusterForm.formError(['name'])}</span>` : nothing}
            </form>`
          : nothing
      }
      <table>
        <thead>
          <tr>
            <th>Name</th>
            <th>Hosts</th>
            ${admin ? html`<th>Actions</th>` : nothing}
          </tr>
        </thead>
        <tbody>
          ${clusters.map(
            (c) =>
              html`<tr>
                <td><a href="#/clusters/${encodeURIComponent(c.id)}">${c.name}</a></td>
                <td>
                  ${c.hostIds.map((id) => allHosts.find((h) => h.id === id)?.name ?? id).join(', ') || html`<span class="muted">none</span>`}
                </td>
                ${
                  admin
                    ? html`<td>
                        <button
                          @click=${() => {
                            const n = prompt('New name', c.name);
                            if (n) void this.run(() => updateCluster(c.id, { name: n }));
                          }}
                        >
                          Rename
                        </button>
                        <button
                          class="danger"
                          @click=${() => confirm(`Delete cluster ${c.name}? Its hosts stay, unassigned.`) && this.run(() => deleteCluster(c.id))}
                        >
                          Delete
                        </button>
                      </td>`
                    : nothing
                }
              </tr>`,
          )}
        </tbody>
      </table>
      ${this.clusters.empty('No clusters yet.')}`;
  }
}
customElements.define('qx-host-list', QxHostList);

/** This appliance's own host, or another appliance's (a member of the control plane). */
function applianceNote(h: HostDto) {
  if (h.local) return html` <span class="muted">(this appliance)</span>`;
  return h.appliance ? html` <span class="muted">(appliance)</span>` : nothing;
}
