// The events log: turns what the server hears on the event hub (VM state changes, hosts going
// offline/online, pools failing, networks stopping, tasks failing) into events with a severity, appends them (EventRepo),
// publishes each as the SSE event "event" and hands it to the webhook notifier.
import { randomUUID } from 'node:crypto';
import type { EventDto, EventSeverity } from '../dto/events.js';
import { EVENT_SEVERITIES } from '../dto/events.js';
import type { HostDto } from '../dto/hosts.js';
import type { NetworkDto } from '../dto/networks.js';
import type { PoolDto } from '../dto/storage.js';
import type { TaskDto } from '../dto/tasks.js';
import type { VmDto } from '../dto/vms.js';
import type { EventRepo } from '../store/event-repo.js';
import { log } from '../log.js';
import type { EventHub, EventName } from './event-hub.js';

/** Tasks that stop a VM on purpose: a stop while one ran (or shortly after) is expected. */
const STOPPING_TASKS = new Set(['vm.shutdown', 'vm.force-off', 'vm.delete', 'vm.reboot', 'vm.reset', 'vm.pause']);
/** How long after such a task a stop still counts as requested (the state event may lag). */
const EXPECTED_FOR_MS = 60_000;
const ACTIVE_STATES = new Set(['running', 'paused', 'blocked', 'shutting-down', 'pmsuspended']);

export interface EventFilter {
  severity?: EventSeverity;
  kind?: string;
  target?: string;
  since?: string;
}

export type EventInput = Pick<EventDto, 'severity' | 'kind' | 'message'> & {
  target: Partial<EventDto['target']> & { type: string; id: string };
};

export class EventLogService {
  private readonly vmStates = new Map<string, string>();
  private readonly hostStatus = new Map<string, string>();
  /** "<hostId>/<pool name>" → state; "<hostId>/<network name>" → active. */
  private readonly poolStates = new Map<string, string>();
  private readonly networkActive = new Map<string, boolean>();
  private readonly hostNames = new Map<string, string>();
  /** VM id → until when a stop of it was asked for through the server. */
  private readonly expectedStops = new Map<string, number>();
  /** Called with each recorded event (the webhook notifier). */
  onEvent: ((e: EventDto) => void) | undefined;

  constructor(
    private readonly repo: EventRepo,
    private readonly hub: EventHub,
  ) {
    // A listener that throws would make the producer's publish() throw: a payload this log cannot
    // read is logged and skipped, never passed back to whoever published it.
    hub.on('event', (name, data) => {
      try {
        this.observe(name, data);
      } catch (err) {
        log.warn('events log: a hub event could not be read', { event: name, error: (err as Error).message });
      }
    });
  }

  async record(input: EventInput): Promise<EventDto> {
    const e: EventDto = {
      id: randomUUID(),
      at: new Date().toISOString(),
      severity: input.severity,
      kind: input.kind,
      target: { name: '', hostId: '', hostName: '', ...input.target },
      message: input.message,
    };
    try {
      await this.repo.add(e);
    } catch (err) {
      log.error('events log: cannot append', { error: (err as Error).message });
    }
    this.hub.publish('event', e);
    this.onEvent?.(e);
    return e;
  }

  list(limit: number, before: string | undefined, f: EventFilter): Promise<EventDto[]> {
    const min = f.severity ? EVENT_SEVERITIES.indexOf(f.severity) : 0;
    const needle = f.target?.toLowerCase();
    const since = f.since ? Date.parse(f.since) : undefined;
    return this.repo.page(
      limit,
      (e) =>
        EVENT_SEVERITIES.indexOf(e.severity) >= min &&
        (!f.kind || e.kind === f.kind) &&
        (since === undefined || Date.parse(e.at) >= since) &&
        (!needle ||
          e.target.id.toLowerCase().includes(needle) ||
          e.target.name.toLowerCase().includes(needle) ||
          e.target.hostName.toLowerCase().includes(needle)),
      before,
    );
  }

  private observe(name: EventName, data: unknown): void {
    if (name === 'task') this.onTask(data as TaskDto);
    else if (name === 'vm') this.onVm(data as VmDto | { id: string; removed: true });
    else if (name === 'host') this.onHost(data as HostDto | { id: string; removed: true });
    else if (name === 'pool') this.onPool(data as { hostId: string; pool?: PoolDto; name?: string });
    else if (name === 'network') this.onNetwork(data as { hostId: string; network?: NetworkDto; name?: string });
  }

  private onTask(t: TaskDto): void {
    if (t.target.type === 'vm' && STOPPING_TASKS.has(t.kind)) {
      this.expectedStops.set(t.target.id, Date.now() + EXPECTED_FOR_MS);
      if (this.expectedStops.size > 1_000) this.pruneExpected();
    }
    if (t.status !== 'failed') return;
    void this.record({
      severity: 'error',
      // A VM backup (now or scheduled) has a kind of its own, for notifications to choose.
      kind: t.kind === 'vm.backup' ? 'backup.failed' : 'task.failed',
      target: { type: t.target.type || 'task', id: t.target.id || t.id, name: t.target.name, hostId: t.hostId ?? '' },
      message: `Task ${t.kind}${t.target.name ? ` on ${t.target.type} ${t.target.name}` : ''} failed: ${t.error ?? 'unknown error'}`,
    });
  }

