// One joined host: connects over mTLS (the local host: its private socket), keeps the live inventory (host info, VMs, pools,
// metrics) from GetHostInfo/ListVms/ListPools and the Watch stream, marks the host offline when
// heartbeats stop (>6 s) or the stream fails, and reconnects with exponential backoff.
import { status as grpcStatus, type ClientReadableStream } from '@grpc/grpc-js';
import type { KeyAndCert } from '@quantix/proto/tls/certificates.js';
import type { HostInfo, HostMetrics, VmMetricsBatch, WatchEvent } from '@quantix/proto/v1/host.js';
import type { Pool } from '@quantix/proto/v1/storage.js';
import type { Network } from '@quantix/proto/v1/network.js';
import { Vm, type VmStats } from '@quantix/proto/v1/vm.js';
import type { HostRecord } from '../store/records.js';
import type { HostStatus } from '../dto/enums.js';
import { AgentClient } from './agent-client.js';
import { HttpError } from '../errors.js';
import { probeAgent } from './tls-probe.js';
import { sameFingerprint } from '@quantix/proto/tls/pinned-credentials.js';
import { checkPrivateSocket, unixSocketPath } from '@quantix/proto/fs/private-socket.js';

/** What the inventory layer hears about (it turns these into DTOs and SSE events). */
export interface ConnectionListener {
  hostChanged(c: HostConnection): void;
  vmChanged(c: HostConnection, uuid: string, vm: Vm | undefined): void;
  poolChanged(c: HostConnection, name: string, pool: Pool | undefined): void;
  /** A network was created, changed state (also behind the agent's back) or was removed. */
  networkChanged?(c: HostConnection, name: string, network: Network | undefined): void;
  hostMetrics(c: HostConnection, m: HostMetrics): void;
  vmMetrics(c: HostConnection, batch: VmMetricsBatch): void;
}

const OFFLINE_AFTER_MS = 6_000;
const WATCHDOG_MS = 1_000;
const BACKOFF_MS = [1_000, 2_000, 4_000, 8_000];
const RESYNC_MS = 60_000;

export class HostConnection {
  status: HostStatus = 'connecting';
  statusMessage = '';
  lastSeen = 0;
  /** Set once host info, VMs and pools were read after connecting (the inventory is whole). */
  inventoryRead = false;
  info: HostInfo | undefined;
  metrics: HostMetrics | undefined;
  readonly vms = new Map<string, Vm>();
  readonly vmStats = new Map<string, VmStats>();
  readonly pools = new Map<string, Pool>();
  client: AgentClient;
  private watch: ClientReadableStream<WatchEvent> | undefined;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private resync: NodeJS.Timeout | undefined;
  private stopped = false;
  private generation = 0;
  private readonly refreshing = new Set<string>();

  /**
   * `address`: where this server dials the agent — the record's address, or for its own
   * appliance's agent on a control plane its private socket (the record holds the network address).
   */
  constructor(
    public record: HostRecord,
    clientCert: KeyAndCert,
    private readonly listener: ConnectionListener,
    readonly address = record.address,
  ) {
    this.client = new AgentClient(address, record.certificatePem, clientCert, () => this.record.name);
  }

  get online(): boolean {
    return this.status === 'online';
  }

