// The live inventory as REST DTOs: listens to every HostConnection, keeps a serialised JSON
// fragment per VM (re-serialised only when that VM changed) so GET /vms stays cheap with
// thousands of VMs, and publishes host/vm/pool/network/metrics events for SSE.
import { agentVersionStatus } from './agent-version.js';
import { gzipSync } from 'node:zlib';
import type { HostMetrics, VmMetricsBatch } from '@quantix/proto/v1/host.js';
import type { Pool } from '@quantix/proto/v1/storage.js';
import type { Network } from '@quantix/proto/v1/network.js';
import type { Vm } from '@quantix/proto/v1/vm.js';
import type { HostDto } from '../dto/hosts.js';
import type { PoolDto } from '../dto/storage.js';
import type { VmDto } from '../dto/vms.js';
import type { ConnectionListener, HostConnection } from '../agents/host-connection.js';
import type { EventHub } from './event-hub.js';
import type { MetricsHistory } from './metrics-history.js';
import { toHostMetricsDto, toNetworkDto, toPoolDto, toVmDto, toVmStatsDto } from './dto-mapping.js';
import { cpuMode } from './proto-enums.js';

const STATS_REFRESH_MS = 30_000;

interface VmEntry {
  hostId: string;
  uuid: string;
  json: string | undefined;
}

export class InventoryService implements ConnectionListener {
  private readonly vms = new Map<string, VmEntry>();
  /** Bumped on every VM/host change; the last GET /vms reply is reused while it holds. */
  private version = 0;
  private statsBumpedAt = 0;
  private lastList: { version: number; key: string; body: Buffer; gzip?: Buffer } | undefined;

  /** Whether a host is this server's own appliance agent (set by compose.ts: the pool knows). */
  ownAppliance: (r: HostConnection['record']) => boolean = (r) => r.local;
  /** Set by compose.ts from the evacuation service. */
  maintenanceOf: (c: HostConnection) => Pick<HostDto, 'maintenanceState' | 'evacuationTaskId'> = (c) => ({
    maintenanceState: c.record.maintenance ? 'in' : 'off',
    evacuationTaskId: null,
  });

  constructor(
    private readonly events: EventHub,
    private readonly history?: MetricsHistory,
    /** This vDC's version, which agents' versions are held against ('' = none checked). */
    private readonly serverVersion = '',
  ) {}

  /** The host's agent version against this vDC's (agent-version.ts). */
  agentVersionOf(agent: string): Pick<HostDto, 'agentVersionStatus' | 'agentVersionMessage'> {
    const { status, message } = agentVersionStatus(this.serverVersion, agent);
    return { agentVersionStatus: status, agentVersionMessage: message };
  }

  /** The host's appliance system; this server's own appliance updates through ApplianceUpdate.apply instead. */
  systemOf(c: HostConnection): HostDto['system'] {
    const a = c.info?.appliance;
    if (!a) return { installed: false, version: '', slot: '', updateBlocker: 'the host has not reported its system' };
    const own = this.ownAppliance(c.record) && 'this server’s own appliance: update it under Appliance › Updates';
    return { installed: a.installed, version: a.version, slot: a.slot, updateBlocker: own || a.updateBlocker };
  }

  hostDto(c: HostConnection): HostDto {
    const r = c.record;
    const i = c.info;
    const m = c.metrics;
    return {
      id: r.id,
      name: r.name,
      address: r.address,
      local: this.ownAppliance(r),
      appliance: r.local,
      status: c.status,
      statusMessage: c.statusMessage,
      lastSeenAt: c.lastSeen ? new Date(c.lastSeen).toISOString() : null,
      clusterId: r.clusterId,
      maintenance: r.maintenance,
      ...this.maintenanceOf(c),
      fingerprint: r.fingerprint,
      hostname: i?.hostname ?? '',
      cpuModel: i?.cpuModel ?? '',
      cpuCount: i?.cpuCount ?? 0,
      memoryTotalBytes: m?.memoryTotalBytes || i?.memoryTotalBytes || 0,
      memoryFreeBytes: freeMemory(c),
      domainType: i?.domainType ?? '',
      libvirtVersion: i?.libvirtVersion ?? '',
      qemuVersion: i?.qemuVersion ?? '',
      agentVersion: i?.agentVersion ?? '',
      ...this.agentVersionOf(i?.agentVersion ?? ''),
      osRelease: i?.osRelease ?? '',
      kernel: i?.kernel ?? '',
      addresses: i?.addresses ?? [],
      cpuModels: i?.cpuModels ?? [],
      cpuModes: (i?.cpuModes ?? []).map((m) => cpuMode.str(m)).filter((m) => m !== 'default'),
      secureBoot: i?.secureBoot ?? false,
      tpm: i?.tpm ?? false,
      system: this.systemOf(c),
      vmCount: c.vms.size,
      metrics: m ? toHostMetricsDto(m) : null,
      joinedAt: r.joinedAt,
    };
  }

