// Hosts: list/get/update/remove, joining a remote host (probe → confirmed fingerprint + token →
// Join → pinned mTLS) and joining the appliance's own agent automatically at start. Removing a
// host releases its agent (HostService/Leave) so that it trusts this vDC no longer.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { fingerprintOf } from '@quantix/proto/tls/certificates.js';
import { HostInfo } from '@quantix/proto/v1/host.js';
import type {
  AddHostDto,
  HostDto,
  HostPageDto,
  HostProbeDto,
  ListHostPageQuery,
  RemovedHostDto,
  UpdateHostDto,
} from '../dto/hosts.js';
import { pageHosts } from './host-page.js';
import { conflict, notFound } from '../errors.js';
import type { AgentPool } from '../agents/agent-pool.js';
import { AlreadyJoinedError, joinAgent } from '../agents/enroll.js';
import { sameFingerprint } from '@quantix/proto/tls/pinned-credentials.js';
import { normaliseAddress, probeAgent } from '../agents/tls-probe.js';
import type { ClusterRepo, HostRepo } from '../store/host-repo.js';
import type { HostRecord, VdcRecord } from '../store/records.js';
import type { InventoryService } from './inventory-service.js';
import type { Evacuation } from './evacuation.js';
import { log } from '../log.js';
import type { LocalAgentConfig } from '../config.js';
import { localNetworkAddress } from '../agents/local-network-address.js';

/** An online agent answers Leave at once; an offline one is not waited for long. */
const LEAVE_DEADLINE_MS = 10_000;

export class HostService {
  /** The configuration is shared by several servers (etcd), perhaps of several appliances (compose.ts). */
  sharedStore = false;
  constructor(
    private readonly hosts: HostRepo,
    private readonly clusters: ClusterRepo,
    private readonly pool: AgentPool,
    private readonly inventory: InventoryService,
    private readonly vdc: VdcRecord,
  ) {}

  /** True while this server holds the host connections (the leader; always on the embedded store). */
  private connecting = false;

  /** Connects to every stored host (on taking the lead). */
  startAll(): void {
    this.connecting = true;
    for (const h of this.hosts.list()) this.pool.add(h);
  }

  /** Drops every host connection (on losing the lead). */
  stopAll(): void {
    this.connecting = false;
    this.pool.stop();
  }

  /**
   * Another server changed host `id`'s record (etcd watch): the leader connects to a host another
   * appliance's server joined, follows a new address or certificate, and drops a removed host.
   */
  followRecord(id: string): void {
    if (!this.connecting) return;
    const record = this.hosts.byId(id);
    const c = this.pool.find(id);
    if (!record) {
      if (!c) return;
      this.pool.remove(id);
      this.inventory.hostRemoved(id);
      return;
    }
    if (c && c.record.address === record.address && c.record.fingerprint === record.fingerprint) {
      Object.assign(c.record, record);
      this.inventory.hostChanged(c);
      return;
    }
    this.pool.add({ ...record });
  }

  list(): HostDto[] {
    return this.pool.all().map((c) => this.inventory.hostDto(c));
  }

  /** One page of the host list, filtered and sorted here (host-page.ts); DTOs built for that page only. */
  page(q: ListHostPageQuery): HostPageDto {
    const clusterNames = new Map(this.clusters.list().map((c) => [c.id, c.name]));
    const rows = this.pool.all().map((c) => ({
      id: c.record.id,
      name: c.record.name,
      status: c.status,
      address: c.record.address,
      hostname: c.info?.hostname ?? '',
      clusterId: c.record.clusterId,
      clusterName: (c.record.clusterId && clusterNames.get(c.record.clusterId)) || '',
      maintenance: c.record.maintenance,
      vmCount: c.vms.size,
      joinedMs: Date.parse(c.record.joinedAt) || 0,
      c,
    }));
    return pageHosts(rows, q, (r) => this.inventory.hostDto(r.c));
  }

  get(id: string): HostDto {
    return this.inventory.hostDto(this.pool.get(id));
  }

  async probe(address: string): Promise<HostProbeDto> {
    const p = await probeAgent(address);
    return { address: p.address, fingerprint: p.fingerprint, subject: p.subject, validTo: p.validTo };
  }

