// Cluster networks: defined once per cluster, applied through each host's agent as a host network,
// with the outcome per host. Hosts that join the cluster (or come online) get the missing ones.
// Moving a host's management address to a bridge needs a confirmation for that host: the one given
// at creation covers the members of that moment only. Placement asks placementProblem().
import type { ApplyClusterNetworkHostDto, ClusterNetworkDto, ClusterNetworkHostDto } from '../dto/cluster-networks.js';
import type { CreateNetworkDto } from '../dto/networks.js';
import { conflict, HttpError, notFound } from '../errors.js';
import type { AgentPool } from '../agents/agent-pool.js';
import type { ClusterRepo, HostRepo } from '../store/host-repo.js';
import type { ClusterNetworkRepo } from '../store/cluster-network-repo.js';
import type { ClusterNetworkRecord, HostRecord } from '../store/records.js';
import type { EventHub } from './event-hub.js';
import { networkFields, type NetworkService } from './network-service.js';
import { log } from '../log.js';

export class ClusterNetworkService {
  private readonly inFlight = new Map<string, Promise<void>>();
  private reconcileQueued = false;

  constructor(
    private readonly repo: ClusterNetworkRepo,
    private readonly hosts: HostRepo,
    private readonly clusters: ClusterRepo,
    private readonly pool: AgentPool,
    private readonly networks: NetworkService,
    private readonly events: EventHub,
  ) {
    // A host event means a status or membership change: the moment to bring it up to date.
    events.on('event', (name) => {
      if (name === 'host' || name === 'cluster') this.reconcileSoon();
    });
  }

  list(clusterId: string): ClusterNetworkDto[] {
    this.cluster(clusterId);
    return this.repo.list(clusterId).map((n) => this.dto(n));
  }

  get(clusterId: string, name: string): ClusterNetworkDto {
    return this.dto(this.record(clusterId, name));
  }

  /**
   * Stores the network and applies it to every host of the cluster; per-host failures are in the reply.
   * `confirmManagementMove` applies to these hosts now and is not stored.
   */
  async create(clusterId: string, req: CreateNetworkDto): Promise<ClusterNetworkDto> {
    this.cluster(clusterId);
    if (this.repo.get(clusterId, req.name)) throw conflict(`cluster network "${req.name}" already exists`);
    const { confirmManagementMove, ...spec } = req;
    const rec: ClusterNetworkRecord = {
      clusterId,
      name: spec.name,
      spec,
      createdAt: new Date().toISOString(),
      hosts: [],
    };
    await this.repo.add(rec);
    await Promise.all(this.members(clusterId).map((h) => this.applyToHost(rec, h, confirmManagementMove === true)));
    return this.changed(rec);
  }

  /** Applies again wherever the network is not applied yet (without moving a management address). */
  async apply(clusterId: string, name: string): Promise<ClusterNetworkDto> {
    const rec = this.record(clusterId, name);
    await Promise.all(
      this.members(clusterId)
        .filter((h) => rec.hosts.find((s) => s.hostId === h.id)?.state !== 'applied')
        .map((h) => this.applyToHost(rec, h)),
    );
    return this.changed(rec);
  }

  /** Applies on one member host where it is not applied yet, with the operator's confirmation if given. */
  async applyOnHost(
    clusterId: string,
    name: string,
    hostId: string,
    req: ApplyClusterNetworkHostDto,
  ): Promise<ClusterNetworkDto> {
    const rec = this.record(clusterId, name);
    const host = this.members(clusterId).find((h) => h.id === hostId);
    if (!host) throw notFound(`host ${hostId} in the cluster`);
    await this.inFlight.get(this.key(rec, host))?.catch(() => undefined);
    if (rec.hosts.find((s) => s.hostId === hostId)?.state !== 'applied') {
      await this.applyToHost(rec, host, req.confirmManagementMove === true);
    }
    return this.changed(rec);
  }

  /** Deletes it from every host; 409 naming the hosts that refused (the record stays then). */
  async delete(clusterId: string, name: string): Promise<void> {
    const rec = this.record(clusterId, name);
    const refused: string[] = [];
    for (const h of this.members(clusterId)) {
      const state = rec.hosts.find((s) => s.hostId === h.id)?.state;
      if (state !== 'applied') continue;
      try {
        await this.networks.delete(h.id, name);
        await this.repo.setHost(rec, {
          hostId: h.id,
          state: 'pending',
          reason: 'removed from this host',
          updatedAt: now(),
        });
      } catch (err) {
        if (err instanceof HttpError && err.status === 404) continue;
        refused.push(`${h.name}: ${(err as Error).message}`);
      }
    }
    if (refused.length) {
      this.changed(rec);
      throw conflict(`cluster network "${name}" is still on some hosts (${refused.join('; ')})`);
    }
    await this.repo.remove(clusterId, name);
    this.events.publish('cluster-network', { clusterId, name, removed: true });
  }

  /** "" when every network in `names` that is a network of the host's cluster is applied there; else why not. */
  placementProblem(hostId: string, names: readonly string[]): string {
    const host = this.hosts.byId(hostId);
    if (!host?.clusterId) return '';
    for (const name of names) {
      const rec = this.repo.get(host.clusterId, name);
      if (!rec) continue;
      const s = rec.hosts.find((x) => x.hostId === hostId);
      if (s?.state !== 'applied') return `network "${name}" is not applied here${s?.reason ? ` (${s.reason})` : ''}`;
    }
    return '';
  }