  vmDto(c: HostConnection, vm: Vm): VmDto {
    return toVmDto(vm, { id: c.record.id, name: c.record.name, online: c.online }, c.vmStats.get(vm.spec!.uuid));
  }

  /** The GET /vms reply gzip-compressed (level 1), made once per version of the list. */
  vmsJsonGzip(hosts: HostConnection[]): Buffer {
    this.vmsJson(hosts);
    const last = this.lastList!;
    last.gzip ??= gzipSync(last.body, { level: 1 });
    return last.gzip;
  }

  /** GET /vms as JSON bytes, built from cached per-VM fragments; reused until something changes. */
  vmsJson(hosts: HostConnection[]): Buffer {
    const key = hosts.map((c) => c.record.id).join(',');
    if (this.lastList && this.lastList.version === this.version && this.lastList.key === key) return this.lastList.body;
    const version = this.version;
    const parts: string[] = [];
    for (const c of hosts) {
      for (const [uuid, vm] of c.vms) {
        let e = this.vms.get(uuid);
        if (!e || e.hostId !== c.record.id) {
          e = { hostId: c.record.id, uuid, json: undefined };
          this.vms.set(uuid, e);
        }
        e.json ??= JSON.stringify(this.vmDto(c, vm));
        parts.push(e.json);
      }
    }
    const body = Buffer.from(`[${parts.join(',')}]`);
    this.lastList = { version, key, body };
    return body;
  }

  poolDtos(c: HostConnection): PoolDto[] {
    return [...c.pools.values()].map((p) => toPoolDto(p, { id: c.record.id, name: c.record.name }));
  }

  /** A host's name, status or membership changed: every VM fragment of it is stale. */
  hostChanged(c: HostConnection): void {
    this.version++;
    this.invalidateHost(c.record.id);
    this.events.publish('host', this.hostDto(c));
  }

  hostRemoved(id: string): void {
    this.version++;
    void this.history?.hostRemoved(id);
    this.invalidateHost(id);
    this.events.publish('host', { id, removed: true });
  }

  vmChanged(c: HostConnection, uuid: string, vm: Vm | undefined): void {
    this.version++;
    if (!vm) {
      this.vms.delete(uuid);
      this.history?.vmDropped(uuid);
      this.events.publish('vm', { id: uuid, hostId: c.record.id, removed: true });
      return;
    }
    const e = this.vms.get(uuid);
    if (e) e.json = undefined;
    if (this.events.listenerCount('event') > 0) this.events.publish('vm', this.vmDto(c, vm));
  }

  poolChanged(c: HostConnection, name: string, pool: Pool | undefined): void {
    if (this.events.listenerCount('event') === 0) return;
    this.events.publish(
      'pool',
      pool
        ? { hostId: c.record.id, pool: toPoolDto(pool, { id: c.record.id, name: c.record.name }) }
        : { hostId: c.record.id, name, removed: true },
    );
  }

  networkChanged(c: HostConnection, name: string, network: Network | undefined): void {
    if (this.events.listenerCount('event') === 0) return;
    this.events.publish(
      'network',
      network
        ? { hostId: c.record.id, network: toNetworkDto(network, c.record.id) }
        : { hostId: c.record.id, name, removed: true },
    );
  }

  hostMetrics(c: HostConnection, m: HostMetrics): void {
    this.history?.addHost(c.record.id, m);
    if (this.events.listenerCount('event') > 0)
      this.events.publish('host-metrics', { hostId: c.record.id, metrics: toHostMetricsDto(m) });
  }

  vmMetrics(c: HostConnection, batch: VmMetricsBatch): void {
    // Stats alone refresh the cached list at most every 30 s (live figures travel over SSE).
    if (Date.now() - this.statsBumpedAt > STATS_REFRESH_MS) {
      this.statsBumpedAt = Date.now();
      this.version++;
    }
    for (const s of batch.stats) {
      this.history?.addVm(s);
      const e = this.vms.get(s.uuid);
      if (e) e.json = undefined;
    }
    if (this.events.listenerCount('event') > 0) {
      this.events.publish('vm-metrics', {
        hostId: c.record.id,
        stats: batch.stats.map((s) => ({ id: s.uuid, ...toVmStatsDto(s) })),
      });
    }
  }

  private invalidateHost(hostId: string): void {
    for (const e of this.vms.values()) if (e.hostId === hostId) e.json = undefined;
  }
}

/** Free memory from the latest metrics, else from the host info. */
export function freeMemory(c: HostConnection): number {
  const m = c.metrics;
  if (m && m.memoryTotalBytes) return Math.max(0, m.memoryTotalBytes - m.memoryUsedBytes);
  return c.info?.memoryFreeBytes ?? 0;
}
