// Networks: cluster networks (defined once, applied to every host of the cluster, status per
// host with the reason of a failure, a per-host confirmation where the move of a management address
// waits for one) and the networks of each host with leases and users.
import { LitElement, html, nothing } from 'lit';
import type { ClusterDto, HostDto } from '@dto/hosts.js';
import type { ClusterNetworkDto, ClusterNetworkHostDto } from '@dto/cluster-networks.js';
import type { CreateNetworkDto, HostInterfaceDto, NetworkDto } from '@dto/networks.js';
import type { UserDto } from '@dto/auth.js';
import { NETWORK_KINDS, type NetworkKind } from '@dto/enums.js';
import {
  applyClusterNetwork,
  applyClusterNetworkOnHost,
  createClusterNetwork,
  createNetwork,
  deleteClusterNetwork,
  deleteNetwork,
  fetchAllClusterNetworks,
  fetchAllNetworks,
  fetchClusterNetwork,
  fetchHostInterfaces,
  fetchNetwork,
} from '../../api/networks.js';
import { EventsController } from '../../controllers/events-controller.js';
import { fetchClusters, fetchHosts } from '../../api/hosts.js';
import { ResourceController } from '../../controllers/resource-controller.js';
import { ActionController } from '../../controllers/action-controller.js';
import { formField } from '../../components/form-field.js';
import { sharedStyles } from '../../components/shared-styles.js';
import { emptyView } from '../../components/status-views.js';
import '../../components/qx-state-badge.js';

const FIELDS = [
  'name',
  'kind',
  'subnet',
  'dhcpStart',
  'dhcpEnd',
  'bridge',
  'uplink',
  'vlanId',
  'confirmManagementMove',
];

/** Groups per-host networks by name (pure). */
export function groupNetworks(nets: NetworkDto[]): Map<string, NetworkDto[]> {
  const m = new Map<string, NetworkDto[]>();
  for (const n of nets) m.set(n.name, [...(m.get(n.name) ?? []), n]);
  return m;
}

export class QxNetworkList extends LitElement {
  static override properties = {
    user: { attribute: false },
    kind: { state: true },
    results: { state: true },
    scope: { state: true },
    nics: { state: true },
  };
  declare user: UserDto | undefined;
  declare kind: NetworkKind;
  declare results: string[];
  /** The "Apply to" choice of the new-network form (host:<id> or cluster:<id>). */
  declare scope: string;
  /** NICs of the host the new bridged network goes to (a cluster's first host), the uplink choices. */
  declare nics: HostInterfaceDto[];
  private action = new ActionController(this);
  private hosts = new ResourceController<HostDto[]>(this, fetchHosts);
  private clusters = new ResourceController<ClusterDto[]>(this, (s) => fetchClusters(s).catch(() => []));
  private clusterNets = new ResourceController<ClusterNetworkDto[]>(this, async (s) =>
    fetchAllClusterNetworks(
      (await fetchClusters(s)).map((c) => c.id),
      s,
    ),
  );
  private nets = new ResourceController<NetworkDto[]>(this, async (s) =>
    fetchAllNetworks(
      (await fetchHosts(s)).filter((h) => h.status === 'online').map((h) => h.id),
      s,
    ),
  );

  static override styles = sharedStyles;

  constructor() {
    super();
    this.kind = 'nat';
    this.results = [];
    this.scope = '';
    this.nics = [];
    new EventsController(this, { 'cluster-network': () => void this.clusterNets.reload() });
  }

  private async onCreate(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    const f = new FormData(e.target as HTMLFormElement);
    const get = (k: string) => String(f.get(k) ?? '').trim() || undefined;
    const req: CreateNetworkDto = {
      name: get('name') ?? '',
      kind: this.kind,
      ...(this.kind !== 'bridged'
        ? { subnet: get('subnet'), dhcpStart: get('dhcpStart'), dhcpEnd: get('dhcpEnd') }
        : { uplink: get('uplink'), bridge: get('bridge') }),
      ...(get('vlanId') ? { vlanId: Number(get('vlanId')) } : {}),
      ...(f.get('confirmManagementMove') === 'on' ? { confirmManagementMove: true } : {}),
    };
    const scope = String(f.get('scope'));
    this.results = [];
    await this.action.run(async () => {
      if (scope.startsWith('cluster:')) {
        const cn = await createClusterNetwork(scope.slice(8), req);
        this.results = cn.hosts.map((h) => `${h.hostName}: ${h.state}${h.reason ? ` — ${h.reason}` : ''}`);
      } else {
        await createNetwork(scope.slice(5), req);
      }
    }, 'create');
    void this.nets.reload();
    void this.clusterNets.reload();
  }