  private reconcileSoon(): void {
    if (this.reconcileQueued) return;
    this.reconcileQueued = true;
    setImmediate(() => {
      this.reconcileQueued = false;
      void this.reconcile().catch((err: unknown) =>
        log.warn('cluster networks: reconcile failed', { error: String(err) }),
      );
    });
  }

  /** New members and pending hosts that are online get the cluster's networks. */
  private async reconcile(): Promise<void> {
    for (const rec of this.repo.list()) {
      if (!this.clusters.byId(rec.clusterId)) continue;
      const todo = this.members(rec.clusterId).filter((h) => {
        const s = rec.hosts.find((x) => x.hostId === h.id);
        return (!s || s.state === 'pending') && this.pool.all().some((c) => c.record.id === h.id && c.online);
      });
      if (todo.length === 0) continue;
      await Promise.all(todo.map((h) => this.applyToHost(rec, h)));
      this.changed(rec);
    }
  }

  private key(rec: ClusterNetworkRecord, host: HostRecord): string {
    return `${rec.clusterId}/${rec.name}/${host.id}`;
  }

  /** `confirm` only where the operator confirmed a management move for this host, at this moment. */
  private applyToHost(rec: ClusterNetworkRecord, host: HostRecord, confirm = false): Promise<void> {
    const key = this.key(rec, host);
    const running = this.inFlight.get(key);
    if (running) return running;
    const p = this.createOnHost(rec, host, confirm).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, p);
    return p;
  }

  private async createOnHost(rec: ClusterNetworkRecord, host: HostRecord, confirm: boolean): Promise<void> {
    const conn = this.pool.all().find((c) => c.record.id === host.id);
    if (!conn?.online) {
      await this.repo.setHost(rec, {
        hostId: host.id,
        state: 'pending',
        reason: 'host is offline; applied when it connects',
        updatedAt: now(),
      });
      return;
    }
    try {
      // A record stored before the confirmation stopped being stored may still carry one: never reuse it.
      await this.networks.create(host.id, { ...rec.spec, confirmManagementMove: confirm });
      await this.repo.setHost(rec, { hostId: host.id, state: 'applied', reason: '', updatedAt: now() });
    } catch (err) {
      if (refusedManagementMove(err)) {
        await this.repo.setHost(rec, {
          hostId: host.id,
          state: 'failed',
          reason:
            `needs confirmation: NIC ${rec.spec.uplink ?? ''} carries the management address of host ${host.name}; ` +
            'confirm on this host to move its addresses and routes to the bridge',
          needsConfirmation: true,
          updatedAt: now(),
        });
        return;
      }
      const reason = await this.alreadyThere(host.id, rec.spec, err);
      await this.repo.setHost(rec, { hostId: host.id, state: reason ? 'failed' : 'applied', reason, updatedAt: now() });
    }
  }

  /** After a failed create: "" when an identical network is already on the host, else the reason. */
  private async alreadyThere(hostId: string, spec: CreateNetworkDto, err: unknown): Promise<string> {
    const message = err instanceof Error ? err.message : String(err);
    if (!(err instanceof HttpError && err.status === 409 && /already exists/.test(message))) return message;
    try {
      const n = await this.networks.get(hostId, spec.name);
      const same =
        n.kind === spec.kind &&
        (spec.kind === 'bridged'
          ? n.uplink === (spec.uplink ?? '') && n.vlanId === (spec.vlanId ?? 0)
          : n.subnet === spec.subnet);
      return same
        ? ''
        : `a different network named "${spec.name}" exists on this host (${n.kind} ${n.subnet || n.uplink})`;
    } catch {
      return message;
    }
  }

  private members(clusterId: string): HostRecord[] {
    return this.hosts.list().filter((h) => h.clusterId === clusterId);
  }

  private cluster(id: string) {
    const c = this.clusters.byId(id);
    if (!c) throw notFound(`cluster ${id}`);
    return c;
  }

  private record(clusterId: string, name: string): ClusterNetworkRecord {
    this.cluster(clusterId);
    const rec = this.repo.get(clusterId, name);
    if (!rec) throw notFound(`cluster network "${name}"`);
    return rec;
  }

  private dto(rec: ClusterNetworkRecord): ClusterNetworkDto {
    const hosts: ClusterNetworkHostDto[] = this.members(rec.clusterId).map((h) => {
      const s = rec.hosts.find((x) => x.hostId === h.id);
      return {
        hostId: h.id,
        hostName: h.name,
        state: s?.state ?? 'pending',
        reason: s ? s.reason : 'not applied yet',
        needsConfirmation: s?.needsConfirmation === true,
        updatedAt: s?.updatedAt ?? rec.createdAt,
      };
    });
    return {
      clusterId: rec.clusterId,
      ...networkFields(rec.spec),
      name: rec.name,
      createdAt: rec.createdAt,
      hosts,
    };
  }

  private changed(rec: ClusterNetworkRecord): ClusterNetworkDto {
    const dto = this.dto(rec);
    this.events.publish('cluster-network', dto);
    return dto;
  }
}

const now = () => new Date().toISOString();

/** The agent's refusal to move a management address without confirm_management_move (a 409 naming that field). */
function refusedManagementMove(err: unknown): boolean {
  return err instanceof HttpError && err.status === 409 && err.message.startsWith('spec.confirm_management_move:');
}