  async add(req: AddHostDto): Promise<HostDto> {
    if (req.clusterId && !this.clusters.byId(req.clusterId)) throw notFound(`cluster ${req.clusterId}`);
    const probe = await probeAgent(req.address);
    if (!sameFingerprint(probe.fingerprint, req.fingerprint)) {
      throw conflict(
        `the agent at ${probe.address} presents certificate ${probe.fingerprint}, not the one you confirmed (${req.fingerprint}): probe again and compare with the host's console`,
      );
    }
    const info = await joinAgent({
      address: probe.address,
      certificatePem: probe.certificatePem,
      joinToken: req.joinToken,
      caCertPem: this.vdc.caCertPem,
      vdcId: this.vdc.id,
    });
    const existing = this.hosts.byId(info.hostId);
    const record: HostRecord = {
      id: info.hostId,
      name: req.name ?? existing?.name ?? info.hostname ?? probe.address,
      address: probe.address,
      local: existing?.local ?? false,
      certificatePem: probe.certificatePem,
      fingerprint: probe.fingerprint,
      clusterId: req.clusterId ?? existing?.clusterId ?? null,
      maintenance: existing?.maintenance ?? false,
      joinedAt: new Date().toISOString(),
    };
    await this.hosts.put(record);
    const c = this.pool.add(record);
    c.info = info;
    return this.inventory.hostDto(c);
  }

  /** Set by compose.ts: entering maintenance moves the host's VMs away. */
  evacuation: Evacuation | undefined;

  /** Entering maintenance (again) starts an evacuation; leaving it stops a running one. */
  async update(id: string, req: UpdateHostDto, user = 'system'): Promise<HostDto> {
    const c = this.pool.get(id);
    if (req.clusterId && !this.clusters.byId(req.clusterId)) throw notFound(`cluster ${req.clusterId}`);
    const change: Partial<HostRecord> = {};
    if (req.name !== undefined) change.name = req.name;
    if (req.clusterId !== undefined) change.clusterId = req.clusterId;
    if (req.maintenance !== undefined) change.maintenance = req.maintenance;
    await this.hosts.update(id, change);
    Object.assign(c.record, change);
    if (req.maintenance === true) await this.evacuation?.start(c, req.stoppedVms ?? 'leave', user);
    if (req.maintenance === false) this.evacuation?.stop(c, user);
    this.inventory.hostChanged(c);
    return this.inventory.hostDto(c);
  }

  /**
   * Tells the agent to leave this vDC, then forgets the host. Best effort: an agent that cannot be
   * reached is removed all the same, and the answer says it still trusts this vDC until it is
   * reset at its console.
   */
  async remove(id: string): Promise<RemovedHostDto> {
    const c = this.pool.get(id);
    // This server would join it again at its next start. Another appliance's host can go (that
    // appliance may be gone for good; a live one's server joins it again).
    if (this.pool.isOwnAppliance(c.record))
      throw conflict(`host ${c.record.name} is this appliance's own agent: its server joins it again at every start`);
    let agentReleased = true;
    let message = `host ${c.record.name} removed; its agent left this vDC and shows a new join token`;
    try {
      await c.client.leave(this.vdc.id, LEAVE_DEADLINE_MS);
    } catch (err) {
      agentReleased = false;
      const why = err instanceof Error ? err.message : String(err);
      message = `host ${c.record.name} removed, but its agent could not be told (${why}): unless it was reset at its console, it still trusts this vDC until it is (key R there)`;
      log.warn('removed host: agent not released', { hostId: id, error: why });
    }
    this.pool.remove(id);
    await this.hosts.remove(id);
    this.inventory.hostRemoved(id);
    return { id, agentReleased, message };
  }

  /**
   * This appliance moves into another vDC (joining its control plane): its own agent leaves this
   * one — it keeps its VMs and shows a new join token, which the restarted server joins it with.
   */
  async releaseLocalAgent(): Promise<void> {
    const c = this.pool.all().find((x) => x.record.local);
    if (!c) return;
    await c.client.leave(this.vdc.id, LEAVE_DEADLINE_MS);
    this.pool.remove(c.record.id);
    log.info('local agent left this vDC for the control plane joined', { hostId: c.record.id });
  }

