// Long operations as tasks: a record in the task log (appended when created and when finished),
// progress and log lines in memory and over SSE as they happen. Callers get the TaskDto at once
// (HTTP 202).
import { randomUUID } from 'node:crypto';
import type { TaskDto } from '../dto/tasks.js';
import { notFound } from '../errors.js';
import { conflict, HttpError } from '../errors.js';
import type { TaskRepo } from '../store/log-repo.js';
import type { TaskRecord } from '../store/records.js';
import type { EventHub } from './event-hub.js';

export interface TaskContext {
  progress(percent: number | null, phase?: string): void;
  log(message: string): void;
  /** Live figures shown with the task (replaced as a whole). */
  detail(d: Record<string, number | string>): void;
  /** Aborted when someone cancels the task (only tasks started with `cancellable`). */
  signal: AbortSignal;
}

export interface TaskStart {
  kind: string;
  target: { type: string; id: string; name: string };
  hostId: string | null;
  user: string;
  /** POST /api/v1/tasks/:id/cancel aborts `signal`; the work decides how it ends. */
  cancellable?: boolean;
  /** Recorded with the task: what the follower of its kind needs after a failover (follow()). */
  handover?: Record<string, unknown>;
}

/** Goes on with a task another server started and stopped leading before it finished. */
export type TaskFollower = (rec: TaskRecord, t: TaskContext) => Promise<unknown>;

const MAX_LOG_LINES = 200;
const RESTARTED = 'the server restarted while this task ran';
const STOPPED_LEADING = 'the vDC server running this task stopped leading before it finished';

export class TaskService {
  /** Seconds each finished task took, by kind (for /metrics). */
  readonly durations = new Map<string, { count: number; sum: number }>();
  /** Running cancellable tasks. */
  private readonly cancels = new Map<string, AbortController>();
  /** By task kind: work that runs on without its server (an agent's job) and can be followed. */
  private readonly followers = new Map<string, TaskFollower>();
  /** This server's own followable tasks a restart interrupted, until it leads (adoptShared). */
  private readonly interrupted: TaskRecord[] = [];
  private closing = false;

  constructor(
    private readonly repo: TaskRepo,
    private readonly events: EventHub,
  ) {}

  /** Tasks of `kind` recorded with a handover are followed by `follower` when adopted (adoptShared). */
  follow(kind: string, follower: TaskFollower): void {
    this.followers.set(kind, follower);
  }

  /**
   * This server now leads: its own followable tasks that a restart interrupted, and the tasks other
   * servers recorded that are still running there, are followed to their end when their kind can
   * be, else failed.
   */
  async adoptShared(): Promise<void> {
    for (const t of this.interrupted.splice(0)) await this.followOrFail(t, RESTARTED);
    for (const t of await this.repo.adoptShared()) await this.followOrFail(t, STOPPED_LEADING);
  }

  /**
   * Tasks that were running when the server stopped did not finish; on a single server those whose
   * work runs on without it (an agent's job, recorded as a handover) wait for adoptShared instead.
   */
  async failInterrupted(): Promise<void> {
    for (const t of this.repo.list()) {
      if (t.status !== 'running') continue;
      if (t.handover && !this.repo.shared) this.interrupted.push(t);
      else await this.fail(t, RESTARTED);
    }
  }

  private async followOrFail(t: TaskRecord, why: string): Promise<void> {
    const follower = t.handover && this.followers.get(t.kind);
    if (follower) this.resume(t, follower, why);
    else await this.fail(t, why);
  }

  private async fail(t: TaskRecord, why: string): Promise<void> {
    Object.assign(t, { status: 'failed', error: why, finishedAt: new Date().toISOString() });
    await this.repo.save(t);
    this.events.publish('task', t);
  }

  /**
   * The server stops. A followable task that fails from now on failed because its connections
   * closed under it, while its work goes on (an agent's job): it stays running in the history, for
   * the next leader or start to follow.
   */
  close(): void {
    this.closing = true;
  }

  /** Starts `work` as a task; resolves once the task is recorded (not when it finishes). */
  async start(
    info: TaskStart,
    work: (t: TaskContext) => Promise<unknown>,
  ): Promise<{ dto: TaskDto; done: Promise<TaskRecord> }> {
    const { cancellable, ...fields } = info;
    const rec: TaskRecord = {
      id: randomUUID(),
      ...fields,
      status: 'running',
      progress: null,
      phase: '',
      log: [],
      error: null,
      result: null,
      createdAt: new Date().toISOString(),
      finishedAt: null,
    };
    await this.repo.add(rec);
    this.events.publish('task', rec);
    return { dto: { ...rec }, done: this.launch(rec, work, cancellable) };
  }