  private async runCluster(fn: () => Promise<unknown>): Promise<void> {
    await this.action.run(fn);
    void this.clusterNets.reload();
    void this.nets.reload();
  }

  private confirmOnHost(cn: ClusterNetworkDto, h: ClusterNetworkHostDto): void {
    const text = `Move the management address of ${h.hostName} from ${cn.uplink} to the bridge of ${cn.name}? The host stays reachable; a failed move is rolled back.`;
    if (!confirm(text)) return;
    void this.runCluster(() =>
      applyClusterNetworkOnHost(cn.clusterId, cn.name, h.hostId, { confirmManagementMove: true }),
    );
  }

  /** Loads the uplink choices for a bridged network on the chosen host (or the cluster's first host). */
  private async loadNics(): Promise<void> {
    const scope = this.scope || this.renderRoot.querySelector<HTMLSelectElement>('#scope')?.value || '';
    const hostId = scope.startsWith('host:')
      ? scope.slice(5)
      : (this.clusters.value ?? []).find((c) => `cluster:${c.id}` === scope)?.hostIds[0];
    this.nics = hostId ? await fetchHostInterfaces(hostId).catch(() => []) : [];
  }

  /** Fetches one host network again (leases, users, state) and puts it in the list. */
  private async refreshNetwork(n: NetworkDto): Promise<void> {
    await this.action.run(async () => {
      const fresh = await fetchNetwork(n.hostId, n.name);
      this.nets.set((this.nets.value ?? []).map((x) => (x.hostId === n.hostId && x.name === n.name ? fresh : x)));
    }, `refresh:${n.hostId}/${n.name}`);
  }

  /** Fetches one cluster network again (per-host status). */
  private async refreshClusterNetwork(cn: ClusterNetworkDto): Promise<void> {
    await this.action.run(async () => {
      const fresh = await fetchClusterNetwork(cn.clusterId, cn.name);
      this.clusterNets.set(
        (this.clusterNets.value ?? []).map((x) => (x.clusterId === cn.clusterId && x.name === cn.name ? fresh : x)),
      );
    }, `refresh:${cn.clusterId}/${cn.name}`);
  }

  private async removeNetwork(n: NetworkDto): Promise<void> {
    const host = this.hosts.value?.find((h) => h.id === n.hostId)?.name ?? n.hostId;
    if (!confirm(`Delete network ${n.name} on ${host}?`)) return;
    await this.action.run(() => deleteNetwork(n.hostId, n.name));
    void this.nets.reload();
  }