  /**
   * The appliance's own agent: reads its certificate and join token from its data dir and joins
   * it (once); retries in the background until the agent answers.
   */
  async joinLocalAgent(local: LocalAgentConfig, signal: AbortSignal): Promise<void> {
    const { address } = local;
    let delay = 500;
    while (!signal.aborted) {
      try {
        await this.tryJoinLocal(local);
        return;
      } catch (err) {
        if (err instanceof AlreadyJoinedError) {
          // Trying again cannot help: the operator decides (the host's console, or that vDC).
          log.error(
            'local agent not joined: it belongs to another vDC; release it with R on the console or `qx agent leave`',
            {
              address,
              error: err.message,
            },
          );
          return;
        }
        log.warn('local agent not joined yet', { address, error: err instanceof Error ? err.message : String(err) });
        await new Promise((r) => setTimeout(r, delay).unref());
        delay = Math.min(delay * 2, 5_000);
      }
    }
  }

  private async tryJoinLocal({ address, dataDir: agentDataDir, networkAddress }: LocalAgentConfig): Promise<void> {
    const certPem = await readFile(join(agentDataDir, 'identity', 'agent.crt'), 'utf8');
    const fingerprint = fingerprintOf(certPem);
    const locals = this.hosts.list().filter((h) => h.local);
    // On an etcd control plane each appliance has a local host of its own: this one's is the one
    // whose agent presents this certificate; another appliance's is never replaced by this agent.
    const known =
      locals.find((h) => sameFingerprint(h.fingerprint, fingerprint)) ?? (this.sharedStore ? undefined : locals[0]);
    // There every server may lead: the host is recorded under an address all of them reach, and
    // this server alone dials it over its socket.
    const recorded = this.sharedStore && networkAddress ? localNetworkAddress(networkAddress) : undefined;
    // Retried: the management address may come up (DHCP) after the server starts.
    if (this.sharedStore && networkAddress && !recorded)
      throw new Error(`no management address yet for the agent's network address (${networkAddress})`);
    if (recorded) this.pool.localRoute = { fingerprint, address };
    const recordedAddress = recorded ?? normaliseAddress(address);
    if (known && sameFingerprint(known.fingerprint, fingerprint) && known.address === recordedAddress) {
      // Connected (on taking the lead) before this route was known: dial the socket instead.
      const c = this.pool.find(known.id);
      if (c && c.address !== this.pool.dialAddress(known)) this.pool.add(known);
      return;
    }
    const info =
      (await this.alreadyTrusted(agentDataDir)) ??
      (await joinAgent({
        address,
        certificatePem: certPem,
        joinToken: (await readFile(join(agentDataDir, 'join-token'), 'utf8')).trim(),
        caCertPem: this.vdc.caCertPem,
        vdcId: this.vdc.id,
      }).catch(async (err: unknown) => {
        // Another server of this vDC on the same appliance joined it first: it trusts us now.
        const trusted = err instanceof AlreadyJoinedError ? await this.alreadyTrusted(agentDataDir) : undefined;
        if (!trusted) throw err;
        return trusted;
      }));
    if (known && known.id !== info.hostId) {
      this.pool.remove(known.id);
      await this.hosts.remove(known.id);
      this.inventory.hostRemoved(known.id);
    }
    const record: HostRecord = {
      id: info.hostId,
      name: known?.name ?? (info.hostname || 'local'),
      address: recordedAddress,
      local: true,
      certificatePem: certPem,
      fingerprint,
      clusterId: known?.clusterId ?? null,
      maintenance: known?.maintenance ?? false,
      joinedAt: new Date().toISOString(),
    };
    await this.hosts.put(record);
    // A server that does not lead only records the host; the leader connects (followRecord).
    if (this.connecting) {
      const c = this.pool.add(record);
      if (info.hostname) c.info = info;
    }
    log.info('local agent joined', { address, recordedAddress, hostId: info.hostId });
  }

  /**
   * The local agent already trusts this vDC's CA (a join whose reply was lost, or a server
   * restarted without its host record): no token needed, its host id is in its data dir.
   */
  private async alreadyTrusted(agentDataDir: string): Promise<HostInfo | undefined> {
    const ca = await readFile(join(agentDataDir, 'identity', 'vdc-ca.crt'), 'utf8').catch(() => '');
    if (ca.trim() !== this.vdc.caCertPem.trim()) return undefined;
    const hostId = (await readFile(join(agentDataDir, 'identity', 'host-id'), 'utf8')).trim();
    return HostInfo.fromPartial({ hostId, hostname: hostname() });
  }
}
