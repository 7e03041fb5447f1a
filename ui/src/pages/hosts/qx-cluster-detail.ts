// A cluster's page (#/clusters/:id): its hosts with status and free memory, and the placement
// preview — which host a new VM with disks on a pool would go to, and why each other host would not.
import { LitElement, html, nothing } from 'lit';
import type { ClusterDto, HostDto, PlacementDto } from '@dto/hosts.js';
import type { PoolDto } from '@dto/storage.js';
import type { UserDto } from '@dto/auth.js';
import { fetchCluster, fetchHosts, fetchPlacement } from '../../api/hosts.js';
import { fetchPools } from '../../api/storage.js';
import { ResourceController } from '../../controllers/resource-controller.js';
import { EventsController } from '../../controllers/events-controller.js';
import { ActionController } from '../../controllers/action-controller.js';
import { formatBytes } from '../../app/format.js';
import { formField } from '../../components/form-field.js';
import { sharedStyles } from '../../components/shared-styles.js';
import '../../components/qx-state-badge.js';

export class QxClusterDetail extends LitElement {
  static override properties = {
    user: { attribute: false },
    params: { attribute: false },
    placement: { state: true },
  };
  declare user: UserDto | undefined;
  declare params: { id: string };
  /** The last preview asked for. */
  declare placement: PlacementDto | undefined;
  private cluster = new ResourceController<ClusterDto>(this, (s) => fetchCluster(this.params.id, s));
  private hosts = new ResourceController<HostDto[]>(this, fetchHosts);
  private pools = new ResourceController<PoolDto[]>(this, fetchPools);
  private preview = new ActionController(this);

  static override styles = sharedStyles;

  constructor() {
    super();
    new EventsController(this, { cluster: () => void this.cluster.reload(), host: () => void this.hosts.reload() });
  }

  private async onPreview(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    const f = new FormData(e.target as HTMLFormElement);
    await this.preview.run(async () => {
      this.placement = await fetchPlacement(this.params.id, String(f.get('pool')), Number(f.get('memoryMib')));
    });
  }

  override render() {
    return this.cluster.render({ complete: (c) => this.renderCluster(c) });
  }

  private renderCluster(c: ClusterDto) {
    const members = (this.hosts.value ?? []).filter((h) => c.hostIds.includes(h.id));
    const poolNames = [
      ...new Set((this.pools.value ?? []).filter((p) => c.hostIds.includes(p.hostId)).map((p) => p.name)),
    ].sort();
    const err = (k: string) => this.preview.fieldError(k);
    return html`<p><a href="#/hosts">← Hosts & clusters</a></p>
      <h1>Cluster ${c.name}</h1>
      <table>
        <thead>
          <tr>
            <th>Host</th>
            <th>Status</th>
            <th class="num">Free memory</th>
          </tr>
        </thead>
        <tbody>
          ${members.map(
            (h) =>
              html`<tr>
                <td><a href="#/hosts/${encodeURIComponent(h.id)}">${h.name}</a></td>
                <td><qx-state-badge .state=${h.status}></qx-state-badge>${h.maintenance ? ' (maintenance)' : ''}</td>
                <td class="num">${formatBytes(h.memoryFreeBytes)}</td>
              </tr>`,
          )}
        </tbody>
      </table>
      ${c.hostIds.length === 0 ? html`<p class="empty">No hosts in this cluster yet.</p>` : nothing}
      <h2>Placement preview</h2>
      <form class="row" @submit=${this.onPreview} aria-label="Placement preview">
        ${formField(
          'Disks on pool',
          'pl-pool',
          html`<select id="pl-pool" name="pool" required aria-invalid=${!!err('pool')}>
            ${poolNames.map((n) => html`<option value=${n}>${n}</option>`)}
          </select>`,
          err('pool'),
        )}
        ${formField(
          'Memory (MiB)',
          'pl-mem',
          html`<input id="pl-mem" name="memoryMib" type="number" min="16" value="1024" required />`,
          err('memoryMib'),
        )}
        <div class="field"><button type="submit" ?disabled=${this.preview.busy}>Preview</button></div>
      </form>
      ${this.preview.errorNotice(['pool', 'memoryMib'])}
      ${this.placement ? this.renderPlacement(this.placement) : nothing}`;
  }

  private renderPlacement(p: PlacementDto) {
    return html`<div class="card" role="status" data-testid="placement">
      <p>A new VM would go to <strong>${p.hostName}</strong> (${formatBytes(p.memoryFreeBytes)} of memory free).</p>
      <table>
        <thead>
          <tr>
            <th>Host</th>
            <th>Eligible</th>
            <th class="num">Free memory</th>
            <th>Why not</th>
          </tr>
        </thead>
        <tbody>
          ${p.candidates.map(
            (c) =>
              html`<tr>
                <td>${c.hostName}</td>
                <td>${c.eligible ? 'yes' : 'no'}</td>
                <td class="num">${formatBytes(c.memoryFreeBytes)}</td>
                <td class=${c.eligible ? 'muted' : 'error'}>${c.reason || '—'}</td>
              </tr>`,
          )}
        </tbody>
      </table>
    </div>`;
  }
}
customElements.define('qx-cluster-detail', QxClusterDetail);
