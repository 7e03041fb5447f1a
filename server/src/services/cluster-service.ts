// Clusters (named groups of hosts) and placement: the host in the cluster with the most free
// memory that has the chosen pool (active) and is online and not in maintenance; a host chosen
// by hand is refused while in maintenance (refuseNewVms); an agent of a version this vDC does not
// support (agent-version.ts) is never chosen. With the VM's guest hardware, hosts
// that cannot run its CPU model, Secure Boot or TPM are skipped (cpu-compat.ts).
import { randomUUID } from 'node:crypto';
import type { ClusterDto, PlacementDto } from '../dto/hosts.js';
import { conflict, notFound } from '../errors.js';
import type { AgentPool } from '../agents/agent-pool.js';
import type { HostConnection } from '../agents/host-connection.js';
import type { ClusterRepo, HostRepo } from '../store/host-repo.js';
import type { ClusterNetworkRepo } from '../store/cluster-network-repo.js';
import type { ClusterRecord } from '../store/records.js';
import type { EventHub } from './event-hub.js';
import { guestHardwareIncompatibility, type GuestHardware } from './cpu-compat.js';
import { freeMemory, type InventoryService } from './inventory-service.js';
import { PoolState } from '@quantix/proto/v1/storage.js';

/** Why a host cannot take a VM on these networks ('' = it can); cluster networks answer it. */
export type NetworkCheck = (hostId: string, networks: readonly string[]) => string;

/** 409 when new VMs may not go to this host (it is in maintenance), for hosts chosen by hand. */
export function refuseNewVms(c: HostConnection): void {
  if (c.record.maintenance) throw conflict(`host ${c.record.name} is in maintenance: no new VMs are placed there`);
}

export class ClusterService {
  /** Set by compose.ts once the cluster-network service exists. */
  networkCheck: NetworkCheck = () => '';

  constructor(
    private readonly clusters: ClusterRepo,
    private readonly hosts: HostRepo,
    private readonly clusterNetworks: ClusterNetworkRepo,
    private readonly pool: AgentPool,
    private readonly inventory: InventoryService,
    private readonly events: EventHub,
  ) {}

  list(): ClusterDto[] {
    return this.clusters.list().map((c) => this.dto(c));
  }

  get(id: string): ClusterDto {
    return this.dto(this.record(id));
  }

  async create(name: string, hostIds: string[] = []): Promise<ClusterDto> {
    this.checkName(name);
    for (const h of hostIds) if (!this.hosts.byId(h)) throw notFound(`host ${h}`);
    const c: ClusterRecord = { id: randomUUID(), name, createdAt: new Date().toISOString() };
    await this.clusters.change(() => {
      this.clusters.list().push(c);
      for (const h of this.hosts.list()) if (hostIds.includes(h.id)) h.clusterId = c.id;
    });
    return this.changed(c);
  }

  async update(id: string, change: { name?: string; hostIds?: string[] }): Promise<ClusterDto> {
    const c = this.record(id);
    if (change.name !== undefined && change.name !== c.name) this.checkName(change.name);
    for (const h of change.hostIds ?? []) if (!this.hosts.byId(h)) throw notFound(`host ${h}`);
    await this.clusters.change(() => {
      if (change.name !== undefined) c.name = change.name;
      if (change.hostIds) {
        for (const h of this.hosts.list()) {
          if (change.hostIds.includes(h.id)) h.clusterId = id;
          else if (h.clusterId === id) h.clusterId = null;
        }
      }
    });
    return this.changed(c);
  }

  /**
   * Refused (409) while the cluster has cluster networks: they are applied on its hosts and VMs
   * may use them, so deleting the cluster must neither forget them silently (leaving networks on
   * the hosts that nothing manages) nor tear them down as a side effect. The operator deletes
   * them first (DELETE …/networks/:name), which removes them from the hosts or says why not.
   */
  async remove(id: string): Promise<void> {
    const c = this.record(id);
    const networks = this.clusterNetworks.list(id).map((n) => n.name);
    if (networks.length) {
      throw conflict(`cluster ${c.name} still has cluster networks (${networks.join(', ')}): delete them first`);
    }
    await this.clusters.remove(id);
    for (const conn of this.pool.all()) this.inventory.hostChanged(conn);
    this.events.publish('cluster', { id, removed: true });
  }

  /** Candidates ranked; the first eligible one wins. 409 when none is eligible. */
  placement(
    clusterId: string | undefined,
    poolName: string,
    memoryMib = 0,
    networks: readonly string[] = [],
    hardware?: GuestHardware,
  ): PlacementDto {
    if (clusterId) this.record(clusterId);
    const conns = this.pool.all().filter((c) => !clusterId || c.record.clusterId === clusterId);
    const candidates = conns
      .map((c) => ({
        c,
        reason:
          this.ineligible(c, poolName, memoryMib) ||
          this.networkCheck(c.record.id, networks) ||
          (hardware ? guestHardwareIncompatibility(hardware, c.info) : ''),
      }))
      .sort((a, b) => freeMemory(b.c) - freeMemory(a.c))
      .map(({ c, reason }) => ({
        hostId: c.record.id,
        hostName: c.record.name,
        memoryFreeBytes: freeMemory(c),
        eligible: reason === '',
        reason,
      }));
    const best = candidates.find((x) => x.eligible);
    if (!best) {
      const where = clusterId ? `cluster ${this.record(clusterId).name}` : 'any host';
      const why = candidates.map((x) => `${x.hostName}: ${x.reason}`).join('; ');
      throw conflict(`no host in ${where} can take a VM on pool "${poolName}"${why ? ` (${why})` : ' (no hosts)'}`);
    }
    return { hostId: best.hostId, hostName: best.hostName, memoryFreeBytes: best.memoryFreeBytes, candidates };
  }

  private ineligible(c: HostConnection, poolName: string, memoryMib: number): string {
    if (!c.online) return 'offline';
    if (c.record.maintenance) return 'in maintenance';
    const version = this.inventory.agentVersionOf(c.info?.agentVersion ?? '');
    if (version.agentVersionStatus === 'unsupported') return version.agentVersionMessage;
    const p = c.pools.get(poolName);
    if (!p) return `no pool "${poolName}"`;
    if (p.state !== PoolState.POOL_STATE_ACTIVE) return `pool "${poolName}" is not active`;
    if (memoryMib && freeMemory(c) < memoryMib * 1_048_576) return 'not enough free memory';
    return '';
  }

  private checkName(name: string): void {
    if (this.clusters.list().some((c) => c.name === name)) throw conflict(`cluster "${name}" already exists`);
  }

  private record(id: string): ClusterRecord {
    const c = this.clusters.byId(id);
    if (!c) throw notFound(`cluster ${id}`);
    return c;
  }

  private dto(c: ClusterRecord): ClusterDto {
    return {
      id: c.id,
      name: c.name,
      hostIds: this.hosts
        .list()
        .filter((h) => h.clusterId === c.id)
        .map((h) => h.id),
      createdAt: c.createdAt,
    };
  }

  private changed(c: ClusterRecord): ClusterDto {
    for (const conn of this.pool.all()) if (conn.record.clusterId === c.id) this.inventory.hostChanged(conn);
    const dto = this.dto(c);
    this.events.publish('cluster', dto);
    return dto;
  }
}
