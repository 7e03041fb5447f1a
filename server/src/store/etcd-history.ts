// Task, audit and event history shared by the servers of one etcd control plane: each record is
// also put (sealed) under /quantix/history/, keyed by time so that ranges come back in order, and
// the oldest are pruned past a bound. Each server keeps its own append-only logs as well; these
// keys are what makes a task or an event recorded by one server, or a sign-in audited by another,
// visible through whichever server leads after a failover.
import type { Etcd3 } from 'etcd3';
import type { SecretBox } from './secret-box.js';
import type { EventDto } from '../dto/events.js';
import type { AuditRecord, TaskRecord } from './records.js';

/** Keys per kind: <prefix><time>/<id>, so that a key range is a time range. */
const PREFIX = {
  tasks: '/quantix/history/tasks/',
  audit: '/quantix/history/audit/',
  events: '/quantix/history/events/',
};
export type HistoryKind = keyof typeof PREFIX;
/** Records kept in etcd per kind (the servers' own logs keep more). */
export const SHARED_LIMITS: Record<HistoryKind, number> = { tasks: 2_000, audit: 20_000, events: 20_000 };
/** Prune after this many puts of a kind (a count is one round trip, not worth one per put). */
const PRUNE_EVERY = 200;
/** Records read per round trip while paging back. */
const BATCH = 256;

export class EtcdHistory {
  private readonly puts: Record<HistoryKind, number> = { tasks: 0, audit: 0, events: 0 };

  constructor(
    private readonly client: Etcd3,
    private readonly box: SecretBox,
    private readonly limits = SHARED_LIMITS,
  ) {}

  /** Records a task's current state (the same key for every state of one task). */
  putTask(t: TaskRecord): Promise<void> {
    return this.put('tasks', t.createdAt, t.id, t);
  }

  /** Every task kept, oldest first. */
  async tasks(): Promise<TaskRecord[]> {
    const res = await this.client.getAll().prefix(PREFIX.tasks).sort('Key', 'Ascend').exec();
    return res.kvs.map((kv) => this.open<TaskRecord>(kv.key.toString(), kv.value.toString()));
  }

  putAudit(e: AuditRecord): Promise<void> {
    return this.put('audit', e.at, e.id, e);
  }

  putEvent(e: EventDto): Promise<void> {
    return this.put('events', e.at, e.id, e);
  }

  /**
   * Up to `limit` records of `kind` that `match`, newest first, older than the record `before`
   * (the newest when absent; none when `before` is unknown, as the servers' own logs do).
   */
  async page<T>(kind: 'audit' | 'events', limit: number, match: (r: T) => boolean, before?: string): Promise<T[]> {
    const prefix = PREFIX[kind];
    let end = prefixEnd(prefix);
    if (before) {
      const key = (await this.client.getAll().prefix(prefix).keys()).find((k) => k.endsWith(`/${before}`));
      if (!key) return [];
      end = key;
    }
    const out: T[] = [];
    while (out.length < limit) {
      const res = await this.client.getAll().inRange({ start: prefix, end }).sort('Key', 'Descend').limit(BATCH).exec();
      for (const kv of res.kvs) {
        const r = this.open<T>(kv.key.toString(), kv.value.toString());
        if (match(r) && out.push(r) >= limit) break;
      }
      if (res.kvs.length < BATCH) break;
      end = res.kvs.at(-1)!.key.toString();
    }
    return out;
  }

  private async put(kind: HistoryKind, at: string, id: string, record: object): Promise<void> {
    await this.client
      .put(`${PREFIX[kind]}${at}/${id}`)
      .value(this.box.seal(JSON.stringify(record)))
      .exec();
    if (++this.puts[kind] % PRUNE_EVERY === 0) await this.prune(kind);
  }

  /** Deletes the oldest keys of `kind` past its bound. */
  async prune(kind: HistoryKind): Promise<void> {
    const prefix = PREFIX[kind];
    const excess = (await this.client.getAll().prefix(prefix).count()) - this.limits[kind];
    if (excess <= 0) return;
    const oldest = await this.client.getAll().prefix(prefix).sort('Key', 'Ascend').limit(excess).keys();
    await this.client
      .delete()
      .inRange({ start: prefix, end: `${oldest.at(-1)!}\0` })
      .exec();
  }

  private open<T>(key: string, sealed: string): T {
    return JSON.parse(this.box.open(sealed, key)) as T;
  }
}

/** The first key after every key starting with `prefix`. */
function prefixEnd(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}