  /** Task `rec`, adopted while running, goes on here under `follower` (which heeds cancel). */
  private resume(rec: TaskRecord, follower: TaskFollower, why: string): void {
    void this.launch(
      rec,
      (t) => {
        t.log(`${why}: this one follows it`);
        return follower(rec, t);
      },
      true,
    );
  }

  private launch(
    rec: TaskRecord,
    work: (t: TaskContext) => Promise<unknown>,
    cancellable: boolean | undefined,
  ): Promise<TaskRecord> {
    const abort = new AbortController();
    const ctx: TaskContext = {
      progress: (percent, phase) => {
        rec.progress = percent === null ? null : Math.max(0, Math.min(100, Math.round(percent * 10) / 10));
        if (phase !== undefined) rec.phase = phase;
        this.events.publish('task', rec);
      },
      log: (message) => {
        rec.log.push({ at: new Date().toISOString(), message });
        if (rec.log.length > MAX_LOG_LINES) rec.log.splice(0, rec.log.length - MAX_LOG_LINES);
        this.events.publish('task', rec);
      },
      detail: (d) => {
        rec.detail = d;
        this.events.publish('task', rec);
      },
      signal: abort.signal,
    };
    if (cancellable) {
      rec.cancellable = true;
      this.cancels.set(rec.id, abort);
    }
    return this.run(rec, ctx, work).finally(() => this.cancels.delete(rec.id));
  }

  /** Starts a task and waits for it; throws its error. */
  async runToEnd(info: TaskStart, work: (t: TaskContext) => Promise<unknown>): Promise<TaskRecord> {
    return finished((await this.start(info, work)).done);
  }

  list(limit: number, before?: string, status?: string): TaskDto[] {
    const all = this.repo.list();
    let end = all.length;
    if (before) {
      const i = all.findIndex((t) => t.id === before);
      if (i >= 0) end = i;
    }
    const out: TaskDto[] = [];
    for (let i = end - 1; i >= 0 && out.length < limit; i--) {
      if (!status || all[i]!.status === status) out.push(all[i]!);
    }
    return out;
  }

  get(id: string): TaskDto {
    const t = this.repo.byId(id);
    if (!t) throw notFound(`task ${id}`);
    return t;
  }

  /** Asks a running cancellable task to stop: 409 when it is done or cannot be cancelled. */
  cancel(id: string, by: string): TaskDto {
    const t = this.repo.byId(id);
    if (!t) throw notFound(`task ${id}`);
    if (t.status !== 'running') throw conflict(`task ${id} (${t.kind}) already ${t.status}`);
    const abort = this.cancels.get(id);
    if (!abort) throw conflict(`task ${id} (${t.kind}) cannot be cancelled`);
    if (!abort.signal.aborted) {
      t.log.push({ at: new Date().toISOString(), message: `cancel asked by ${by}` });
      t.phase = 'cancelling';
      abort.abort();
      this.events.publish('task', t);
    }
    return t;
  }

  private async run(
    rec: TaskRecord,
    ctx: TaskContext,
    work: (t: TaskContext) => Promise<unknown>,
  ): Promise<TaskRecord> {
    const started = Date.now();
    try {
      rec.result = (await work(ctx)) ?? null;
      rec.status = 'succeeded';
      rec.progress = 100;
    } catch (err) {
      rec.status = 'failed';
      rec.error = err instanceof Error ? err.message : String(err);
      Object.defineProperty(rec, 'cause', { value: err, enumerable: false });
    }
    if (this.closing && rec.handover && rec.status === 'failed') return rec;
    rec.finishedAt = new Date().toISOString();
    delete rec.cancellable;
    delete rec.handover;
    const d = this.durations.get(rec.kind) ?? { count: 0, sum: 0 };
    d.count++;
    d.sum += (Date.now() - started) / 1000;
    this.durations.set(rec.kind, d);
    await this.repo.save(rec);
    this.events.publish('task', rec);
    return rec;
  }
}

/** The task once it ended; a failed task throws the error it failed with. */
export async function finished(done: Promise<TaskRecord>): Promise<TaskRecord> {
  const rec = await done;
  if (rec.status === 'failed')
    throw (rec as TaskRecord & { cause?: unknown }).cause ?? new HttpError(500, rec.error ?? 'failed');
  return rec;
}