  start(): void {
    this.watchdog = setInterval(() => this.checkHeartbeat(), WATCHDOG_MS);
    this.watchdog.unref();
    this.resync = setInterval(() => {
      if (this.online) void this.syncVms().catch(() => undefined);
    }, RESYNC_MS);
    this.resync.unref();
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.watchdog);
    clearInterval(this.resync);
    clearTimeout(this.reconnectTimer);
    this.watch?.cancel();
    this.client.close();
  }

  /** Throws 503 "host X is offline" unless connected. */
  requireOnline(): AgentClient {
    if (!this.online) {
      throw new HttpError(
        503,
        `host ${this.record.name} is offline${this.statusMessage ? ` (${this.statusMessage})` : ''}`,
      );
    }
    return this.client;
  }

  /** Re-reads one VM after a change made through the server (or an event). */
  async refreshVm(uuid: string): Promise<Vm | undefined> {
    try {
      const vm = await this.client.getVm(uuid, 10_000);
      this.vms.set(vm.spec!.uuid, vm);
      this.listener.vmChanged(this, vm.spec!.uuid, vm);
      return vm;
    } catch (err) {
      if (err instanceof HttpError && err.status === 404 && this.vms.delete(uuid)) {
        this.listener.vmChanged(this, uuid, undefined);
      }
      return undefined;
    }
  }

  async syncPools(): Promise<void> {
    let pools: Pool[];
    try {
      pools = (await this.client.listPools(10_000)).pools;
    } catch (err) {
      if (err instanceof HttpError && err.status === 501) return;
      throw err;
    }
    const seen = new Set(pools.map((p) => p.name));
    for (const name of [...this.pools.keys()]) {
      if (!seen.has(name)) {
        this.pools.delete(name);
        this.listener.poolChanged(this, name, undefined);
      }
    }
    for (const p of pools) {
      this.pools.set(p.name, p);
      this.listener.poolChanged(this, p.name, p);
    }
  }

  private async syncVms(): Promise<void> {
    const { vms } = await this.client.listVms(15_000);
    const seen = new Set(vms.map((v) => v.spec!.uuid));
    for (const uuid of [...this.vms.keys()]) {
      if (!seen.has(uuid)) {
        this.vms.delete(uuid);
        this.listener.vmChanged(this, uuid, undefined);
      }
    }
    for (const vm of vms) {
      const known = this.vms.get(vm.spec!.uuid);
      this.vms.set(vm.spec!.uuid, vm);
      if (!known || !sameVm(known, vm)) this.listener.vmChanged(this, vm.spec!.uuid, vm);
    }
  }

  /**
   * Online as soon as the watch stream delivers its first event (the agent sends a heartbeat at
   * once); host info, VMs and pools are read next and retried while libvirt is slow.
   */
  private async connect(): Promise<void> {
    if (this.stopped) return;
    const gen = ++this.generation;
    try {
      // The local socket is trusted for its file modes: checked before every (re)connect.
      const socket = unixSocketPath(this.address);
      if (socket !== undefined) await checkPrivateSocket(socket);
      await this.openWatch(gen);
      if (gen !== this.generation) return;
      this.attempt = 0;
      this.lastSeen = Date.now();
      this.setStatus('online', '');
      void this.syncInventory(gen);
    } catch (err) {
      if (gen !== this.generation) return;
      await this.fail(gen, await this.explain(err));
    }
  }

  private async syncInventory(gen: number): Promise<void> {
    while (gen === this.generation && !this.stopped) {
      try {
        const info = await this.client.getHostInfo(60_000);
        if (info.hostId !== this.record.id) {
          await this.fail(gen, `a different agent (host id ${info.hostId}) answers at ${this.address}`);
          return;
        }
        this.info = info;
        await this.syncVms().catch((err: unknown) => {
          if (!(err instanceof HttpError && err.status === 501)) throw err;
        });
        await this.syncPools();
        if (gen === this.generation) this.setStatus('online', '');
        this.inventoryRead = true;
        this.listener.hostChanged(this);
        return;
      } catch (err) {
        if (gen !== this.generation) return;
        this.setStatus('online', `inventory not read yet: ${err instanceof Error ? err.message : String(err)}`);
        await new Promise((r) => setTimeout(r, 5_000).unref());
      }
    }
  }

  /** Opens the watch stream; resolves on its first event, rejects if it fails before one. */
  private openWatch(gen: number): Promise<void> {
    this.watch?.cancel();
    const call = this.client.watch(5_000);
    this.watch = call;
    return new Promise<void>((resolve, reject) => {
      let first = true;
      const timer = setTimeout(() => {
        call.cancel();
        reject(new Error(`host ${this.record.name} sent no heartbeat within 15 s`));
      }, 15_000);
      call.on('data', (e: WatchEvent) => {
        if (first) {
          first = false;
          clearTimeout(timer);
          resolve();
        }
        this.onEvent(e);
      });
      call.on('error', (err: Error & { code?: number; details?: string }) => {
        clearTimeout(timer);
        if (first) return reject(this.client.mapError(err));
        if (gen !== this.generation || err.code === grpcStatus.CANCELLED) return;
        void this.fail(gen, `watch stream failed: ${err.details ?? String(err)}`);
      });
      call.on('end', () => {
        clearTimeout(timer);
        if (first) return reject(new Error('the agent closed the watch stream'));
        if (gen === this.generation && !this.stopped) void this.fail(gen, 'the agent closed the watch stream');
      });
    });
  }

  private onEvent(e: WatchEvent): void {
    this.lastSeen = Date.now();
    const ev = e.event;
    if (!ev) return;
    switch (ev.$case) {
      case 'heartbeat':
        break;
      case 'vmState': {
        const s = ev.value;
        const known = this.vms.get(s.uuid);
        if (s.removed) {
          if (this.vms.delete(s.uuid)) this.listener.vmChanged(this, s.uuid, undefined);
          break;
        }
        if (known) {
          known.state = s.state;
          known.stateChangedMs = s.timestampMs;
          this.listener.vmChanged(this, s.uuid, known);
        }
        this.scheduleRefresh(s.uuid);
        break;
      }
      case 'hostMetrics':
        this.metrics = ev.value;
        this.listener.hostMetrics(this, ev.value);
        break;
      case 'vmMetrics':
        for (const st of ev.value.stats) this.vmStats.set(st.uuid, st);
        this.listener.vmMetrics(this, ev.value);
        break;
      case 'pool':
        if (ev.value.removed || !ev.value.pool) {
          const name = ev.value.pool?.name ?? '';
          if (this.pools.delete(name)) this.listener.poolChanged(this, name, undefined);
        } else {
          this.pools.set(ev.value.pool.name, ev.value.pool);
          this.listener.poolChanged(this, ev.value.pool.name, ev.value.pool);
        }
        break;
      case 'network':
        this.listener.networkChanged?.(
          this,
          ev.value.network?.spec?.name ?? '',
          ev.value.removed ? undefined : ev.value.network,
        );
        break;
    }
  }

  private scheduleRefresh(uuid: string): void {
    if (this.refreshing.has(uuid)) return;
    this.refreshing.add(uuid);
    setTimeout(() => {
      this.refreshing.delete(uuid);
      void this.refreshVm(uuid);
    }, 200).unref();
  }

  private checkHeartbeat(): void {
    if (this.status === 'online' && Date.now() - this.lastSeen > OFFLINE_AFTER_MS) {
      void this.fail(this.generation, `no heartbeat for ${Math.round((Date.now() - this.lastSeen) / 1000)} s`);
    }
  }

  private async fail(gen: number, message: string): Promise<void> {
    if (gen !== this.generation || this.stopped) return;
    this.generation++;
    this.watch?.cancel();
    this.watch = undefined;
    this.setStatus('offline', message);
    const delay = BACKOFF_MS[Math.min(this.attempt++, BACKOFF_MS.length - 1)]!;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => void this.connect(), delay);
    this.reconnectTimer.unref();
  }

  /** A connection error in words; detects a changed agent certificate. */
  private async explain(err: unknown): Promise<string> {
    const msg = err instanceof Error ? err.message : String(err);
    if (unixSocketPath(this.address) !== undefined) return msg; // no certificate on the socket
    try {
      const seen = await probeAgent(this.address, 2_000);
      if (!sameFingerprint(seen.fingerprint, this.record.fingerprint)) {
        return `the agent's certificate changed (pinned ${this.record.fingerprint}, presented ${seen.fingerprint}); connection refused — remove and re-add the host if this is expected`;
      }
    } catch {
      // Unreachable: the original error says why.
    }
    return msg;
  }

  private setStatus(s: HostStatus, message: string): void {
    const changed = s !== this.status || message !== this.statusMessage;
    this.status = s;
    this.statusMessage = message;
    if (changed) this.listener.hostChanged(this);
  }
}

/** Same content (the periodic resync only reports VMs that really changed). */
function sameVm(a: Vm, b: Vm): boolean {
  return Buffer.from(Vm.encode(a).finish()).equals(Buffer.from(Vm.encode(b).finish()));
}