  override render() {
    const admin = this.user?.role === 'admin';
    const hosts = this.hosts.value ?? [];
    const clusters = this.clusters.value ?? [];
    const hostName = (id: string) => hosts.find((h) => h.id === id)?.name ?? id;
    const groups = groupNetworks(this.nets.value ?? []);
    const err = (k: string) => this.action.fieldError(k);
    return html`<h1>Networks</h1>
      ${
        admin
          ? html`<form class="card" style="margin-bottom:1rem" @submit=${this.onCreate} aria-label="New network">
              <h2 style="margin-top:0">New network</h2>
              ${this.action.errorNotice(FIELDS)}
              ${
                this.results.length
                  ? html`<ul role="status">
                      ${this.results.map((r) => html`<li class=${r.includes('failed') ? 'error' : ''}>${r}</li>`)}
                    </ul>`
                  : nothing
              }
              <div class="row">
                ${formField(
                  'Apply to',
                  'scope',
                  html`<select
                    id="scope"
                    name="scope"
                    @change=${(e: Event) => {
                      this.scope = (e.target as HTMLSelectElement).value;
                      if (this.kind === 'bridged') void this.loadNics();
                    }}
                  >
                    ${clusters.map((c) => html`<option value="cluster:${c.id}">Every host of cluster ${c.name}</option>`)}
                    ${hosts.filter((h) => h.status === 'online').map((h) => html`<option value="host:${h.id}">Host ${h.name}</option>`)}
                  </select>`,
                )}
                ${formField('Name', 'net-name', html`<input id="net-name" name="name" required aria-invalid=${!!err('name')} />`, err('name'))}
                ${formField(
                  'Kind',
                  'net-kind',
                  html`<select
                    id="net-kind"
                    @change=${(e: Event) => {
                      this.kind = (e.target as HTMLSelectElement).value as NetworkKind;
                      if (this.kind === 'bridged') void this.loadNics();
                    }}
                  >
                    ${NETWORK_KINDS.map((k) => html`<option value=${k} ?selected=${this.kind === k}>${k === 'nat' ? 'NAT' : k === 'isolated' ? 'Isolated' : 'Bridged (host NIC)'}</option>`)}
                  </select>`,
                  err('kind'),
                )}
              </div>
              ${
                this.kind !== 'bridged'
                  ? html`<div class="row">
                      ${formField('Subnet', 'subnet', html`<input id="subnet" name="subnet" placeholder="10.77.0.0/24" aria-invalid=${!!err('subnet')} />`, err('subnet'))}
                      ${formField('DHCP start', 'dhcpStart', html`<input id="dhcpStart" name="dhcpStart" placeholder="10.77.0.100" aria-invalid=${!!err('dhcpStart')} />`, err('dhcpStart'))}
                      ${formField('DHCP end', 'dhcpEnd', html`<input id="dhcpEnd" name="dhcpEnd" placeholder="10.77.0.200" aria-invalid=${!!err('dhcpEnd')} />`, err('dhcpEnd'))}
                    </div>`
                  : html`<div class="row">
                        ${formField(
                          'Host NIC (uplink)',
                          'uplink',
                          html`<input
                              id="uplink"
                              name="uplink"
                              placeholder="eth0"
                              list="uplink-nics"
                              aria-invalid=${!!err('uplink')}
                            />
                            <datalist id="uplink-nics">
                              ${this.nics.map((n) => html`<option value=${n.name}>${n.name}${n.management ? ' (management)' : ''}${n.addresses.length ? ` ${n.addresses.join(', ')}` : ''}${n.up ? '' : ' (down)'}</option>`)}
                            </datalist>`,
                          err('uplink'),
                        )}
                        ${formField('Bridge name', 'bridge', html`<input id="bridge" name="bridge" placeholder="br0" aria-invalid=${!!err('bridge')} />`, err('bridge'))}
                        ${formField('VLAN id (optional)', 'vlanId', html`<input id="vlanId" name="vlanId" type="number" min="1" max="4094" aria-invalid=${!!err('vlanId')} />`, err('vlanId'))}
                      </div>
                      <label
                        ><input type="checkbox" name="confirmManagementMove" /> The NIC carries the management address:
                        move it to the bridge (the host stays reachable; rolled back on failure)</label
                      >
                      ${err('confirmManagementMove') ? html`<div class="field-error" role="alert">${err('confirmManagementMove')}</div>` : nothing}`
              }
              <div style="margin-top:.8rem">
                <button class="primary" type="submit" ?disabled=${this.action.running === 'create'}>
                  ${this.action.running === 'create' ? 'Creating…' : 'Create network'}
                </button>
              </div>
            </form>`
          : nothing
      }
      <h2>Cluster networks</h2>
      ${(this.clusterNets.value ?? []).map(
        (cn) =>
          html`<section class="card" style="margin-bottom:1rem" aria-label="Cluster network ${cn.name}">
            <div class="toolbar" style="margin:0 0 .5rem">
              <strong>${cn.name}</strong
              ><span class="muted"
                >${clusters.find((c) => c.id === cn.clusterId)?.name ?? cn.clusterId} ·
                ${cn.kind}${cn.subnet ? ` · ${cn.subnet}` : ''}${cn.uplink ? ` · over ${cn.uplink}` : ''}</span
              >
              <span class="spacer"></span>
              <button
                aria-label="Refresh cluster network ${cn.name}"
                ?disabled=${this.action.busy}
                @click=${() => this.refreshClusterNetwork(cn)}
              >
                Refresh
              </button>
              ${
                admin
                  ? html`<button
                        ?disabled=${cn.hosts.every((h) => h.state === 'applied')}
                        @click=${() => this.runCluster(() => applyClusterNetwork(cn.clusterId, cn.name))}
                      >
                        Apply again
                      </button>
                      <button
                        class="danger"
                        @click=${() => confirm(`Delete cluster network ${cn.name} from every host?`) && this.runCluster(() => deleteClusterNetwork(cn.clusterId, cn.name))}
                      >
                        Delete
                      </button>`
                  : nothing
              }
            </div>
            <table>
              <thead>
                <tr>
                  <th>Host</th>
                  <th>Status</th>
                  <th>Reason</th>
                </tr>
              </thead>
              <tbody>
                ${cn.hosts.map(
                  (h) =>
                    html`<tr>
                      <td>${h.hostName}</td>
                      <td><qx-state-badge .state=${h.state}></qx-state-badge></td>
                      <td class=${h.state === 'failed' ? 'error' : 'muted'}>
                        ${h.reason || '—'}${admin && h.needsConfirmation ? html` <button @click=${() => this.confirmOnHost(cn, h)}>Confirm and apply</button>` : nothing}
                      </td>
                    </tr>`,
                )}
              </tbody>
            </table>
          </section>`,
      )}
      ${this.clusterNets.empty(`No cluster networks.${clusters.length === 0 ? ' Create a cluster on the Hosts page first.' : ''}`)}
      <h2>Host networks</h2>
      ${[...groups].map(
        ([name, list]) =>
          html`<section class="card" style="margin-bottom:1rem" aria-label="Network ${name}">
            <h2 style="margin-top:0">
              ${name}
              <span class="muted"
                >${list[0].kind}${list[0].subnet ? ` · ${list[0].subnet}` : ''}${list[0].uplink ? ` · over ${list[0].uplink}` : ''}</span
              >
            </h2>
            <table>
              <thead>
                <tr>
                  <th>Host</th>
                  <th>Status</th>
                  <th>Bridge</th>
                  <th>DHCP</th>
                  <th>Leases</th>
                  <th>Used by</th>
                  <th><span class="sr-only">Actions</span></th>
                </tr>
              </thead>
              <tbody>
                ${list.map(
                  (n) =>
                    html`<tr>
                      <td>${hostName(n.hostId)}</td>
                      <td>
                        <qx-state-badge .state=${n.error ? 'failed' : n.active ? 'active' : 'inactive'}></qx-state-badge
                        >${n.error ? html`<div class="error">${n.error}</div>` : nothing}
                      </td>
                      <td class="mono">${n.bridge}${n.vlanId ? ` (VLAN ${n.vlanId})` : ''}</td>
                      <td class="mono">${n.dhcpStart ? `${n.dhcpStart} – ${n.dhcpEnd}` : '—'}</td>
                      <td class="mono">${n.leases.map((l) => `${l.ip} (${l.hostname || l.mac})`).join(', ') || '—'}</td>
                      <td>${n.usedBy.join(', ') || '—'}</td>
                      <td>
                        <button
                          aria-label="Refresh ${n.name} on ${hostName(n.hostId)}"
                          ?disabled=${this.action.busy}
                          @click=${() => this.refreshNetwork(n)}
                        >
                          Refresh
                        </button>
                        ${admin ? html`<button class="danger" ?disabled=${n.usedBy.length > 0} title=${n.usedBy.length ? 'In use by VMs' : ''} @click=${() => this.removeNetwork(n)}>Delete</button>` : nothing}
                      </td>
                    </tr>`,
                )}
              </tbody>
            </table>
          </section>`,
      )}
      ${this.nets.render({ complete: (list) => (list.length ? nothing : emptyView('No host networks.')), pending: () => emptyView('Loading…') })}`;
  }
}
customElements.define('qx-network-list', QxNetworkList);