  private onVm(v: VmDto | { id: string; removed: true }): void {
    if ('removed' in v) {
      this.vmStates.delete(v.id);
      return;
    }
    const before = this.vmStates.get(v.id);
    this.vmStates.set(v.id, v.state);
    // The first sight of a VM (server start, reconnect) and repeats are not changes.
    if (before === undefined || before === v.state || !v.hostOnline) return;
    const target = { type: 'vm', id: v.id, name: v.name, hostId: v.hostId, hostName: v.hostName };
    const stopped = v.state === 'shutoff' || v.state === 'crashed';
    const expected = (this.expectedStops.get(v.id) ?? 0) > Date.now();
    if (stopped && ACTIVE_STATES.has(before) && !expected) {
      const crashed = v.state === 'crashed';
      void this.record({
        severity: 'error',
        kind: crashed ? 'vm.crashed' : 'vm.stopped-unexpectedly',
        target,
        message: crashed
          ? `VM ${v.name} on ${v.hostName} crashed (it was ${before})`
          : `VM ${v.name} on ${v.hostName} stopped unexpectedly (it was ${before}; no stop was asked for through Quantix)`,
      });
      return;
    }
    void this.record({
      severity: 'info',
      kind: 'vm.state',
      target,
      message: `VM ${v.name} on ${v.hostName} is now ${v.state} (it was ${before})`,
    });
  }

  private onHost(h: HostDto | { id: string; removed: true }): void {
    if ('removed' in h) {
      this.hostStatus.delete(h.id);
      this.hostNames.delete(h.id);
      return;
    }
    const before = this.hostStatus.get(h.id);
    this.hostStatus.set(h.id, h.status);
    this.hostNames.set(h.id, h.name);
    if (before === h.status) return;
    const target = { type: 'host', id: h.id, name: h.name, hostId: h.id, hostName: h.name };
    if (h.status === 'offline') {
      void this.record({
        severity: 'error',
        kind: 'host.offline',
        target,
        message: `Host ${h.name} is offline${h.statusMessage ? `: ${h.statusMessage}` : ''}`,
      });
    } else if (h.status === 'online' && before === 'offline') {
      void this.record({ severity: 'info', kind: 'host.online', target, message: `Host ${h.name} is back online` });
    }
  }

  private onPool({ hostId, pool, name }: { hostId: string; pool?: PoolDto; name?: string }): void {
    if (!pool) {
      this.poolStates.delete(`${hostId}/${name}`);
      return;
    }
    const key = `${hostId}/${pool.name}`;
    const before = this.poolStates.get(key);
    this.poolStates.set(key, pool.state);
    // First sight (server start, a new pool) and repeats (figures changed) are not changes.
    if (before === undefined || before === pool.state) return;
    const target = { type: 'pool', id: pool.name, name: pool.name, hostId, hostName: pool.hostName };
    if (pool.state === 'failed') {
      void this.record({
        severity: 'error',
        kind: 'pool.failed',
        target,
        message: `Pool ${pool.name} on ${pool.hostName} failed (it was ${before}): ${pool.error || 'unknown error'}`,
      });
      return;
    }
    void this.record({
      severity: 'info',
      kind: 'pool.state',
      target,
      message: `Pool ${pool.name} on ${pool.hostName} is now ${pool.state} (it was ${before})`,
    });
  }

  private onNetwork({ hostId, network, name }: { hostId: string; network?: NetworkDto; name?: string }): void {
    if (!network) {
      this.networkActive.delete(`${hostId}/${name}`);
      return;
    }
    const key = `${hostId}/${network.name}`;
    const before = this.networkActive.get(key);
    this.networkActive.set(key, network.active);
    // Hosts send networks only when they change (no list at connect): an inactive one unseen
    // before was active until now; a new active one (just created) is no change.
    if (before === network.active || (before === undefined && network.active)) return;
    const hostName = this.hostNames.get(hostId) ?? hostId;
    const target = { type: 'network', id: network.name, name: network.name, hostId, hostName };
    // Quantix has no operation that stops a network: a stop always came from outside.
    void this.record(
      network.active
        ? {
            severity: 'info',
            kind: 'network.started',
            target,
            message: `Network ${network.name} on ${hostName} is active again`,
          }
        : {
            severity: 'error',
            kind: 'network.stopped',
            target,
            message: `Network ${network.name} on ${hostName} stopped: VMs on it lost their connectivity`,
          },
    );
  }

  private pruneExpected(): void {
    const now = Date.now();
    for (const [id, until] of this.expectedStops) if (until <= now) this.expectedStops.delete(id);
  }
}
