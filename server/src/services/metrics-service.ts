// Prometheus text exposition: hosts up, VMs by state, task durations, API latency by operation,
// refused unauthenticated requests (also logged as one summary line a minute at most), and the
// latest resource figures of each online host and VM (resource-metrics.ts).
import type { AgentPool } from '../agents/agent-pool.js';
import { log } from '../log.js';
import type { TaskService } from './task-service.js';
import { vmState } from './proto-enums.js';
import { renderResourceMetrics } from './resource-metrics.js';

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const SUMMARY_MS = 60_000;

/** Why a request without a valid principal was refused (label of the refusal counter). */
export type RefusalReason = 'no-credentials' | 'invalid-credentials' | 'sign-in-refused';

interface Histogram {
  buckets: number[];
  count: number;
  sum: number;
}

export class MetricsService {
  private readonly api = new Map<string, Histogram>();
  /** Connections closed at accept: their source address had too many open (server.ts). */
  connectionsRefused = 0;
  /** Refused unauthenticated requests by "reason|status", since start. */
  private readonly refusals = new Map<string, number>();
  /** The same, since the last summary line; the timer writes the next one. */
  private unreported = new Map<string, number>();
  private summaryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pool: AgentPool,
    private readonly tasks: TaskService,
  ) {}

  observeRequest(operation: string, status: number, seconds: number): void {
    const key = `${operation}|${Math.floor(status / 100)}xx`;
    let h = this.api.get(key);
    if (!h) {
      h = { buckets: BUCKETS.map(() => 0), count: 0, sum: 0 };
      this.api.set(key, h);
    }
    h.count++;
    h.sum += seconds;
    BUCKETS.forEach((b, i) => {
      if (seconds <= b) h.buckets[i]!++;
    });
  }

  /**
   * Counts a request refused before anyone was identified. These are not audited one by one (a
   * flood would bury the audit log); the log gets one summary line a minute at most.
   */
  refuse(reason: RefusalReason, status: number): void {
    const key = `${reason}|${status}`;
    this.refusals.set(key, (this.refusals.get(key) ?? 0) + 1);
    this.unreported.set(key, (this.unreported.get(key) ?? 0) + 1);
    if (this.summaryTimer) return;
    const since = new Date().toISOString();
    this.summaryTimer = setTimeout(() => {
      this.summaryTimer = undefined;
      const counts = Object.fromEntries(this.unreported);
      this.unreported = new Map();
      log.warn('unauthenticated requests refused', { since, counts });
    }, SUMMARY_MS);
    this.summaryTimer.unref();
  }

  render(): string {
    const lines: string[] = [];
    const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
    lines.push('# HELP quantix_host_up 1 when the host agent is connected.', '# TYPE quantix_host_up gauge');
    const states = new Map<string, number>();
    for (const c of this.pool.all()) {
      lines.push(`quantix_host_up{host="${esc(c.record.name)}",host_id="${c.record.id}"} ${c.online ? 1 : 0}`);
      for (const vm of c.vms.values()) {
        const s = vmState.str(vm.state);
        states.set(s, (states.get(s) ?? 0) + 1);
      }
    }
    lines.push('# HELP quantix_vms VMs by state.', '# TYPE quantix_vms gauge');
    for (const [s, n] of states) lines.push(`quantix_vms{state="${s}"} ${n}`);
    lines.push(
      '# HELP quantix_task_duration_seconds Duration of finished tasks by kind.',
      '# TYPE quantix_task_duration_seconds summary',
    );
    for (const [kind, d] of this.tasks.durations) {
      lines.push(`quantix_task_duration_seconds_sum{kind="${esc(kind)}"} ${d.sum}`);
      lines.push(`quantix_task_duration_seconds_count{kind="${esc(kind)}"} ${d.count}`);
    }
    lines.push(
      '# HELP quantix_unauthenticated_requests_total Requests refused without a valid session or token (not audited one by one).',
      '# TYPE quantix_unauthenticated_requests_total counter',
    );
    for (const [key, n] of this.refusals) {
      const [reason, status] = key.split('|');
      lines.push(`quantix_unauthenticated_requests_total{reason="${reason}",status="${status}"} ${n}`);
    }
    lines.push(
      '# HELP quantix_connections_refused_total Connections closed at accept, by reason.',
      '# TYPE quantix_connections_refused_total counter',
    );
    lines.push(`quantix_connections_refused_total{reason="per-address-cap"} ${this.connectionsRefused}`);
    lines.push(
      '# HELP quantix_api_request_duration_seconds API latency by operation.',
      '# TYPE quantix_api_request_duration_seconds histogram',
    );
    for (const [key, h] of this.api) {
      const [op, cls] = key.split('|');
      const l = `operation="${op}",status="${cls}"`;
      BUCKETS.forEach((b, i) =>
        lines.push(`quantix_api_request_duration_seconds_bucket{${l},le="${b}"} ${h.buckets[i]}`),
      );
      lines.push(`quantix_api_request_duration_seconds_bucket{${l},le="+Inf"} ${h.count}`);
      lines.push(`quantix_api_request_duration_seconds_sum{${l}} ${h.sum}`);
      lines.push(`quantix_api_request_duration_seconds_count{${l}} ${h.count}`);
    }
    lines.push(...renderResourceMetrics(this.pool.all()));
    return `${lines.join('\n')}\n`;
  }
}
